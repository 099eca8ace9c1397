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
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import heapq
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from routing.errors import InvalidCargo, InvalidRequest, NoRoute, RoutingError
from routing.network import ESTIMATE, PUBLISHED, Figure, Network, Rate, Service
from routing.timetable import Departure, Timetable, _ServiceRun, first_index_at_or_after

EQUIPMENT = ("LCL", "20GP", "40GP", "40HC", "40RF", "AIR")
CONTAINERS = ("20GP", "40GP", "40HC", "40RF")
CUSTOMS_MODES = ("9610", "9710", "9810", "1210")
TEU = {"20GP": 1.0, "40GP": 2.0, "40HC": 2.0, "40RF": 2.0, "AIR": 0.0}
LCL_M3_PER_TEU = 33.2  # inside volume of a 20GP
VOLUMETRIC_KG_PER_M3 = 1_000_000 / 6000  # IATA 1:6000
REEFER_RANGE_C = (-35.0, 30.0)
ROAD_SPEED_KMH = 55.0
ROAD_DISPATCH_HOURS = 1.0
SNAP_CANDIDATES = 3
SNAP_WITHIN_KM = 600.0
CENT = Decimal("0.01")
ORIGIN_POINT, DESTINATION_POINT = "@origin", "@destination"
# Labels an exact search may create before it starts pruning within the tolerance. Quotes on the reference
# network stay far below it (a few hundred labels); large generated networks can need 10^4-10^5.
LABEL_BUDGET = 1000
BAG_CAP = 3  # labels per node once past the budget


@dataclass(frozen=True)
class Cargo:
    weight_kg: float
    volume_m3: float
    equipment: str  # LCL | 20GP | 40GP | 40HC | 40RF | AIR
    dangerous_goods: bool = False
    temperature: tuple[float, float] | None = None  # (min, max) degrees C

    def teu(self) -> float:
        """Capacity the cargo takes on a departure (LCL: its volume share of a 20GP; AIR: 0, it counts kg)."""
        if self.equipment == "LCL":
            return self.volume_m3 / LCL_M3_PER_TEU
        return TEU.get(self.equipment, 2.0)

    def chargeable_kg(self) -> float:
        """Air chargeable weight: the greater of actual and volumetric weight (1:6000)."""
        return max(self.weight_kg, self.volume_m3 * VOLUMETRIC_KG_PER_M3)

    def revenue_tonnes(self, minimum: float = 1.0) -> float:
        """LCL freight tons (W/M): the greater of tonnes and cubic metres, at least `minimum`."""
        return max(minimum, self.weight_kg / 1000.0, self.volume_m3)

    @property
    def tonnes(self) -> float:
        return self.weight_kg / 1000.0

    @property
    def needs_reefer(self) -> bool:
        return self.temperature is not None or self.equipment == "40RF"


@dataclass(frozen=True)
class QuoteRequest:
    origin: str | tuple[float, float]
    destination: str | tuple[float, float]
    ready_at: datetime
    deliver_by: datetime | None
    cargo: Cargo
    customs_mode: str  # 9610 | 9710 | 9810 | 1210
    max_options: int = 8


@dataclass(frozen=True)
class PlannedLeg:
    mode: str
    origin: str
    destination: str
    departure: datetime
    arrival: datetime
    service_id: str | None  # None for road legs to/from a coordinate
    departure_id: str | None  # None for on-demand road legs
    corridor: str
    distance_km: float
    cost: Decimal  # line haul + surcharges + handling at this leg's origin when it is a transfer
    co2e_kg: float  # transport + hub emissions at this leg's origin when it is a transfer
    basis: str
    cutoff: datetime | None = None
    handling_cost: Decimal = Decimal("0.00")
    hub_co2e_kg: float = 0.0
    teu: float = 0.0
    weight_kg: float = 0.0
    via: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    provenance: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Option:
    id: str  # stable hash of its legs
    legs: tuple[PlannedLeg, ...]
    cost: Decimal
    currency: str
    transit_hours: float  # first departure to arrival
    co2e_kg: float
    labels: tuple[str, ...]  # subset of cheapest | fastest | greenest
    basis: str  # published if every figure is published, else estimate
    lead_time_hours: float = 0.0  # ready_at to arrival (customs, waiting, transit)
    exact: bool = True  # False when the search hit its label budget and pruned within the tolerance

    def arrival(self) -> datetime:
        return self.legs[-1].arrival

    def departure(self) -> datetime:
        return self.legs[0].departure

    def departure_ids(self) -> tuple[str, ...]:
        return tuple(leg.departure_id for leg in self.legs if leg.departure_id is not None)


# ------------------------------------------------------------------------------------------ validation


def validate_request(network: Network, request: QuoteRequest) -> None:
    """Raise InvalidRequest / InvalidCargo for anything the planner cannot take; change nothing."""
    ready = request.ready_at
    if not isinstance(ready, datetime) or ready.tzinfo is None:
        raise InvalidRequest("ready_at must be a date-time with a timezone (UTC)")
    if request.deliver_by is not None:
        if request.deliver_by.tzinfo is None:
            raise InvalidRequest("deliver_by must be a date-time with a timezone (UTC)")
        if request.deliver_by <= ready:
            raise InvalidRequest(
                f"deliver_by ({request.deliver_by.isoformat()}) must be after ready_at ({ready.isoformat()})"
            )
    if request.customs_mode not in CUSTOMS_MODES:
        raise InvalidRequest(
            f"customs_mode {request.customs_mode!r} is not one of {', '.join(CUSTOMS_MODES)}"
        )
    if not (1 <= request.max_options <= 50):
        raise InvalidRequest(f"max_options must be between 1 and 50, not {request.max_options}")
    validate_cargo(network, request.cargo)


