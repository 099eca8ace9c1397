"""Quotes: a multi-criteria label-setting search over the time-expanded timetable.

Model (the brute-force reference in the tests follows the same rules):
- The cargo is ready at the origin at `ready_at` + export customs time for the customs mode.
- A timetabled departure can be taken when the cargo is ready at its origin by the departure's cut-off, the
  service takes the cargo (equipment, dangerous goods, reefer) and the departure has room (capacity_left).
  Suspended departures are never taken. Road legs are on demand: the truck leaves when the cargo is ready.
- On arrival by mode m at node v the cargo is ready again after handling_in(v, m); a transfer therefore takes
  handling_in(arrival mode) + cut-off lead of the next departure. Transfers cost handling and hub emissions,
  which are booked on the leg that leaves the node.
- Criteria: total cost (USD, Decimal), arrival at the destination, total CO2e (kg). Because every leg adds
  strictly positive time, cost and CO2e, a label at node v depends on its past only through (ready time, cost,
  CO2e): labels at v are compared on those three (a Pareto bag per node), and a label that a destination label
  already dominates is dropped. For each service only departures whose arrival beats every earlier departure
  of that service are tried (a later departure of the same service costs the same and arrives no earlier).

This module is the planner's face: `plan`, `pareto_front` and the `earliest_arrival` baseline. The parts, in
the order a quote goes through them:
- `routing.quote_request`: the request model (`Cargo`, `QuoteRequest`), its validation, which services and
  departures take a cargo (`carries`, `fits`);
- `routing.search_graph`: one query's endpoints (`problem_for`, road legs to coordinates), the graph of the
  services a class of cargo can use, the lower bounds that steer and prune the search;
- `routing.tariff`: what a cargo pays and emits on a leg;
- `routing.label_search`: the Pareto label search itself;
- `routing.options`: planned legs and options, and the selection of the few a user sees;
- `routing.diagnosis`: why there is no option, and what would work.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from routing.charges import breakdown
from routing.diagnosis import diagnose
from routing.label_search import LABEL_BUDGET, Label, search
from routing.network_model import ESTIMATE, PUBLISHED, Network
from routing.options import Margins, Option, PlannedLeg, select
from routing.quote_request import (
    CUSTOMS_MODES,
    EQUIPMENT,
    Cargo,
    QuoteRequest,
    carries,
    fits,
    validate_cargo,
    validate_request,
)
from routing.search_graph import (
    DESTINATION_POINT,
    ORIGIN_POINT,
    SNAP_CANDIDATES,
    SNAP_WITHIN_KM,
    Problem,
    point_label,
    problem_for,
    road_service,
)
from routing.tariff import LegCharge, leg_charge
from routing.timetable import Timetable, first_index_at_or_after

# What callers import from the planner; each name lives in the module above that does its work.
__all__ = [
    "CUSTOMS_MODES",
    "EQUIPMENT",
    "LABEL_BUDGET",
    "SNAP_CANDIDATES",
    "SNAP_WITHIN_KM",
    "Cargo",
    "LegCharge",
    "Option",
    "PlannedLeg",
    "QuoteRequest",
    "carries",
    "earliest_arrival",
    "fits",
    "destination_hours",
    "leg_charge",
    "pareto_front",
    "plan",
    "road_service",
    "select",
    "validate_cargo",
    "validate_request",
]


def _option(pb: Problem, request: QuoteRequest, lab: Label) -> Option:
    chain: list[Label] = []
    cur: Label | None = lab
    while cur is not None and cur.parent is not None:
        chain.append(cur)
        cur = cur.parent
    chain.reverse()
    legs: list[PlannedLeg] = []
    for c in chain:
        svc, row = c.service, c.charge
        assert svc is not None and row is not None
        charge = LegCharge(*row)
        origin = svc.origin
        dest = svc.destination
        point_leg = svc.id.startswith("road:")
        if origin == ORIGIN_POINT and isinstance(request.origin, tuple):
            origin = point_label(request.origin)
        if dest == DESTINATION_POINT and isinstance(request.destination, tuple):
            dest = point_label(request.destination)
        basis = PUBLISHED if (svc.basis == PUBLISHED and svc.co2e_basis == PUBLISHED) else ESTIMATE
        ttw = round(svc.distance_km * pb.cargo.tonnes * svc.ttw_g_per_tkm / 1000.0, 3)
        dist_note = next((f.note for f in svc.provenance if f.name == "distance_km"), "")
        legs.append(
            PlannedLeg(
                mode=svc.mode,
                origin=origin,
                destination=dest,
                departure=datetime.fromtimestamp(c.dep_s, UTC),
                arrival=datetime.fromtimestamp(c.arrival, UTC),
                service_id=None if point_leg else svc.id,
                departure_id=c.departure.id if c.departure is not None else None,
                corridor=svc.corridor,
                distance_km=svc.distance_km,
                cost=charge.cost,
                co2e_kg=charge.co2e_kg,
                basis=basis,
                cutoff=c.departure.cutoff if c.departure is not None else None,
                handling_cost=charge.handling_cost,
                hub_co2e_kg=charge.hub_co2e_kg,
                teu=round(pb.cargo.teu(), 4),
                weight_kg=pb.cargo.weight_kg,
                via=svc.via,
                sources=svc.sources,
                provenance=svc.provenance,
                ttw_co2e_kg=round(ttw + charge.hub_co2e_kg, 3),
                wtw_g_per_tkm=svc.co2e_g_per_tkm,
                ttw_g_per_tkm=svc.ttw_g_per_tkm,
                emission_class=svc.emission_class,
                emission_source=pb.network.planning.emission_source.get(svc.emission_class, ""),
                distance_basis=f"{svc.distance_basis}: {dist_note}" if dist_note else svc.distance_basis,
            )
        )
    key = "|".join(
        leg.departure_id
        or f"{leg.service_id or 'road'}:{leg.origin}>{leg.destination}@{leg.departure:%Y-%m-%dT%H:%MZ}"
        for leg in legs
    )
    oid = "opt_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    arrival = legs[-1].arrival
    after = destination_hours(pb.network, legs, point_destination=isinstance(request.destination, tuple))
    return Option(
        id=oid,
        legs=tuple(legs),
        cost=sum((leg.cost for leg in legs), Decimal("0.00")),
        currency="USD",
        transit_hours=round((arrival - legs[0].departure).total_seconds() / 3600, 2),
        co2e_kg=round(lab.co2, 3),
        labels=(),
        basis=PUBLISHED if all(leg.basis == PUBLISHED for leg in legs) else ESTIMATE,
        lead_time_hours=round((arrival - request.ready_at).total_seconds() / 3600, 2),
        exact=not pb.relaxed,
        door_to_door_hours=round((arrival - request.ready_at).total_seconds() / 3600 + after, 2),
        destination_hours=after,
    )


def destination_hours(network: Network, legs: Sequence[PlannedLeg], point_destination: bool) -> float:
    """Hours from the last arrival to delivery: destination handling, and import clearance abroad.

    Handling is the last leg's `handling_in` at its destination node; a road leg to a coordinate left its
    terminal after that handling already, and its arrival is the door. Import clearance (by the mode that
    reached the destination country: the last leg that is not a road feeder) applies when the shipment ends
    in another country than it started.
    """
    p = network.planning
    last = legs[-1]
    handling = 0.0 if point_destination else p.handling_in(last.destination, last.mode)
    nodes = network.nodes
    first_node = nodes.get(legs[0].origin) or nodes.get(legs[0].destination)
    end_node = nodes.get(last.destination) or nodes.get(last.origin)
    if first_node is None or end_node is None or first_node.country == end_node.country:
        return handling
    main = next((leg.mode for leg in reversed(legs) if leg.mode != "road"), "road")
    return handling + float(p.import_clearance_hours.get(main, 0.0))


def pareto_front(
    network: Network,
    timetable: Timetable,
    request: QuoteRequest,
    capacity_left: Mapping[str, float] | None = None,
    kg_left: Mapping[str, float] | None = None,
) -> list[Option]:
    """Every Pareto-optimal itinerary over (cost, arrival, CO2e), unfiltered, sorted by arrival then cost."""
    validate_request(network, request)
    pb = problem_for(network, timetable, request, capacity_left, kg_left)
    return [_option(pb, request, lab) for lab in search(pb)]


def plan(
    network: Network,
    timetable: Timetable,
    request: QuoteRequest,
    capacity_left: Mapping[str, float] | None = None,
    kg_left: Mapping[str, float] | None = None,
    label_budget: int | None = LABEL_BUDGET,
) -> list[Option]:
    """At most max_options meaningfully different Pareto-optimal options, labelled; NoRoute if none.

    capacity_left: departure id -> TEU still free (missing = full capacity); kg_left likewise in kg (air).
    label_budget: after this many labels the search drops labels that another one dominates within the
    selection tolerance (the options then say exact=False); None searches exactly however long it takes.
    """
    validate_request(network, request)
    pb = problem_for(network, timetable, request, capacity_left, kg_left)
    pb.label_budget = label_budget
    labels = search(pb)
    if not labels:
        raise diagnose(network, timetable, request, pb)
    front = [_option(pb, request, lab) for lab in labels]
    chosen = select(front, request.max_options, Margins.of(network.planning.selection_margins))
    return [replace(o, breakdown=breakdown(network, o, request.cargo)) for o in chosen]


# ------------------------------------------------------------------------------------------ baseline


def earliest_arrival(
    network: Network,
    timetable: Timetable,
    request: QuoteRequest,
    capacity_left: Mapping[str, float] | None = None,
    kg_left: Mapping[str, float] | None = None,
) -> datetime | None:
    """Single-criterion earliest arrival under the same rules as `plan` (a Dijkstra on ready time).

    The baseline the benchmark measures the Pareto search against; also a cheap feasibility check.
    """
    validate_request(network, request)
    pb = problem_for(network, timetable, request, capacity_left, kg_left)
    planning, cargo = network.planning, request.cargo
    best: dict[str, int] = {pb.source: pb.ready_s}
    heap: list[tuple[int, str]] = [(pb.ready_s, pb.source)]
    arrival: int | None = None
    while heap:
        ready, node = heapq.heappop(heap)
        if ready > best.get(node, math.inf) or (arrival is not None and ready >= arrival):
            continue
        for svc in (*network.services_from.get(node, ()), *pb.extra_from.get(node, ())):
            if carries(svc, cargo) is not None:
                continue
            if svc.departures_per_week is None:
                arr = ready + round(svc.transit_hours * 3600)
            else:
                run = timetable.run(svc.id)
                if run is None:
                    continue
                arr_best: float = math.inf
                for j in range(first_index_at_or_after(run.cutoffs, ready), len(run.departures)):
                    if run.cutoffs[j] + run.lead_transit >= arr_best:
                        break  # this and every later departure arrive no earlier than the best one
                    d = run.departures[j]
                    if d.status == "scheduled" and fits(d, cargo, capacity_left, kg_left):
                        arr_best = min(arr_best, run.arrivals[j])
                if arr_best == math.inf:
                    continue
                arr = int(arr_best)
            if pb.deliver_by_s is not None and arr > pb.deliver_by_s:
                continue
            nxt = svc.destination
            if nxt == pb.target:
                if arrival is None or arr < arrival:
                    arrival = arr
                continue
            if nxt.startswith("@"):
                continue
            nready = arr + (round(planning.handling_in(nxt, svc.mode) * 3600))
            if nready < best.get(nxt, math.inf):
                best[nxt] = nready
                heapq.heappush(heap, (nready, nxt))
    return datetime.fromtimestamp(arrival, UTC) if arrival is not None else None
