"""The tracker's sensor model: one telemetry reading (the contract's payload) per fix. Pure and seeded."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from iot_sim.geo import destination
from iot_sim.motion import Fix, Stop, position_at


@dataclass(frozen=True)
class Reading:
    """One telemetry reading as the contract defines it; only seq, ts, lat and lon are required."""

    seq: int
    ts: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    accuracy_m: float | None = None
    temp_c: float | None = None
    humidity_pct: float | None = None
    shock_g: float | None = None
    door_open: bool | None = None
    battery_pct: float | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object a tracker publishes (absent values left out)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "ts": rfc3339(self.ts),
            "lat": round(self.lat, 6),
            "lon": round(self.lon, 6),
        }
        for name in ("speed_kmh", "accuracy_m", "temp_c", "humidity_pct", "shock_g", "battery_pct"):
            value = getattr(self, name)
            if value is not None:
                out[name] = round(float(value), 1)
        if self.door_open is not None:
            out["door_open"] = self.door_open
        return out

    def with_(self, **changes: Any) -> Reading:
        return replace(self, **changes)


def rfc3339(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class TrackerModel:
    """A tracker riding along `stops`: GPS with small noise, a draining battery, a reefer probe if set.

    `reading_at(t)` consumes the next `seq`; call it with rising service times.
    """

    device_id: str
    stops: Sequence[Stop]
    rng: random.Random
    reefer_setpoint_c: float | None = None
    next_seq: int = 1
    battery_start_pct: float = 100.0
    battery_drain_pct_per_day: float = 1.5
    _born: datetime | None = field(default=None, repr=False)
    _last_stop: int | None = field(default=None, repr=False)

    def reading_at(self, t: datetime) -> Reading:
        fix = position_at(self.stops, t)
        if self._born is None:
            self._born = t
        reading = self._sense(fix, t)
        self.next_seq += 1
        self._last_stop = fix.stop_index
        return reading

    def _sense(self, fix: Fix, t: datetime) -> Reading:
        rng = self.rng
        accuracy = rng.uniform(3.0, 15.0) if fix.moving else rng.uniform(3.0, 9.0)
        # GPS error: a normal offset of about half the reported accuracy, in a random direction.
        error_km = abs(rng.gauss(0.0, accuracy / 2.0)) / 1000.0
        lat, lon = destination(fix.lat, fix.lon, rng.uniform(0.0, 360.0), error_km)
        speed = max(0.0, fix.speed_kmh * (1.0 + rng.gauss(0.0, 0.05))) if fix.moving else 0.0
        arrived_now = fix.stop_index is not None and fix.stop_index != self._last_stop
        if arrived_now and fix.stop_index:
            shock = rng.uniform(0.6, 1.4)  # handling at a hub: lifted, set down
        elif fix.moving:
            shock = abs(rng.gauss(0.2, 0.1))
        else:
            shock = abs(rng.gauss(0.05, 0.03))
        assert self._born is not None
        days = (t - self._born).total_seconds() / 86400.0
        battery = max(1.0, self.battery_start_pct - self.battery_drain_pct_per_day * days)
        temp: float | None = None
        humidity: float
        if self.reefer_setpoint_c is not None:
            temp = self.reefer_setpoint_c + rng.gauss(0.0, 0.3)
            humidity = min(99.0, max(60.0, rng.gauss(85.0, 3.0)))
        else:
            # A slow daily swing of the air in a dry box.
            humidity = 55.0 + 10.0 * math.sin(2 * math.pi * (t.hour / 24.0)) + rng.gauss(0.0, 2.0)
        return Reading(
            seq=self.next_seq,
            ts=t,
            lat=lat,
            lon=lon,
            speed_kmh=speed,
            accuracy_m=accuracy,
            temp_c=temp,
            humidity_pct=humidity,
            shock_g=shock,
            door_open=False,
            battery_pct=float(math.floor(battery)),
        )


def first_due(now: datetime, interval: timedelta) -> datetime:
    """The first reading time at or after `now` on the grid of `interval` (counted from the Unix epoch)."""
    step = interval.total_seconds()
    epoch = now.timestamp()
    aligned = math.ceil(epoch / step) * step
    return datetime.fromtimestamp(aligned, tz=now.tzinfo)
