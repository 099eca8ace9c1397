"""The plan a waybill is tracked against: its stops in itinerary order, each with a geofence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from kernel.errors import InvalidInput

ROLES = ("origin", "hub", "border", "destination", "warehouse")
MODES = ("rail", "sea", "river", "air", "road")


@dataclass(frozen=True, slots=True)
class Stop:
    node_id: str
    name: str
    lat: float
    lon: float
    role: str  # origin | hub | border | destination | warehouse
    radius_km: float  # enter radius; the exit radius is larger (hysteresis, see TrackingRules)
    planned_arrival: datetime | None = None
    planned_departure: datetime | None = None
    mode_in: str | None = None
    mode_out: str | None = None
    # Customs clearance happens here (CUSS on arrival, CUSR on departure). None: only at border crossings.
    customs: bool | None = None
    _cos_lat: float = field(default=0.0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems: list[dict[str, str]] = []
        if self.role not in ROLES:
            problems.append({"field": "role", "message": f"must be one of {', '.join(ROLES)}"})
        if not (math.isfinite(self.radius_km) and self.radius_km > 0):
            problems.append({"field": "radius_km", "message": "must be a positive number of km"})
        if not (math.isfinite(self.lat) and -90 <= self.lat <= 90):
            problems.append({"field": "lat", "message": "must be between -90 and 90"})
        if not (math.isfinite(self.lon) and -180 <= self.lon <= 180):
            problems.append({"field": "lon", "message": "must be between -180 and 180"})
        for name in ("mode_in", "mode_out"):
            mode = getattr(self, name)
            if mode is not None and mode not in MODES:
                problems.append({"field": name, "message": f"must be one of {', '.join(MODES)}"})
        for name in ("planned_arrival", "planned_departure"):
            when = getattr(self, name)
            if when is not None and when.tzinfo is None:
                problems.append({"field": name, "message": "must be timezone-aware"})
        if (
            self.planned_arrival is not None
            and self.planned_departure is not None
            and self.planned_departure < self.planned_arrival
        ):
            problems.append({"field": "planned_departure", "message": "is before the planned arrival"})
        if problems:
            raise InvalidInput(f"stop {self.node_id!r} is not a valid geofence", errors=problems)
        object.__setattr__(self, "_cos_lat", math.cos(math.radians(self.lat)))

    @property
    def clears_customs(self) -> bool:
        return self.role == "border" if self.customs is None else self.customs

    @property
    def mode_change(self) -> bool:
        return self.mode_in is not None and self.mode_out is not None and self.mode_in != self.mode_out


@dataclass(frozen=True, slots=True)
class TrackPlan:
    waybill_no: str
    stops: tuple[Stop, ...]
    deliver_by: datetime | None = None
    temperature: tuple[float, float] | None = None  # cargo range in degrees C (reefer); None = not monitored
    customs_mode: str = "9810"
    _leg_km: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)
    _start: datetime | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.stops) < 2:
            raise InvalidInput(f"waybill {self.waybill_no}: a track plan needs at least two stops")
        if self.temperature is not None and not self.temperature[0] <= self.temperature[1]:
            raise InvalidInput(f"waybill {self.waybill_no}: temperature range low is above high")
        planned = [t for s in self.stops for t in (s.planned_arrival, s.planned_departure) if t is not None]
        if any(b < a for a, b in zip(planned, planned[1:], strict=False)):
            raise InvalidInput(f"waybill {self.waybill_no}: planned stop times are not in itinerary order")
        legs = [0.0] + [_km(a, b) for a, b in zip(self.stops, self.stops[1:], strict=False)]
        object.__setattr__(self, "_leg_km", tuple(legs))
        object.__setattr__(self, "_start", planned[0] if planned else None)

    @property
    def leg_km(self) -> tuple[float, ...]:
        """Great-circle km from stops[k-1] to stops[k] at index k (0.0 at index 0)."""
        return self._leg_km

    @property
    def planned_start(self) -> datetime | None:
        """The earliest planned time of any stop."""
        return self._start

    @property
    def final(self) -> Stop:
        return self.stops[-1]


def _km(a: Stop, b: Stop) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dlon = math.radians(b.lon - a.lon)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))