def validate_cargo(network: Network, cargo: Cargo) -> None:
    eq = cargo.equipment
    if eq not in EQUIPMENT:
        raise InvalidCargo(f"equipment {eq!r} is not one of {', '.join(EQUIPMENT)}")
    w, v = cargo.weight_kg, cargo.volume_m3
    if not _finite(w) or w <= 0:
        raise InvalidCargo(f"weight_kg must be a positive number, not {w!r}")
    if not _finite(v) or v <= 0:
        raise InvalidCargo(f"volume_m3 must be a positive number, not {v!r}")
    spec = network.planning.equipment.get(eq, {})
    max_kg, max_m3 = spec.get("max_kg", math.inf), spec.get("max_m3", math.inf)
    if w > max_kg:
        bigger = [
            e
            for e in ("20GP", "40RF", "40GP", "40HC")
            if network.planning.equipment.get(e, {}).get("max_kg", 0) >= w
        ]
        hint = (
            f"; use {bigger[0]}" if bigger and eq in ("LCL", "AIR") else "; split it over several containers"
        )
        raise InvalidCargo(f"{w:,.0f} kg is more than a {eq} carries ({max_kg:,.0f} kg){hint}")
    if v > max_m3:
        bigger = [
            e for e in ("20GP", "40GP", "40HC") if network.planning.equipment.get(e, {}).get("max_m3", 0) >= v
        ]
        hint = f"; use {bigger[0]}" if bigger and eq not in ("AIR",) else "; split the shipment"
        raise InvalidCargo(f"{v:,.1f} m3 does not fit a {eq} ({max_m3:,.1f} m3){hint}")
    if cargo.temperature is not None:
        lo, hi = cargo.temperature
        if not (_finite(lo) and _finite(hi)) or lo > hi:
            raise InvalidCargo(
                f"temperature must be (min, max) in degrees C with min <= max, not {cargo.temperature!r}"
            )
        if eq not in ("40RF", "AIR"):
            raise InvalidCargo(f"temperature-controlled cargo needs a 40RF reefer (or AIR), not {eq}")
        if lo < REEFER_RANGE_C[0] or hi > REEFER_RANGE_C[1]:
            raise InvalidCargo(
                f"a reefer holds {REEFER_RANGE_C[0]:g} to {REEFER_RANGE_C[1]:g} C, not {lo:g}..{hi:g} C"
            )


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


# ------------------------------------------------------------------------------------------ charges


def carries(service: Service, cargo: Cargo) -> str | None:
    """None if the service can carry the cargo, else the reason it cannot."""
    if cargo.equipment == "AIR" and service.mode not in ("air", "road"):
        return f"{service.id} is {service.mode}: AIR cargo goes by air and truck only"
    if cargo.equipment != "AIR" and service.mode == "air":
        return f"{service.id} is air: {cargo.equipment} goes by surface"
    if cargo.dangerous_goods and not service.accepts_dangerous_goods():
        why = "passenger aircraft" if service.passenger_aircraft else "the service"
        return f"{service.id} does not take dangerous goods ({why})"
    if cargo.needs_reefer and not service.reefer:
        return f"{service.id} does not take reefers"
    return None


def _money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def line_haul_cost(network: Network, service: Service, cargo: Cargo) -> Decimal:
    """Price of carrying the cargo on the service (USD): equipment rate or chargeable kg, with surcharges."""
    p = network.planning
    eq = p.equipment.get(cargo.equipment, {})
    factor = Decimal(str(eq.get("rate_factor", 1.0)))
    if service.mode == "air":
        per_kg = service.rate.per_kg if service.rate.per_kg is not None else Decimal("3.00")
        base = per_kg * Decimal(str(round(cargo.chargeable_kg(), 3)))
    else:
        per_feu = service.rate.per_feu if service.rate.per_feu is not None else Decimal("1000")
        if cargo.equipment in ("LCL", "AIR"):
            minimum = eq.get("min_revenue_tonnes", 1.0)
            lcl = Decimal(str(p.equipment.get("LCL", {}).get("rate_factor", 0.05)))
            base = per_feu * lcl * Decimal(str(round(cargo.revenue_tonnes(minimum), 3)))
        else:
            base = per_feu * factor
    surcharge = Decimal(1)
    if cargo.dangerous_goods:
        surcharge += Decimal(str(p.surcharges.get("dangerous_goods", 0.0)))
    if cargo.needs_reefer:
        surcharge += Decimal(str(p.surcharges.get("reefer", 0.0)))
    return _money(base * surcharge)


def handling_cost(network: Network, cargo: Cargo) -> Decimal:
    """What one transfer (lift off, yard, lift on) costs for the cargo."""
    h = network.planning.handling_cost
    eq = cargo.equipment
    if eq == "AIR":
        x = Decimal(str(h.get("per_chargeable_kg", 0.0))) * Decimal(str(round(cargo.chargeable_kg(), 3)))
    elif eq == "LCL":
        x = Decimal(str(h.get("per_revenue_tonne", 0.0))) * Decimal(str(round(cargo.revenue_tonnes(), 3)))
    elif eq == "20GP":
        x = Decimal(str(h.get("per_teu", 0.0)))
    else:
        x = Decimal(str(h.get("per_feu", 0.0)))
    return _money(x)


