"""The motion model: where a tracker is at service time t along an itinerary's stops.

Pure functions. A tracker waits at the origin until its planned departure, moves along the great circle
between consecutive stops at the constant speed that meets the planned times, dwells at each stop between
planned arrival and departure, and stays at the final stop after arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from iot_sim.geo import haversine_km, interpolate


@dataclass(frozen=True)
class Stop:
    node_id: str
    name: str
    lat: float
    lon: float
    role: str
    arrival: datetime
    departure: datetime


@dataclass(frozen=True)
class Fix:
    """A true position (no GPS noise) and what the tracker is doing there."""

    lat: float
    lon: float
    speed_kmh: float
    stop_index: int | None  # the stop it dwells at, None while moving
    next_stop: int  # the stop it is heading for (or dwelling at)

    @property
    def moving(self) -> bool:
        return self.stop_index is None


def parse_time(value: str) -> datetime:
    """An RFC 3339 timestamp as a tz-aware UTC datetime (naive values taken as UTC)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def build_stops(raw: Iterable[Mapping[str, Any]]) -> list[Stop]:
    """Stops from the wire shape of `itinerary.stops`, with times made consistent.

    The origin may lack a planned arrival and the destination a planned departure; a stop missing one of
    the two dwells for zero time. Times are clamped so that they never run backwards along the route.
    """
    stops: list[Stop] = []
    last: datetime | None = None
    for i, s in enumerate(raw):
        try:
            lat, lon = float(s["lat"]), float(s["lon"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"stop {i} has no usable lat/lon") from exc
        arr = parse_time(s["planned_arrival"]) if s.get("planned_arrival") else None
        dep = parse_time(s["planned_departure"]) if s.get("planned_departure") else None
        if arr is None and dep is None:
            if last is None:
                raise ValueError(f"stop {i} has neither a planned arrival nor a planned departure")
            arr = dep = last
        arr = arr or dep
        dep = dep or arr
        assert arr is not None and dep is not None
        if last is not None and arr < last:
            arr = last
        dep = max(dep, arr)
        last = dep
        node_id = str(s.get("node_id") or s.get("id") or f"stop-{i}")
        stops.append(
            Stop(node_id, str(s.get("name") or node_id), lat, lon, str(s.get("role") or "hub"), arr, dep)
        )
    if not stops:
        raise ValueError("the itinerary has no stops")
    return stops


def stops_from_legs(legs: Sequence[Mapping[str, Any]], nodes: Mapping[str, Mapping[str, Any]]) -> list[Stop]:
    """Stops derived from legs and the network's nodes, for an itinerary that lists no stops."""
    if not legs:
        raise ValueError("the itinerary has no legs")
    raw: list[dict[str, Any]] = []
    for i, leg in enumerate(legs):
        origin = nodes.get(str(leg["origin"]))
        if origin is None:
            raise ValueError(f"unknown node {leg['origin']!r}")
        if i == 0:
            raw.append({**origin, "role": "origin", "planned_departure": leg["departure"]})
        else:
            raw[-1]["planned_departure"] = leg["departure"]
        dest = nodes.get(str(leg["destination"]))
        if dest is None:
            raise ValueError(f"unknown node {leg['destination']!r}")
        role = "destination" if i == len(legs) - 1 else "hub"
        raw.append({**dest, "role": role, "planned_arrival": leg["arrival"]})
    return build_stops(raw)


def position_at(stops: Sequence[Stop], t: datetime) -> Fix:
    """Where the tracker is at service time `t`."""
    if not stops:
        raise ValueError("no stops")
    first = stops[0]
    if t <= first.departure:
        return Fix(first.lat, first.lon, 0.0, 0, 0)
    for i in range(1, len(stops)):
        prev, stop = stops[i - 1], stops[i]
        if t < stop.arrival:
            span = (stop.arrival - prev.departure).total_seconds()
            fraction = (t - prev.departure).total_seconds() / span if span > 0 else 1.0
            lat, lon = interpolate(prev.lat, prev.lon, stop.lat, stop.lon, fraction)
            km = haversine_km(prev.lat, prev.lon, stop.lat, stop.lon)
            speed = km / (span / 3600.0) if span > 0 else 0.0
            return Fix(lat, lon, speed, None, i)
        if t <= stop.departure:
            return Fix(stop.lat, stop.lon, 0.0, i, i)
    last = stops[-1]
    return Fix(last.lat, last.lon, 0.0, len(stops) - 1, len(stops) - 1)


def journey_over(stops: Sequence[Stop], t: datetime) -> bool:
    """True once the tracker has arrived at the final stop."""
    return t >= stops[-1].arrival
