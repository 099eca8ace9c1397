"""The search's view of one query: its endpoints (with road legs to or from coordinates), the services a
class of cargo can use indexed both ways, and lower bounds on the time, cost and CO2e still needed to reach
the target.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from routing.errors import InvalidRequest
from routing.network_model import ESTIMATE, Figure, Network, Rate, Service
from routing.quote_request import Cargo, QuoteRequest, carries
from routing.tariff import handling_cost, hub_co2e
from routing.timetable import ServiceRun, Timetable

ROAD_SPEED_KMH = 55.0
ROAD_DISPATCH_HOURS = 1.0
SNAP_CANDIDATES = 3
SNAP_WITHIN_KM = 600.0
ORIGIN_POINT, DESTINATION_POINT = "@origin", "@destination"


def road_service(
    network: Network,
    origin: str,
    destination: str,
    great_circle_km: float,
    label: str,
    border: tuple[str, float] | None = None,
) -> Service:
    """An on-demand truck leg to or from a coordinate (distance by geodesic x road circuity).

    border: (crossing "XX-YY", dwell hours) when the leg crosses a border; the dwell is part of its time.
    """
    circ = network.planning.circuity.get("road", 1.25)
    km = round(max(great_circle_km * circ, 1.0), 1)
    hours = round(km / ROAD_SPEED_KMH + ROAD_DISPATCH_HOURS + (border[1] if border else 0.0), 2)
    r = network.planning.rates.get("road", {})
    per_feu = Decimal(str(round(r.get("fixed_per_feu", 80.0) + r.get("per_feu_km", 1.5) * km, 2)))
    factor = network.planning.emission_g_per_tkm.get("road", 109.0)
    ttw = network.planning.emission_ttw_g_per_tkm.get("road", 90.0)
    note = f"geodesic {great_circle_km:.1f} km x {circ} road circuity at {ROAD_SPEED_KMH:g} km/h"
    figures = [Figure("distance_km", ESTIMATE, note), Figure("rate", ESTIMATE, "planning default road rate")]
    if border is not None:
        label = f"{label}, crossing {border[0]} ({border[1]:g} h at the border)"
        figures.append(Figure("border_hours", ESTIMATE, f"{border[0]}: planning.json road_border_hours"))
    return Service(
        id=f"road:{origin}>{destination}",
        origin=origin,
        destination=destination,
        mode="road",
        corridor=label,
        via=(),
        distance_km=km,
        transit_hours=hours,
        departures_per_week=None,
        basis=ESTIMATE,
        leg_id="",
        rate=Rate(per_feu, None, "USD", ESTIMATE),
        emission_class="road",
        co2e_g_per_tkm=factor,
        ttw_g_per_tkm=ttw,
        provenance=tuple(figures),
    )


def road_border(network: Network, country_from: str, country_to: str) -> tuple[str, float] | None:
    """A made-up road leg's border: None within one country, else (crossing, dwell hours) from planning.json
    (the pair's own figure, or the default)."""
    if country_from == country_to:
        return None
    crossing = f"{country_from}-{country_to}"
    table = network.planning.road_border_hours
    return (crossing, float(table.get(crossing, table.get("default", 12.0))))


def road_closed(network: Network, country_from: str, country_to: str) -> bool:
    """Whether trucks cannot cross from one country to the other (planning.json closed_road_borders)."""
    return f"{country_from}-{country_to}" in network.planning.closed_road_borders


@dataclass
class Problem:
    """One search: the endpoints (possibly coordinates with road legs) and the relaxations for diagnosis."""

    network: Network
    timetable: Timetable
    cargo: Cargo
    ready_s: int
    deliver_by_s: int | None
    source: str
    target: str
    extra_from: dict[str, list[Service]] = field(default_factory=dict)
    capacity_left: Mapping[str, float] | None = None
    kg_left: Mapping[str, float] | None = None
    ignore_suspensions: bool = False
    label_budget: int | None = None  # past this many labels, near-dominated labels are dropped (tolerance)
    relaxed: bool = False  # set when the budget was hit: the answer is then within the tolerance of exact
    labels_created: int = 0


def _ts(t: datetime) -> int:
    return int(t.timestamp())


def point_label(p: tuple[float, float]) -> str:
    """How a coordinate appears as a leg's end."""
    return f"{p[0]:.5f},{p[1]:.5f}"


def problem_for(
    network: Network,
    timetable: Timetable,
    request: QuoteRequest,
    capacity_left: Mapping[str, float] | None,
    kg_left: Mapping[str, float] | None,
) -> Problem:
    """The search for one request: endpoints resolved or snapped to nodes nearby by road, customs added."""
    # A coordinate lies in the country of its nearest terminal (an estimate: the network has no borders
    # drawn); a road leg to or from a terminal in another country crosses that border with its dwell, and
    # a crossing closed to trucks gives no leg at all.
    extra: dict[str, list[Service]] = {}
    if isinstance(request.origin, tuple):
        lat, lon = request.origin
        source = ORIGIN_POINT
        near = network.nearest(lat, lon, SNAP_CANDIDATES, SNAP_WITHIN_KM)
        home = near[0][0].country
        for node, km in near:
            if road_closed(network, home, node.country):
                continue
            border = road_border(network, home, node.country)
            svc = road_service(network, point_label(request.origin), node.id, km, "road pre-carriage", border)
            extra.setdefault(ORIGIN_POINT, []).append(replace(svc, origin=ORIGIN_POINT))
    else:
        source = network.resolve(request.origin).id
    if isinstance(request.destination, tuple):
        lat, lon = request.destination
        target = DESTINATION_POINT
        near = network.nearest(lat, lon, SNAP_CANDIDATES, SNAP_WITHIN_KM)
        home = near[0][0].country
        for node, km in near:
            if road_closed(network, node.country, home):
                continue
            border = road_border(network, node.country, home)
            svc = road_service(
                network, node.id, point_label(request.destination), km, "road on-carriage", border
            )
            extra.setdefault(node.id, []).append(replace(svc, destination=DESTINATION_POINT))
    else:
        target = network.resolve(request.destination).id
    if source == target:
        raise InvalidRequest(f"origin and destination are the same node ({source})")
    customs = network.planning.customs_hours.get(request.customs_mode, 0.0)
    ready_s = _ts(request.ready_at) + round(customs * 3600)
    deliver_by_s = _ts(request.deliver_by) if request.deliver_by is not None else None
    return Problem(
        network,
        timetable,
        request.cargo,
        ready_s,
        deliver_by_s,
        source,
        target,
        extra,
        capacity_left,
        kg_left,
    )


# One way out of a node for a cargo: (service, its departures or None for on-demand road, the least seconds
# from being ready at the node to arriving at `destination` (road: the transit), destination, seconds of
# handling at the destination before the cargo can leave again, whether the leg flies).
Edge = tuple[Service, ServiceRun | None, int, str, int, bool]
# One way into a node (by index), for the backward bound searches: (origin index, service index, least seconds
# plus the handling at the node, least seconds).
Into = tuple[int, int, int, int]


@dataclass
class Graph:
    """The services one class of cargo can use, indexed both ways, with the timetable's least times.

    Built once per timetable, network and class of cargo (see `_cargo_class`); queries share it. Nodes are
    numbered for the backward searches (`names[i]` is node i); `services[s]` is service s, and `tariffs[s]`
    what its cost and CO2e floors need: (rate per FEU or per kg as a float, flies, km x g CO2e per tkm).
    """

    out: dict[str, list[Edge]]
    names: list[str]
    index: dict[str, int]
    into: list[list[Into]]
    services: list[Service]
    tariffs: list[tuple[float, bool, float]]
    floors: dict[Cargo, tuple[list[float], list[float]]] = field(default_factory=dict)


def _cargo_class(cargo: Cargo) -> tuple[bool, bool, bool]:
    """What `carries` looks at: air cargo or not, dangerous goods, reefer."""
    return (cargo.equipment == "AIR", cargo.dangerous_goods, cargo.needs_reefer)


def _handling_s(network: Network, node: str, mode: str) -> int:
    return 0 if node.startswith("@") else round(network.planning.handling_in(node, mode) * 3600)


def edge_of(network: Network, svc: Service, run: ServiceRun | None) -> Edge:
    """The way out of `svc.origin` that `svc` offers (run: its departures, None for on-demand road)."""
    least = round(svc.transit_hours * 3600) if run is None else run.lead_transit
    dest = svc.destination
    return (svc, run, least, dest, _handling_s(network, dest, svc.mode), svc.mode == "air")


def floor_inputs(svc: Service) -> tuple[float, bool, float]:
    """What `leg_floors` needs of a service: (rate per FEU or per kg, flies, km x g CO2e per tkm)."""
    if svc.mode == "air":
        rate = float(svc.rate.per_kg) if svc.rate.per_kg is not None else 3.0
    else:
        rate = float(svc.rate.per_feu) if svc.rate.per_feu is not None else 1000.0
    return (rate, svc.mode == "air", svc.distance_km * svc.co2e_g_per_tkm)


def graph_for(network: Network, timetable: Timetable, cargo: Cargo) -> Graph:
    """The graph for this cargo's class (cached on the timetable)."""
    key = ("planner-graph", id(network), _cargo_class(cargo))
    found = timetable.derived.get(key)
    if isinstance(found, tuple) and found[0] is network:
        graph: Graph = found[1]
        return graph
    names = list(network.nodes)
    index = {n: i for i, n in enumerate(names)}
    out: dict[str, list[Edge]] = {}
    into: list[list[Into]] = [[] for _ in names]
    services: list[Service] = []
    for svc in network.services.values():
        if carries(svc, cargo) is not None:
            continue
        run = None if svc.departures_per_week is None else timetable.run(svc.id)
        if svc.departures_per_week is not None and run is None:
            continue  # no departure within the timetable
        e = edge_of(network, svc, run)
        out.setdefault(svc.origin, []).append(e)
        into[index[e[3]]].append((index[svc.origin], len(services), e[2] + e[4], e[2]))
        services.append(svc)
    graph = Graph(out, names, index, into, services, [floor_inputs(s) for s in services])
    timetable.derived[key] = (network, graph)
    return graph


_FLOOR_CACHE_LIMIT = 4
_SHADE = 1 - 1e-9


def leg_floors(
    network: Network, cargo: Cargo, tariffs: Sequence[tuple[float, bool, float]]
) -> tuple[list[float], list[float]]:
    """Lower bounds on the cents and kg CO2e of taking each service (by tariff) as a transfer leg.

    Floats instead of the Decimal tariff of `leg_charge` (much cheaper over thousands of services), shaded
    down so that they never exceed what `leg_charge(..., transfer=True)` says: costs by a relative 1e-9 and
    two cents (rounding to cents), CO2e by a relative 1e-9 and the 3-decimal roundings; never below zero.
    """
    p = network.planning
    eq = p.equipment.get(cargo.equipment, {})
    surcharge = 1.0
    if cargo.dangerous_goods:
        surcharge += p.surcharges.get("dangerous_goods", 0.0)
    if cargo.needs_reefer:
        surcharge += p.surcharges.get("reefer", 0.0)
    if cargo.equipment in ("LCL", "AIR"):
        lcl = p.equipment.get("LCL", {}).get("rate_factor", 0.05)
        surface = lcl * round(cargo.revenue_tonnes(eq.get("min_revenue_tonnes", 1.0)), 3)
    else:
        surface = eq.get("rate_factor", 1.0)
    scale = surcharge * 100 * _SHADE
    per_air, per_surface = round(cargo.chargeable_kg(), 3) * scale, surface * scale
    add = int(handling_cost(network, cargo) * 100) - 2
    hub_air = hub_co2e(network, "air", cargo) - 0.0011
    hub_surface = hub_co2e(network, "rail", cargo) - 0.0011
    tonnes = cargo.tonnes * _SHADE / 1000.0
    cost = [
        c if (c := rate * (per_air if air else per_surface) + add) > 0.0 else 0.0 for rate, air, _ in tariffs
    ]
    co2 = [
        e if (e := gkm * tonnes + (hub_air if air else hub_surface)) > 0.0 else 0.0 for _, air, gkm in tariffs
    ]
    return cost, co2


def _graph_floors(network: Network, graph: Graph, cargo: Cargo) -> tuple[list[float], list[float]]:
    found = graph.floors.get(cargo)
    if found is None:
        if len(graph.floors) >= _FLOOR_CACHE_LIMIT:
            graph.floors.clear()
        found = graph.floors[cargo] = leg_floors(network, cargo, graph.tariffs)
    return found


def lower_bounds(
    pb: Problem, graph: Graph, extra_services: Sequence[Service]
) -> dict[str, tuple[int, int, float]]:
    """Per node, lower bounds on the (time, cost, CO2e) still needed to reach the target with this cargo.

    Three backward Dijkstras over the services that carry the cargo. Time: from being ready at a node to
    arriving at the target, the least cut-off-to-arrival time of each leg plus the handling at every node in
    between (waiting for a departure ignored). Cost and CO2e: each leg as a transfer (line haul, handling, hub
    emissions; floors from `leg_floors`), which is what every leg after the first costs; the first leg is
    never checked against a bound (nothing has reached the target when the first label is expanded). CO2e
    bounds are shaded down by a relative 1e-9 so that float summation order can never make a bound exceed a
    true sum. A node missing from the answer cannot reach the target at all.
    """
    net = pb.network
    names, index, into = graph.names, graph.index, graph.into
    cost_w, co2_w = _graph_floors(net, graph, pb.cargo)
    if extra_services:
        # road legs to or from a coordinate: two more nodes and a few more services for this query only
        names, index, into = [*names], dict(index), [*into]
        cost_x, co2_x = leg_floors(net, pb.cargo, [floor_inputs(s) for s in extra_services])
        cost_w, co2_w = [*cost_w, *cost_x], [*co2_w, *co2_x]
        for k, svc in enumerate(extra_services):
            for end in (svc.origin, svc.destination):
                if end not in index:
                    index[end] = len(names)
                    names.append(end)
                    into.append([])
            least = round(svc.transit_hours * 3600)
            hin = _handling_s(net, svc.destination, svc.mode)
            v = index[svc.destination]
            into[v] = [*into[v], (index[svc.origin], len(graph.services) + k, least + hin, least)]
    t = index.get(pb.target)
    if t is None:
        return {}
    n = len(names)
    never = math.inf

    times: list[float] = [never] * n
    times[t] = 0
    heap: list[tuple[float, int]] = []
    heappop, heappush = heapq.heappop, heapq.heappush
    for u, _s, _with_handling, least in into[t]:  # no handling at the target itself
        if least < times[u]:
            times[u] = least
            heappush(heap, (least, u))
    while heap:
        d, v = heappop(heap)
        if d > times[v]:
            continue
        for u, _s, with_handling, _least in into[v]:
            nd = d + with_handling
            if nd < times[u]:
                times[u] = nd
                heappush(heap, (nd, u))

    def backward(weight: list[float]) -> list[float]:
        dist = [never] * n
        dist[t] = 0.0
        heap: list[tuple[float, int]] = [(0.0, t)]
        while heap:
            d, v = heappop(heap)
            if d > dist[v]:
                continue
            for u, s, _with_handling, _least in into[v]:
                nd = d + weight[s]
                if nd < dist[u]:
                    dist[u] = nd
                    heappush(heap, (nd, u))
        return dist

    costs = backward(cost_w)
    co2s = backward(co2_w)
    return {
        names[i]: (int(times[i]), math.floor(costs[i]), co2s[i] * _SHADE)
        for i in range(n)
        if times[i] != never
    }