def transport_co2e(service: Service, cargo: Cargo) -> float:
    """ISO 14083 style: distance x shipment tonnes x the mode's intensity (g/tkm), in kg."""
    return round(service.distance_km * cargo.tonnes * service.co2e_g_per_tkm / 1000.0, 3)


def hub_co2e(network: Network, mode: str, cargo: Cargo) -> float:
    """Hub emissions of one transfer onto a leg of `mode` (kg)."""
    f = network.planning.hub_emissions_kg_per_tonne
    per_t = f.get(mode, f.get("default", 0.0)) if mode == "air" else f.get("default", 0.0)
    return round(per_t * cargo.tonnes, 3)


class LegCharge(NamedTuple):
    cost: Decimal
    co2e_kg: float
    handling_cost: Decimal
    hub_co2e_kg: float
    cents: int = 0  # cost in US cents, for fast comparisons in the search


# A LegCharge as a plain tuple (cost, co2e_kg, handling_cost, hub_co2e_kg, cents): memos hold thousands of
# them, and plain tuples of numbers drop out of the cyclic garbage collector's work.
_ChargeRow = tuple[Decimal, float, Decimal, float, int]


class _Tariff:
    """What one cargo pays and emits on any leg, with everything but the service's own figures worked out.

    `charge` does exactly the arithmetic of `line_haul_cost`, `handling_cost`, `transport_co2e` and `hub_co2e`
    (same operations in the same order), once per cargo instead of once per leg.
    """

    __slots__ = ("air_units", "lcl", "revenue", "factor", "per_box", "surcharge", "handling", "hub", "tonnes")

    def __init__(self, network: Network, cargo: Cargo) -> None:
        p = network.planning
        eq = p.equipment.get(cargo.equipment, {})
        self.factor = Decimal(str(eq.get("rate_factor", 1.0)))
        self.air_units = Decimal(str(round(cargo.chargeable_kg(), 3)))
        self.per_box = cargo.equipment not in ("LCL", "AIR")
        self.lcl = Decimal(str(p.equipment.get("LCL", {}).get("rate_factor", 0.05)))
        self.revenue = Decimal(str(round(cargo.revenue_tonnes(eq.get("min_revenue_tonnes", 1.0)), 3)))
        surcharge = Decimal(1)
        if cargo.dangerous_goods:
            surcharge += Decimal(str(p.surcharges.get("dangerous_goods", 0.0)))
        if cargo.needs_reefer:
            surcharge += Decimal(str(p.surcharges.get("reefer", 0.0)))
        self.surcharge = surcharge
        self.handling = handling_cost(network, cargo)
        self.hub = {True: hub_co2e(network, "air", cargo), False: hub_co2e(network, "rail", cargo)}
        self.tonnes = cargo.tonnes

    def charge(self, service: Service, transfer: bool) -> LegCharge:
        return LegCharge(*self.row(service, transfer))

    def row(self, service: Service, transfer: bool) -> _ChargeRow:
        """The charge as a plain tuple (cost, co2e_kg, handling_cost, hub_co2e_kg, cents)."""
        if service.mode == "air":
            per_kg = service.rate.per_kg if service.rate.per_kg is not None else Decimal("3.00")
            base = per_kg * self.air_units
        else:
            per_feu = service.rate.per_feu if service.rate.per_feu is not None else Decimal("1000")
            base = per_feu * self.factor if self.per_box else per_feu * self.lcl * self.revenue
        h = self.handling if transfer else Decimal("0.00")
        hub = self.hub[service.mode == "air"] if transfer else 0.0
        cost = (base * self.surcharge).quantize(CENT, rounding=ROUND_HALF_UP) + h  # as _money
        transport = round(service.distance_km * self.tonnes * service.co2e_g_per_tkm / 1000.0, 3)
        return (cost, round(transport + hub, 3), h, hub, int(cost * 100))


def leg_charge(network: Network, service: Service, cargo: Cargo, transfer: bool) -> LegCharge:
    """Cost and CO2e of a leg; `transfer` adds the handling and hub emissions at its origin."""
    h = handling_cost(network, cargo) if transfer else Decimal("0.00")
    hub = hub_co2e(network, service.mode, cargo) if transfer else 0.0
    cost = line_haul_cost(network, service, cargo) + h
    co2 = round(transport_co2e(service, cargo) + hub, 3)
    return LegCharge(cost, co2, h, hub, int(cost * 100))


_CHARGE_CACHE_LIMIT = 20_000


class _Charges:
    """Leg charges of one cargo on one network, worked out as the search needs them."""

    __slots__ = ("tariff", "table")

    def __init__(self, network: Network, cargo: Cargo) -> None:
        self.tariff = _Tariff(network, cargo)
        self.table: dict[tuple[str, bool], _ChargeRow] = {}


def charges_for(network: Network, cargo: Cargo) -> _Charges:
    """A per-network memo of leg charges for one cargo, keyed (service id, transfer)."""
    memo: dict[Cargo, _Charges] = network.__dict__.setdefault("_cargo_charges", {})
    found = memo.get(cargo)
    if found is None:
        if sum(len(c.table) for c in memo.values()) > _CHARGE_CACHE_LIMIT:
            memo.clear()
        found = memo[cargo] = _Charges(network, cargo)
    return found


