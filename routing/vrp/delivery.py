"""Delivery runs from an overseas warehouse: parcel stops, vans with a payload and a shift, time windows.

Same routing core as the Solomon solver. Distances are geodesic (WGS84, geopy) times a road detour factor;
drive times follow from an average speed. Both are estimates a site can set per call. The plan serves as many
stops as it can (a stop it cannot serve costs more than any saving in distance) and says which it left out,
then minimises road kilometres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from geopy.distance import geodesic

from routing.vrp.core import TUNED, RoutingProblem, SearchPlan, optimise

# Estimates, not published figures: urban/suburban parcel vans average 25-35 km/h door to door, and road
# distance runs 1.2-1.4 times the great-circle distance in European cities (detour index).
DEFAULT_SPEED_KMH = 30.0
DEFAULT_ROAD_FACTOR = 1.3
_GRAMS = 1000  # loads go to the solver in whole grams
_METRES = 1000  # road distance goes to the solver in whole metres


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
    """A delivery address; `ready`/`due` bound when the driver may *start* handing over (UTC, tz-aware)."""

    id: str
    lat: float
    lon: float
    weight_kg: float
    ready: datetime | None = None
    due: datetime | None = None
    service_minutes: float = 3.0


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


@dataclass(frozen=True, slots=True)
class VanRun:
    van_id: str
    departs: datetime
    returns: datetime
    visits: list[Visit]
    distance_km: float
    load_kg: float


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    runs: list[VanRun]
    unserved: list[str]
    distance_km: float


def plan_delivery_run(
    depot: Depot,
    stops: Sequence[Stop],
    vehicles: Sequence[Van],
    *,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    road_factor: float = DEFAULT_ROAD_FACTOR,
    time_limit_s: float = 2.0,
    plan: SearchPlan = TUNED,
) -> DeliveryPlan:
    """Assign stops to vans and order them: serve as many stops as possible, then the fewest road km."""
    _validate(depot, stops, vehicles, speed_kmh, road_factor, time_limit_s)
    if not stops:
        return DeliveryPlan([], [], 0.0)
    origin = min(v.shift_start for v in vehicles)
    horizon = _seconds(max(v.shift_end for v in vehicles) - origin)
    points = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in stops)]
    n = len(points)
    road_km = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            road_km[i][j] = road_km[j][i] = geodesic(points[i], points[j]).km * road_factor
    cost = [[round(km * _METRES) for km in row] for row in road_km]
    travel = [[math.ceil(round(km / speed_kmh * 3600, 6)) for km in row] for row in road_km]

    def window(s: Stop) -> tuple[int, int]:
        lo = 0 if s.ready is None else max(0, math.ceil((s.ready - origin).total_seconds()))
        hi = horizon if s.due is None else min(horizon, math.floor((s.due - origin).total_seconds()))
        return lo, hi

    windows = [(0, horizon), *(window(s) for s in stops)]
    unreachable = {i for i, (lo, hi) in enumerate(windows) if hi < lo}
    # A window entirely outside every shift cannot be served: keep it out of the model, report it unserved.
    windows = [(0, 0) if i in unreachable else w for i, w in enumerate(windows)]
    longest = max(max(row) for row in cost)
    problem = RoutingProblem(
        cost=cost,
        travel=travel,
        service=[0, *(math.ceil(s.service_minutes * 60) for s in stops)],
        demand=[0, *(math.ceil(round(s.weight_kg * _GRAMS, 6)) for s in stops)],
        windows=windows,
        capacities=[math.floor(round(v.capacity_kg * _GRAMS, 6)) for v in vehicles],
        shifts=[(_seconds(v.shift_start - origin), _seconds(v.shift_end - origin)) for v in vehicles],
        # Dearer than the longest conceivable plan (n + vans arcs, each at most `longest`).
        drop_penalty=(n + len(vehicles)) * max(longest, 1) + 1,
        forbidden=frozenset(unreachable),
    )
    result = optimise(problem, time_limit_s, plan)
    if not result.found:
        return DeliveryPlan([], [s.id for s in stops], 0.0)
    runs: list[VanRun] = []
    for route in result.routes:
        visits = []
        for node, start in zip(route.nodes, route.starts, strict=True):
            stop = stops[node - 1]
            begin = origin + timedelta(seconds=start)
            visits.append(Visit(stop.id, begin, begin + timedelta(minutes=stop.service_minutes)))
        path = [0, *route.nodes, 0]
        km = sum(road_km[a][b] for a, b in zip(path, path[1:], strict=False))
        runs.append(
            VanRun(
                van_id=vehicles[route.vehicle].id,
                departs=origin + timedelta(seconds=route.depart),
                returns=origin + timedelta(seconds=route.back),
                visits=visits,
                distance_km=km,
                load_kg=sum(stops[node - 1].weight_kg for node in route.nodes),
            )
        )
    unserved = [stops[node - 1].id for node in result.dropped]
    return DeliveryPlan(runs, unserved, sum(r.distance_km for r in runs))


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
        if not (math.isfinite(s.weight_kg) and s.weight_kg >= 0):
            raise InvalidDeliveryRun(f"{where}.weight_kg", f"must be zero or more, got {s.weight_kg}")
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
