"""Delivery runs from an overseas warehouse: parcel drops and return pick-ups, vans with payloads and shifts.

Same PyVRP core as the Solomon solver. Road km and drive times come from a `TravelMatrix` (default: geodesic x
circuity factor at an average speed, `routing.vrp.distances`). A stop delivers `weight_kg` (loaded at the
depot) and/or collects `pickup_kg` (a return brought back to the warehouse); the van's load never exceeds its
payload at any point of its route.

Every stop is optional with a prize: by default a prize dearer than any plan's distance, so the plan serves
as many stops as it can and then minimises road km; a stop with `prize_km` is served only if it is worth that
many road km of detour. A stop left out is reported with its reason (`Unserved`), never silently dropped.

Integer model: metres (rounded) for cost, seconds rounded *up* for drive and service times, window opens
rounded up and closes rounded down, loads in grams rounded up against payloads rounded down: a schedule the
solver accepts is feasible in exact arithmetic. `check_plan` verifies that on every plan, from the float
matrix, without the solver; a plan that fails it is a bug and raises.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.vrp.core import RoutingProblem, optimise
from routing.vrp.distances import (
    DEFAULT_ROAD_FACTOR,
    DEFAULT_SPEED_KMH,
    GeodesicMatrix,
    Matrix,
    TravelMatrix,
)

__all__ = [
    "DEFAULT_ROAD_FACTOR",
    "DEFAULT_SPEED_KMH",
    "DeliveryPlan",
    "Depot",
    "InvalidDeliveryRun",
    "Stop",
    "Unserved",
    "Van",
    "VanRun",
    "Visit",
    "check_plan",
    "plan_delivery_run",
]

_GRAMS = 1000  # loads go to the solver in whole grams
_METRES = 1000  # road distance goes to the solver in whole metres
# Slack for float noise when the checker compares exact times (seconds) and loads (kg).
_EPS = 1e-6

# Reasons a stop is left out, most specific first (the first that applies is reported).
REASON_WINDOW = "its time window lies outside every van's shift"
REASON_WEIGHT = "heavier than any van's payload"
REASON_REACH = "no van can reach it within its window and be back by the end of its shift"
REASON_PRIZE = "not worth the detour: its prize is below the road km it would add"
REASON_FLEET = "the vans had no payload or time left for it"


class InvalidDeliveryRun(ValueError):
    """Input that cannot be planned; `field` names the offending input (e.g. `stops[3].lat`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Depot:
    id: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Stop:
    """An address; `ready`/`due` bound when the driver may *start* the handover (UTC, tz-aware).

    `weight_kg` is delivered there (on the van from the depot), `pickup_kg` collected there (a return, on the
    van back to the depot). `prize_km`: None serves the stop whenever the vans can; a number makes it
    optional, served only if that is worth the detour in road km. `transfer_to` pairs a pickup with its
    drop: the `pickup_kg` collected here goes on the same van to that stop (not back to the depot), e.g.
    goods moved from a supplier or another site; both stops carry no other load."""

    id: str
    lat: float
    lon: float
    weight_kg: float
    ready: datetime | None = None
    due: datetime | None = None
    service_minutes: float = 3.0
    pickup_kg: float = 0.0
    prize_km: float | None = None
    transfer_to: str | None = None


@dataclass(frozen=True, slots=True)
class Van:
    """A van leaves the depot no earlier than `shift_start` and is back by `shift_end`."""

    id: str
    capacity_kg: float
    shift_start: datetime
    shift_end: datetime


@dataclass(frozen=True, slots=True)
class Visit:
    stop_id: str
    arrival: datetime  # when the handover starts (the van may have waited for the window to open)
    departure: datetime
    load_kg: float  # on board when the van leaves this stop


@dataclass(frozen=True, slots=True)
class VanRun:
    van_id: str
    departs: datetime
    returns: datetime
    visits: list[Visit]
    distance_km: float
    load_kg: float  # delivered on this run (on board at departure)
    pickup_kg: float = 0.0  # collected on this run (on board when back)

    @property
    def duration(self) -> timedelta:
        return self.returns - self.departs


@dataclass(frozen=True, slots=True)
class Unserved:
    stop_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    runs: list[VanRun]
    unserved: list[Unserved]
    distance_km: float

    @property
    def unserved_ids(self) -> list[str]:
        return [u.stop_id for u in self.unserved]


def plan_delivery_run(
    depot: Depot,
    stops: Sequence[Stop],
    vehicles: Sequence[Van],
    *,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    road_factor: float = DEFAULT_ROAD_FACTOR,
    matrix: TravelMatrix | None = None,
    time_limit_s: float = 2.0,
    seed: int = 0,
) -> DeliveryPlan:
    """Assign stops to vans and order them: serve as many stops as possible (or as are worth it), then the
    fewest road km. `matrix` overrides the geodesic estimate at `speed_kmh` x `road_factor`."""
    _validate(depot, stops, vehicles, speed_kmh, road_factor, time_limit_s)
    if not stops:
        return DeliveryPlan([], [], 0.0)
    travel = matrix or GeodesicMatrix(speed_kmh, road_factor)
    m = travel([(depot.lat, depot.lon), *((s.lat, s.lon) for s in stops)])
    origin = min(v.shift_start for v in vehicles)
    horizon = _seconds(max(v.shift_end for v in vehicles) - origin)
    n = len(stops) + 1
    cost = [[round(km * _METRES) for km in row] for row in m.km]
    drive = [[math.ceil(round(s, 6)) for s in row] for row in m.seconds]

    def window(s: Stop) -> tuple[int, int]:
        lo = 0 if s.ready is None else max(0, math.ceil((s.ready - origin).total_seconds()))
        hi = horizon if s.due is None else min(horizon, math.floor((s.due - origin).total_seconds()))
        return lo, hi

    windows = [(0, horizon), *(window(s) for s in stops)]
    service = [0, *(math.ceil(round(s.service_minutes * 60, 6)) for s in stops)]
    shifts = [(_seconds(v.shift_start - origin), _seconds(v.shift_end - origin)) for v in vehicles]
    capacities = [math.floor(round(v.capacity_kg * _GRAMS, 6)) for v in vehicles]
    demand = [0, *(_grams(s.weight_kg) for s in stops)]
    pickup = [0, *(_grams(s.pickup_kg) for s in stops)]
    index = {s.id: i for i, s in enumerate(stops, start=1)}
    pairs = [(i, index[s.transfer_to], pickup[i]) for i, s in enumerate(stops, start=1) if s.transfer_to]
    for p, d, amount in pairs:  # the checks below see a pair's load at both of its stops
        demand[d] = pickup[p] = 0
        pickup[d] = demand[p] = amount
    reasons: dict[int, str] = {}
    for i in range(1, n):
        lo, hi = windows[i]
        if hi < lo or not any(lo <= end and hi >= start for start, end in shifts):
            reasons[i] = REASON_WINDOW
        elif max(demand[i], pickup[i]) > max(capacities):
            reasons[i] = REASON_WEIGHT
        elif not any(
            max(start + drive[0][i], lo) <= hi
            and max(start + drive[0][i], lo) + service[i] + drive[i][0] <= end
            and max(demand[i], pickup[i]) <= cap
            for (start, end), cap in zip(shifts, capacities, strict=True)
        ):
            reasons[i] = REASON_REACH
    for p, d, _ in pairs:  # a pair is served whole or not at all
        if p in reasons or d in reasons:
            reasons[p] = reasons[d] = reasons.get(p) or reasons[d]
    # Dearer than the longest conceivable plan (n + vans arcs, each at most `longest`): a stop the vans can
    # take is always taken.
    longest = max(max(row) for row in cost)
    must = (n + len(vehicles)) * max(longest, 1) + 1
    prizes = [0, *(must if s.prize_km is None else round(s.prize_km * _METRES) for s in stops)]
    problem = RoutingProblem(
        cost=cost,
        travel=drive,
        service=service,
        demand=demand,
        pickup=pickup,
        windows=[(0, 0) if i in reasons else w for i, w in enumerate(windows)],
        capacities=capacities,
        shifts=shifts,
        prizes=prizes,
        pairs=pairs,
        forbidden=frozenset(reasons),
    )
    result = optimise(problem, time_limit_s, seed=seed)
    if not result.found:  # cannot happen with every stop optional; say so rather than pretend
        raise RuntimeError("the solver found no feasible plan although every stop is optional")
    runs: list[VanRun] = []
    for route in result.routes:
        visits = []
        on_board = sum(stops[node - 1].weight_kg for node in route.nodes)
        for node, start in zip(route.nodes, route.starts, strict=True):
            stop = stops[node - 1]
            on_board += _load_change(stops, stop)
            begin = origin + timedelta(seconds=start)
            visits.append(Visit(stop.id, begin, begin + timedelta(minutes=stop.service_minutes), on_board))
        path = [0, *route.nodes, 0]
        runs.append(
            VanRun(
                van_id=vehicles[route.vehicle].id,
                departs=origin + timedelta(seconds=route.depart),
                returns=origin + timedelta(seconds=route.back),
                visits=visits,
                distance_km=sum(m.km[a][b] for a, b in zip(path, path[1:], strict=False)),
                load_kg=sum(stops[node - 1].weight_kg for node in route.nodes),
                pickup_kg=sum(stops[n - 1].pickup_kg for n in route.nodes if not stops[n - 1].transfer_to),
            )
        )
    unserved = [
        Unserved(
            stops[node - 1].id,
            reasons.get(node) or (REASON_PRIZE if stops[node - 1].prize_km is not None else REASON_FLEET),
        )
        for node in result.dropped
    ]
    plan = DeliveryPlan(runs, unserved, sum(r.distance_km for r in runs))
    problems = check_plan(depot, stops, vehicles, plan, m)
    if problems:
        raise RuntimeError(f"the solver's plan breaks the run: {'; '.join(problems[:3])}")
    return plan


def check_plan(
    depot: Depot, stops: Sequence[Stop], vehicles: Sequence[Van], plan: DeliveryPlan, m: Matrix
) -> list[str]:
    """Every way the plan breaks the run (empty: feasible), in plain float arithmetic from the matrix: each
    stop served once or listed unserved, vans known and used once, a transfer collected and dropped by the
    same van in that order or not at all, the load within the payload after every
    stop, each handover starting inside its window no earlier than the van can be there, the van out no
    earlier than its shift start and back by its end, and the reported distances."""
    problems: list[str] = []
    index = {s.id: i for i, s in enumerate(stops, start=1)}
    vans = {v.id: v for v in vehicles}
    seen: set[str] = set()
    for u in plan.unserved:
        if u.stop_id not in index:
            problems.append(f"unserved stop {u.stop_id} is not a stop of the run")
        seen.add(u.stop_id)
    sources = {s.transfer_to: s.id for s in stops if s.transfer_to}  # drop stop -> its pickup stop
    used: set[str] = set()
    for run in plan.runs:
        van = vans.get(run.van_id)
        if van is None or run.van_id in used:
            problems.append(f"van {run.van_id} is unknown or used twice")
            continue
        used.add(run.van_id)
        if run.departs < van.shift_start:
            problems.append(f"van {van.id} leaves at {run.departs}, before its shift starts")
        load = sum(stops[index[v.stop_id] - 1].weight_kg for v in run.visits if v.stop_id in index)
        if load > van.capacity_kg + _EPS:
            problems.append(f"van {van.id} leaves with {load:.3f} kg, over its {van.capacity_kg} kg")
        clock, here, km = run.departs, 0, 0.0
        collected: set[str] = set()
        for visit in run.visits:
            i = index.get(visit.stop_id)
            if i is None or visit.stop_id in seen:
                problems.append(f"stop {visit.stop_id} is unknown or served twice")
                continue
            seen.add(visit.stop_id)
            stop = stops[i - 1]
            km += m.km[here][i]
            earliest = clock + timedelta(seconds=m.seconds[here][i])
            if visit.arrival < earliest - timedelta(seconds=_EPS):
                problems.append(
                    f"van {van.id} is at {stop.id} at {visit.arrival}, before it can be ({earliest})"
                )
            if stop.ready is not None and visit.arrival < stop.ready:
                problems.append(f"van {van.id} starts at {stop.id} before its window opens")
            if stop.due is not None and visit.arrival > stop.due:
                problems.append(f"van {van.id} starts at {stop.id} after its window closes")
            load += _load_change(stops, stop)
            if stop.transfer_to is not None:
                collected.add(stop.id)
            if stop.id in sources and sources[stop.id] not in collected:
                problems.append(f"van {van.id} drops the transfer at {stop.id} without having collected it")
            if load > van.capacity_kg + _EPS:
                problems.append(f"van {van.id} carries {load:.3f} kg after {stop.id}, over its payload")
            clock, here = visit.arrival + timedelta(minutes=stop.service_minutes), i
        km += m.km[here][0]
        back = clock + timedelta(seconds=m.seconds[here][0])
        if run.returns < back - timedelta(seconds=_EPS) or run.returns > van.shift_end:
            problems.append(f"van {van.id} is back at {run.returns}: not possible or after its shift")
        if not math.isclose(km, run.distance_km, rel_tol=1e-9, abs_tol=1e-9):
            problems.append(f"van {van.id} reports {run.distance_km} km, its route is {km} km")
    unserved = {u.stop_id for u in plan.unserved}
    for drop, source in sources.items():
        if (drop in unserved) != (source in unserved):
            problems.append(f"the transfer {source} -> {drop} is served by half")
    missing = sorted(set(index) - seen)
    if missing:
        problems.append(f"stops neither served nor listed unserved: {', '.join(missing[:10])}")
    return problems


def _load_change(stops: Sequence[Stop], stop: Stop) -> float:
    """How the van's load changes at `stop`: + collected, - dropped (at a transfer's drop: its source's)."""
    dropped = stop.weight_kg + sum(s.pickup_kg for s in stops if s.transfer_to == stop.id)
    return stop.pickup_kg - dropped


def _grams(kg: float) -> int:
    return math.ceil(round(kg * _GRAMS, 6))


def _seconds(delta: timedelta) -> int:
    return math.floor(delta.total_seconds())


def _validate(
    depot: Depot,
    stops: Sequence[Stop],
    vehicles: Sequence[Van],
    speed_kmh: float,
    road_factor: float,
    time_limit_s: float,
) -> None:
    _place("depot", depot.lat, depot.lon)
    if not vehicles:
        raise InvalidDeliveryRun("vehicles", "at least one van is needed")
    if not (math.isfinite(speed_kmh) and speed_kmh > 0):
        raise InvalidDeliveryRun("speed_kmh", f"must be a positive number, got {speed_kmh}")
    if not (math.isfinite(road_factor) and road_factor >= 1):
        raise InvalidDeliveryRun(
            "road_factor", f"must be at least 1 (a road is never shorter), got {road_factor}"
        )
    if not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise InvalidDeliveryRun("time_limit_s", f"must be a positive number of seconds, got {time_limit_s}")
    seen: set[str] = set()
    for i, v in enumerate(vehicles):
        where = f"vehicles[{i}]"
        if v.id in seen:
            raise InvalidDeliveryRun(f"{where}.id", f"van {v.id!r} is listed twice")
        seen.add(v.id)
        if not (math.isfinite(v.capacity_kg) and v.capacity_kg > 0):
            raise InvalidDeliveryRun(f"{where}.capacity_kg", f"must be positive, got {v.capacity_kg}")
        _aware(f"{where}.shift_start", v.shift_start)
        _aware(f"{where}.shift_end", v.shift_end)
        if v.shift_end <= v.shift_start:
            raise InvalidDeliveryRun(f"{where}.shift_end", "the shift ends before it starts")
        if v.shift_end - v.shift_start > timedelta(days=7):
            raise InvalidDeliveryRun(f"{where}.shift_end", "a shift longer than a week is not a delivery run")
    seen = {depot.id}
    for i, s in enumerate(stops):
        where = f"stops[{i}]"
        if s.id in seen:
            raise InvalidDeliveryRun(f"{where}.id", f"{s.id!r} is used twice (stop ids and the depot id)")
        seen.add(s.id)
        _place(where, s.lat, s.lon)
        for name, kg in (("weight_kg", s.weight_kg), ("pickup_kg", s.pickup_kg)):
            if not (math.isfinite(kg) and kg >= 0):
                raise InvalidDeliveryRun(f"{where}.{name}", f"must be zero or more, got {kg}")
        if s.transfer_to is not None:
            target = next((x for x in stops if x.id == s.transfer_to), None)
            if target is None or target.id == s.id or target.transfer_to is not None:
                raise InvalidDeliveryRun(
                    f"{where}.transfer_to", "must name another stop that is not a pickup pair"
                )
            if sum(1 for x in stops if x.transfer_to == s.transfer_to) > 1:
                raise InvalidDeliveryRun(
                    f"{where}.transfer_to", f"{s.transfer_to!r} is the drop of two transfers"
                )
            if s.weight_kg or target.weight_kg or target.pickup_kg:
                raise InvalidDeliveryRun(
                    f"{where}.transfer_to", "a transfer's two stops carry only the transfer"
                )
        if s.prize_km is not None and not (math.isfinite(s.prize_km) and s.prize_km >= 0):
            raise InvalidDeliveryRun(f"{where}.prize_km", f"must be zero or more, got {s.prize_km}")
        if not (math.isfinite(s.service_minutes) and 0 <= s.service_minutes <= 24 * 60):
            raise InvalidDeliveryRun(
                f"{where}.service_minutes", f"must be 0 to 1440, got {s.service_minutes}"
            )
        if s.ready is not None:
            _aware(f"{where}.ready", s.ready)
        if s.due is not None:
            _aware(f"{where}.due", s.due)
        if s.ready is not None and s.due is not None and s.due < s.ready:
            raise InvalidDeliveryRun(f"{where}.due", "the window closes before it opens")


def _place(where: str, lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise InvalidDeliveryRun(f"{where}.lat", f"latitude must be within -90..90, got {lat}")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise InvalidDeliveryRun(f"{where}.lon", f"longitude must be within -180..180, got {lon}")


def _aware(where: str, t: datetime) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise InvalidDeliveryRun(where, "times must carry a time zone (UTC)")