def _charge(charges: _Charges, svc: Service, transfer: bool) -> _ChargeRow:
    key = (svc.id, transfer)
    c = charges.table.get(key)
    if c is None:
        c = charges.table[key] = charges.tariff.row(svc, transfer)
    return c


def fits(
    departure: Departure,
    cargo: Cargo,
    capacity_left: Mapping[str, float] | None,
    kg_left: Mapping[str, float] | None = None,
) -> bool:
    """Whether the departure still has room for the cargo (TEU, and kg where kg_left says or for air)."""
    teu_left = (
        departure.capacity_teu
        if capacity_left is None
        else capacity_left.get(departure.id, departure.capacity_teu)
    )
    if cargo.teu() > teu_left + 1e-9:
        return False
    if departure.mode == "air" or kg_left is not None:
        kg = departure.capacity_kg if kg_left is None else kg_left.get(departure.id, departure.capacity_kg)
        if cargo.weight_kg > kg + 1e-6:
            return False
    return True


def road_service(
    network: Network, origin: str, destination: str, great_circle_km: float, label: str
) -> Service:
    """An on-demand truck leg to or from a coordinate (distance by geodesic x road circuity)."""
    circ = network.planning.circuity.get("road", 1.25)
    km = round(max(great_circle_km * circ, 1.0), 1)
    hours = round(km / ROAD_SPEED_KMH + ROAD_DISPATCH_HOURS, 2)
    r = network.planning.rates.get("road", {})
    per_feu = Decimal(str(round(r.get("fixed_per_feu", 80.0) + r.get("per_feu_km", 1.5) * km, 2)))
    factor = network.planning.emission_g_per_tkm.get("road", 90.0)
    note = f"geodesic {great_circle_km:.1f} km x {circ} road circuity at {ROAD_SPEED_KMH:g} km/h"
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
        provenance=(
            Figure("distance_km", ESTIMATE, note),
            Figure("rate", ESTIMATE, "planning default road rate"),
        ),
    )


# ------------------------------------------------------------------------------------------ search


class _Label:
    __slots__ = (
        "node",
        "ready",
        "arrival",
        "cost",
        "co2",
        "parent",
        "service",
        "departure",
        "dep_s",
        "charge",
        "alive",
    )

    def __init__(
        self,
        node: str,
        ready: int,
        arrival: int,
        cost: int,  # US cents: integer comparisons are much faster than Decimal ones
        co2: float,
        parent: _Label | None,
        service: Service | None,
        departure: Departure | None,
        dep_s: int,
        charge: _ChargeRow | None,
    ) -> None:
        self.node, self.ready, self.arrival, self.cost, self.co2 = node, ready, arrival, cost, co2
        self.parent, self.service, self.departure, self.dep_s, self.charge = (
            parent,
            service,
            departure,
            dep_s,
            charge,
        )
        self.alive = True


@dataclass
class _Problem:
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


# One way out of a node for a cargo: (service, its departures or None for on-demand road, the least seconds
# from being ready at the node to arriving at `destination` (road: the transit), destination, seconds of
# handling at the destination before the cargo can leave again, whether the leg flies).
_Edge = tuple[Service, "_ServiceRun | None", int, str, int, bool]
# One way into a node (by index), for the backward bound searches: (origin index, service index, least seconds
# plus the handling at the node, least seconds).
_Into = tuple[int, int, int, int]


@dataclass
class _Graph:
    """The services one class of cargo can use, indexed both ways, with the timetable's least times.

    Built once per timetable, network and class of cargo (see `_cargo_class`); queries share it. Nodes are
    numbered for the backward searches (`names[i]` is node i); `services[s]` is service s, and `tariffs[s]`
    what its cost and CO2e floors need: (rate per FEU or per kg as a float, flies, km x g CO2e per tkm).
    """

    out: dict[str, list[_Edge]]
    names: list[str]
    index: dict[str, int]
    into: list[list[_Into]]
    services: list[Service]
    tariffs: list[tuple[float, bool, float]]
    floors: dict[Cargo, tuple[list[float], list[float]]] = field(default_factory=dict)


def _cargo_class(cargo: Cargo) -> tuple[bool, bool, bool]:
    """What `carries` looks at: air cargo or not, dangerous goods, reefer."""
    return (cargo.equipment == "AIR", cargo.dangerous_goods, cargo.needs_reefer)


def _handling_s(network: Network, node: str, mode: str) -> int:
    return 0 if node.startswith("@") else round(network.planning.handling_in(node, mode) * 3600)


def _edge(network: Network, svc: Service, run: _ServiceRun | None) -> _Edge:
    least = round(svc.transit_hours * 3600) if run is None else run.lead_transit
    dest = svc.destination
    return (svc, run, least, dest, _handling_s(network, dest, svc.mode), svc.mode == "air")


def _floor_inputs(svc: Service) -> tuple[float, bool, float]:
    if svc.mode == "air":
        rate = float(svc.rate.per_kg) if svc.rate.per_kg is not None else 3.0
    else:
        rate = float(svc.rate.per_feu) if svc.rate.per_feu is not None else 1000.0
    return (rate, svc.mode == "air", svc.distance_km * svc.co2e_g_per_tkm)


def _graph(network: Network, timetable: Timetable, cargo: Cargo) -> _Graph:
    """The graph for this cargo's class (cached on the timetable)."""
    key = ("planner-graph", id(network), _cargo_class(cargo))
    found = timetable.derived.get(key)
    if isinstance(found, tuple) and found[0] is network:
        graph: _Graph = found[1]
        return graph
    names = list(network.nodes)
    index = {n: i for i, n in enumerate(names)}
    out: dict[str, list[_Edge]] = {}
    into: list[list[_Into]] = [[] for _ in names]
    services: list[Service] = []
    for svc in network.services.values():
        if carries(svc, cargo) is not None:
            continue
        run = None if svc.departures_per_week is None else timetable.run(svc.id)
        if svc.departures_per_week is not None and run is None:
            continue  # no departure within the timetable
        e = _edge(network, svc, run)
        out.setdefault(svc.origin, []).append(e)
        into[index[e[3]]].append((index[svc.origin], len(services), e[2] + e[4], e[2]))
        services.append(svc)
    graph = _Graph(out, names, index, into, services, [_floor_inputs(s) for s in services])
    timetable.derived[key] = (network, graph)
    return graph


_FLOOR_CACHE_LIMIT = 4
_AT_TARGET = (0, 0, 0.0)  # the bounds of the target itself
_SHADE = 1 - 1e-9


def _leg_floors(
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


def _graph_floors(network: Network, graph: _Graph, cargo: Cargo) -> tuple[list[float], list[float]]:
    found = graph.floors.get(cargo)
    if found is None:
        if len(graph.floors) >= _FLOOR_CACHE_LIMIT:
            graph.floors.clear()
        found = graph.floors[cargo] = _leg_floors(network, cargo, graph.tariffs)
    return found


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a search runs.

    A search allocates thousands of labels that refer only to their parents (no cycles: reference counting
    frees them all when it ends), but the allocations alone would trigger full collections, and a full
    collection walks every long-lived object of the process, the timetable's 10^5 departures included:
    hundreds of milliseconds that land on whichever quote triggered it. Nothing is lost by waiting: the
    collector runs again as soon as the search is over. Left alone if something else turned it off.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _search(pb: _Problem) -> list[_Label]:
    """Pareto labels at the target (arrival, cost, co2e); see `_search_labels`."""
    with _cyclic_gc_paused():
        return _search_labels(pb)


def _search_labels(pb: _Problem) -> list[_Label]:
    """Pareto labels at the target (arrival, cost, co2e), non-dominated, in a deterministic order.

    Labels leave the heap in the order of a lower bound on their arrival at the target (ready time plus the
    least time still needed from their node, an A*-style key): the bound is consistent (no leg lowers it),
    so the labels of one node still leave in the order of their ready times, and the first arrivals at the
    target, which prune everything they dominate, are found early.
    """
    net, tt, cargo = pb.network, pb.timetable, pb.cargo
    graph = _graph(net, tt, cargo)
    extra_out: dict[str, list[_Edge]] = {}
    extra_services: list[Service] = []
    for node, services in pb.extra_from.items():
        for svc in services:
            if carries(svc, cargo) is None:
                extra_out.setdefault(node, []).append(_edge(net, svc, None))
                extra_services.append(svc)
    bounds = _lower_bounds(pb, graph, extra_services)
    deliver_by = pb.deliver_by_s
    target = pb.target
    b0 = bounds.get(pb.source)
    if b0 is None or (deliver_by is not None and pb.ready_s + b0[0] > deliver_by):
        return []

    bags: dict[str, list[_Label]] = {}
    results: list[_Label] = []  # the Pareto bag at the target
    targets: list[_Label] = []  # the same labels, reordered for fast pruning checks
    seq = 0
    start = _Label(pb.source, pb.ready_s, pb.ready_s, 0, 0.0, None, None, None, 0, None)
    bags[pb.source] = [start]
    heap: list[tuple[int, int, _Label]] = [(pb.ready_s + b0[0], seq, start)]

    relaxed = False
    level = 0
    next_level = pb.label_budget if pb.label_budget is not None else 0
    tol_s = round(TOLERANCE_HOURS * 3600)
    tol_cost = 1 + float(TOLERANCE_COST[0])
    tol_co2 = 1 + TOLERANCE_CO2[0]

    def dominated_by_result(b: tuple[int, int, float], ready: int, cost: int, co2: float) -> bool:
        """No extension of this label can reach the target undominated (b: its node's lower bounds)."""
        t, e = ready + b[0], co2 + b[2]
        c: float = cost + b[1]
        if relaxed:
            t, c, e = t + tol_s, c * tol_cost, e * tol_co2
        for i, r in enumerate(targets):
            if r.arrival <= t and r.cost <= c and r.co2 <= e:
                if i:
                    targets[0], targets[i] = r, targets[0]
                return True
        return False

    def admit(bag: list[_Label], t: int, c: int, e: float, at_target: bool) -> bool:
        """Whether a label (t = arrival at the target, else ready time) enters the Pareto bag; if it does,
        the members it dominates leave (marked dead) and the caller appends it."""
        dominated: list[int] = []
        for i, m in enumerate(bag):
            mt = m.arrival if at_target else m.ready
            if mt <= t:
                if m.cost <= c and m.co2 <= e:
                    if i:  # move to front: a label that dominates once tends to dominate the next ones too
                        bag[0], bag[i] = m, bag[0]
                    return False
                if t == mt and c <= m.cost and e <= m.co2:
                    dominated.append(i)
            elif c <= m.cost and e <= m.co2:
                dominated.append(i)
        if relaxed and not at_target:
            # past the label budget: a label another one nearly dominates (within the tolerance) is dropped,
            # and a node keeps at most BAG_CAP labels unless the new one dominates one of them or is the
            # node's new fastest, cheapest or greenest (then members left without such a role make room):
            # keeping each node's extremes keeps the cheap but slow ways that a time-ordered search finds last
            tt, tc, te = t + tol_s, c * tol_cost, e * tol_co2
            for m in bag:
                if m.ready <= tt and m.cost <= tc and m.co2 <= te:
                    return False
            if not dominated and len(bag) >= BAG_CAP:
                bt, bc, be = min(m.ready for m in bag), min(m.cost for m in bag), min(m.co2 for m in bag)
                if t >= bt and c >= bc and e >= be:
                    return False
                nt, nc, ne = min(t, bt), min(c, bc), min(e, be)
                dominated = [i for i, m in enumerate(bag) if m.ready != nt and m.cost != nc and m.co2 != ne]
        for i in reversed(dominated):
            bag[i].alive = False
            del bag[i]
        return True

    charges = charges_for(net, cargo)
    charge_table = charges.table
    cargo_teu, cargo_kg = cargo.teu(), cargo.weight_kg
    teu_get = pb.capacity_left.get if pb.capacity_left is not None else None
    kg_get = pb.kg_left.get if pb.kg_left is not None else None
    ignore_suspensions = pb.ignore_suspensions
    no_limit = math.inf if deliver_by is None else deliver_by + 1  # arrivals must come before this
    bisect_left = bisect.bisect_left
    heappop, heappush = heapq.heappop, heapq.heappush
    out_edges = graph.out
    no_edges: list[_Edge] = []

    while heap:
        _, _, lab = heappop(heap)
        if not lab.alive:
            continue
        if pb.label_budget is not None and seq > next_level:
            # Past the budget, and again each time it is spent once more: prune within a tolerance that
            # doubles each time (2 % / 6 h, then 4 % / 12 h, ... capped at 16 % / 48 h).
            level = min(level + 1, 4)
            next_level = seq + pb.label_budget
            relaxed = pb.relaxed = True
            widen = 2 ** (level - 1)
            tol_s = round(TOLERANCE_HOURS * 3600 * widen)
            tol_cost = 1 + float(TOLERANCE_COST[0]) * widen
            tol_co2 = 1 + TOLERANCE_CO2[0] * widen
        here = lab.node
        if targets and dominated_by_result(bounds[here], lab.ready, lab.cost, lab.co2):
            lab.alive = False
            continue
        transfer = lab.parent is not None and not here.startswith("@")
        ready0 = lab.ready
        edges = out_edges.get(here, no_edges)
        if here in extra_out:
            edges = [*edges, *extra_out[here]]
        for svc, run, least, node, hin, is_air in edges:
            earliest = ready0 + least  # no departure of this service arrives earlier
            if earliest >= no_limit:
                continue
            at_target = node == target
            if at_target:
                b = _AT_TARGET
            else:
                found = bounds.get(node)
                if found is None or node.startswith("@"):
                    continue  # the target cannot be reached from there with this cargo
                b = found
            charge = charge_table.get((svc.id, transfer))
            if charge is None:
                charge = _charge(charges, svc, transfer)
            cost = lab.cost + charge[4]
            co2 = lab.co2 + charge[1]
            if not at_target and targets and dominated_by_result(b, earliest + hin, cost, co2):
                continue  # even the earliest arrival there would be dominated: no need to look at departures
            choices: list[tuple[int, int, Departure | None]] = []
            if run is None:
                choices.append((ready0, earliest, None))
            else:
                # Departures in cut-off order; one whose cut-off plus the least lead and transit cannot beat
                # the best arrival so far (or deliver_by) ends the scan: every later one arrives later still.
                limit = no_limit
                cutoffs, departures, arrivals = run.cutoffs, run.departures, run.arrivals
                for j in range(bisect_left(cutoffs, ready0), len(departures)):
                    if cutoffs[j] + least >= limit:
                        break
                    d = departures[j]
                    if d.status != "scheduled" and not ignore_suspensions:
                        continue
                    # room on the departure: what `fits` checks, inlined (it runs for every departure seen)
                    if cargo_teu > (teu_get(d.id, d.capacity_teu) if teu_get else d.capacity_teu) + 1e-9:
                        continue
                    if (is_air or kg_get) and cargo_kg > (
                        kg_get(d.id, d.capacity_kg) if kg_get else d.capacity_kg
                    ) + 1e-6:
                        continue
                    arr = arrivals[j]
                    if arr < limit:
                        limit = arr
                        choices.append((run.departs[j], arr, d))
                        if run.fifo:
                            break  # every later departure arrives no earlier
                if not choices:
                    continue
            if at_target:
                for dep_s, arr_s, dep in choices:
                    if admit(results, arr_s, cost, co2, True):
                        new = _Label(node, arr_s, arr_s, cost, co2, lab, svc, dep, dep_s, charge)
                        results.append(new)
                        targets[:] = [r for r in targets if r.alive]
                        targets.append(new)
                continue
            for dep_s, arr_s, dep in choices:
                ready = arr_s + hin
                key = ready + b[0]
                if key >= no_limit or (targets and dominated_by_result(b, ready, cost, co2)):
                    continue
                bag = bags.get(node)
                if bag is None:
                    bag = bags[node] = []
                elif not admit(bag, ready, cost, co2, False):
                    continue
                new = _Label(node, ready, arr_s, cost, co2, lab, svc, dep, dep_s, charge)
                bag.append(new)
                seq += 1
                heappush(heap, (key, seq, new))
    pb.labels_created = seq
    return sorted((r for r in results if r.alive), key=lambda r: (r.arrival, r.cost, r.co2))


def _lower_bounds(
    pb: _Problem, graph: _Graph, extra_services: Sequence[Service]
) -> dict[str, tuple[int, int, float]]:
    """Per node, lower bounds on the (time, cost, CO2e) still needed to reach the target with this cargo.

    Three backward Dijkstras over the services that carry the cargo. Time: from being ready at a node to
    arriving at the target, the least cut-off-to-arrival time of each leg plus the handling at every node in
    between (waiting for a departure ignored). Cost and CO2e: each leg as a transfer (line haul, handling, hub
    emissions; floors from `_leg_floors`), which is what every leg after the first costs; the first leg is
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
        cost_x, co2_x = _leg_floors(net, pb.cargo, [_floor_inputs(s) for s in extra_services])
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


# ------------------------------------------------------------------------------------------ options


def _point_label(p: tuple[float, float]) -> str:
    return f"{p[0]:.5f},{p[1]:.5f}"


def _problem(
    network: Network,
    timetable: Timetable,
    request: QuoteRequest,
    capacity_left: Mapping[str, float] | None,
    kg_left: Mapping[str, float] | None,
) -> _Problem:
    extra: dict[str, list[Service]] = {}
    if isinstance(request.origin, tuple):
        lat, lon = request.origin
        source = ORIGIN_POINT
        for node, km in network.nearest(lat, lon, SNAP_CANDIDATES, SNAP_WITHIN_KM):
            svc = road_service(network, _point_label(request.origin), node.id, km, "road pre-carriage")
            extra.setdefault(ORIGIN_POINT, []).append(replace(svc, origin=ORIGIN_POINT))
    else:
        source = network.resolve(request.origin).id
    if isinstance(request.destination, tuple):
        lat, lon = request.destination
        target = DESTINATION_POINT
        for node, km in network.nearest(lat, lon, SNAP_CANDIDATES, SNAP_WITHIN_KM):
            svc = road_service(network, node.id, _point_label(request.destination), km, "road on-carriage")
            extra.setdefault(node.id, []).append(replace(svc, destination=DESTINATION_POINT))
    else:
        target = network.resolve(request.destination).id
    if source == target:
        raise InvalidRequest(f"origin and destination are the same node ({source})")
    customs = network.planning.customs_hours.get(request.customs_mode, 0.0)
    ready_s = _ts(request.ready_at) + round(customs * 3600)
    deliver_by_s = _ts(request.deliver_by) if request.deliver_by is not None else None
    return _Problem(
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


def _option(pb: _Problem, request: QuoteRequest, lab: _Label) -> Option:
    chain: list[_Label] = []
    cur: _Label | None = lab
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
            origin = _point_label(request.origin)
        if dest == DESTINATION_POINT and isinstance(request.destination, tuple):
            dest = _point_label(request.destination)
        basis = PUBLISHED if (svc.basis == PUBLISHED and svc.co2e_basis == PUBLISHED) else ESTIMATE
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
            )
        )
    key = "|".join(
        leg.departure_id
        or f"{leg.service_id or 'road'}:{leg.origin}>{leg.destination}@{leg.departure:%Y-%m-%dT%H:%MZ}"
        for leg in legs
    )
    oid = "opt_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    arrival = legs[-1].arrival
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
    )


def pareto_front(
    network: Network,
    timetable: Timetable,
    request: QuoteRequest,
    capacity_left: Mapping[str, float] | None = None,
    kg_left: Mapping[str, float] | None = None,
) -> list[Option]:
    """Every Pareto-optimal itinerary over (cost, arrival, CO2e), unfiltered, sorted by arrival then cost."""
    validate_request(network, request)
    pb = _problem(network, timetable, request, capacity_left, kg_left)
    return [_option(pb, request, lab) for lab in _search(pb)]


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
    pb = _problem(network, timetable, request, capacity_left, kg_left)
    pb.label_budget = label_budget
    labels = _search(pb)
    if not labels:
        raise _diagnose(network, timetable, request, pb)
    front = [_option(pb, request, lab) for lab in labels]
    return select(front, request.max_options)


# ------------------------------------------------------------------------------------------ selection

# Tolerance: an option that another kept option matches within these margins on every criterion adds nothing
# a user would act on.
TOLERANCE_COST = (Decimal("0.02"), Decimal("25"))  # relative, absolute USD
TOLERANCE_HOURS = 6.0
TOLERANCE_CO2 = (0.02, 5.0)  # relative, absolute kg


def _near_enough(p: Option, o: Option) -> bool:
    """p is at least about as good as o on every criterion (within the tolerance)."""
    cost_ok = p.cost <= o.cost + max(o.cost * TOLERANCE_COST[0], TOLERANCE_COST[1])
    time_ok = (p.arrival() - o.arrival()).total_seconds() <= TOLERANCE_HOURS * 3600
    co2_ok = p.co2e_kg <= o.co2e_kg + max(o.co2e_kg * TOLERANCE_CO2[0], TOLERANCE_CO2[1])
    return cost_ok and time_ok and co2_ok


def select(front: Sequence[Option], max_options: int) -> list[Option]:
    """Label the extremes, drop near-duplicates, keep the most diverse rest up to max_options."""
    if not front:
        return []
    cheapest = min(front, key=lambda o: (o.cost, o.arrival(), o.co2e_kg, o.id))
    fastest = min(front, key=lambda o: (o.arrival(), o.cost, o.co2e_kg, o.id))
    greenest = min(front, key=lambda o: (o.co2e_kg, o.cost, o.arrival(), o.id))
    tags: dict[str, list[str]] = {}
    for name, o in (("cheapest", cheapest), ("fastest", fastest), ("greenest", greenest)):
        tags.setdefault(o.id, []).append(name)
    kept: list[Option] = []
    for o in (cheapest, fastest, greenest):
        if o.id not in {k.id for k in kept} and len(kept) < max_options:
            kept.append(o)
    costs = [float(o.cost) for o in front]
    times = [o.arrival().timestamp() for o in front]
    co2s = [o.co2e_kg for o in front]
    span = (max(costs) - min(costs) or 1.0, max(times) - min(times) or 1.0, max(co2s) - min(co2s) or 1.0)

    def point(o: Option) -> tuple[float, float, float]:
        return (float(o.cost) / span[0], o.arrival().timestamp() / span[1], o.co2e_kg / span[2])

    rest = sorted((o for o in front if o.id not in {k.id for k in kept}), key=lambda o: o.id)
    while len(kept) < max_options:
        pool = [o for o in rest if not any(_near_enough(k, o) for k in kept)]
        if not pool:
            break
        pts = [point(k) for k in kept]

        def spread(o: Option, pts: list[tuple[float, float, float]] = pts) -> tuple[float, str]:
            po = point(o)
            return (min(math.dist(po, q) for q in pts), o.id)

        best = max(pool, key=lambda o: (spread(o)[0], [-ord(c) for c in o.id]))
        kept.append(best)
        rest.remove(best)
    out = [replace(o, labels=tuple(tags.get(o.id, ()))) for o in kept]
    return sorted(out, key=lambda o: (o.arrival(), o.cost, o.co2e_kg, o.id))


# ------------------------------------------------------------------------------------------ diagnosis


def _diagnose(network: Network, timetable: Timetable, request: QuoteRequest, pb: _Problem) -> RoutingError:
    """Explain an empty answer by relaxing one constraint at a time; say what would work."""
    cargo = request.cargo
    where = f"from {pb.source.lstrip('@')} to {pb.target.lstrip('@')}"
    if pb.deliver_by_s is not None:
        relaxed = _search(replace(pb, deliver_by_s=None))
        if relaxed:
            first = datetime.fromtimestamp(min(r.arrival for r in relaxed), UTC)
            return NoRoute(
                f"no option {where} arrives by {request.deliver_by:%Y-%m-%dT%H:%MZ}; "
                f"the earliest arrival is {first:%Y-%m-%dT%H:%MZ}",
                suggestion=f"a deliver_by of {first:%Y-%m-%dT%H:%MZ} or later",
            )
    if cargo.dangerous_goods and _search(replace(pb, cargo=replace(cargo, dangerous_goods=False))):
        refusing = sorted({s.id for s in network.services.values() if not s.accepts_dangerous_goods()})
        alt = _other_equipment(pb, cargo)
        return NoRoute(
            f"no service on the routes {where} takes dangerous goods for {cargo.equipment} "
            f"(refusing: {', '.join(refusing[:8]) or 'none'})",
            suggestion=alt or "ship the dangerous goods separately; the rest of the cargo has options",
        )
    if cargo.needs_reefer and _search(replace(pb, cargo=replace(cargo, temperature=None, equipment="40HC"))):
        return NoRoute(
            f"no service on the routes {where} takes reefer (temperature-controlled) cargo",
            suggestion=_other_equipment(pb, cargo) or "dry cargo in 40HC has options on this route",
        )
    limited = pb.capacity_left is not None or pb.kg_left is not None
    if limited and _search(replace(pb, capacity_left=None, kg_left=None)):
        return NoRoute(
            f"every departure that connects {where} is full "
            f"for {cargo.teu():.2f} TEU / {cargo.weight_kg:,.0f} kg",
            suggestion="a later ready_at date, or smaller lots",
        )
    if _search(replace(pb, ignore_suspensions=True)):
        return NoRoute(
            f"the services that connect {where} are suspended",
            suggestion="a later ready_at date, once the suspension ends",
        )
    alt = _other_equipment(pb, cargo)
    if alt:
        return NoRoute(f"no service {where} carries {cargo.equipment}", suggestion=alt)
    end = timetable.end
    return NoRoute(
        f"no itinerary {where} fits the timetable (which runs to {end:%Y-%m-%d}) for this cargo",
        suggestion="an earlier ready_at within the timetable horizon, or another destination",
    )


def _other_equipment(pb: _Problem, cargo: Cargo) -> str | None:
    limits = pb.network.planning.equipment
    for eq in ("40HC", "40GP", "20GP", "LCL", "AIR"):
        if eq == cargo.equipment:
            continue
        spec = limits.get(eq, {})
        if cargo.weight_kg > spec.get("max_kg", math.inf) or cargo.volume_m3 > spec.get("max_m3", math.inf):
            continue
        if cargo.temperature is not None and eq != "AIR":
            continue
        found = _search(replace(pb, cargo=replace(cargo, equipment=eq)))
        if found:
            return f"equipment {eq} has {len(found)} option(s) on this route"
    return None


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
    pb = _problem(network, timetable, request, capacity_left, kg_left)
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
