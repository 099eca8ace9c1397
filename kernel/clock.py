"""The clock port. Everything time-based reads `Clock.now()`, never `datetime.now()`.

`ScaledClock` runs `speed` times faster than real time from `start`, so a demo or a test can watch a
three-week rail journey in a minute (`XB_CLOCK_SPEED`, `XB_CLOCK_START`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep_seconds(self, service_seconds: float) -> float:
        """Real seconds that correspond to `service_seconds` of service time."""
        ...


class ScaledClock:
    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def sleep_seconds(self, service_seconds: float) -> float:
        return service_seconds / self.speed


class FixedClock:
    """A clock that moves only when told to; for tests."""

    def __init__(self, at: datetime) -> None:
        self._now = at.astimezone(UTC)
        self.speed = 1.0

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, at: datetime) -> None:
        self._now = at.astimezone(UTC)

    def sleep_seconds(self, service_seconds: float) -> float:
        return 0.0


def utc(dt: datetime) -> datetime:
    """Timezone-aware UTC; naive values (as SQLite returns them) are taken as UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_time(text: str) -> datetime:
    """An RFC 3339 / ISO 8601 time as stored in JSON documents (`Z` or an offset), as aware UTC."""
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def rfc3339(dt: datetime, *, exact: bool = False) -> str:
    """UTC with a `Z`, to the second: every time in an answer reads the same (an ETA computed from the clock
    has microseconds no one can use). `exact=True` keeps them, for what must round-trip: keyset cursors and
    version stamps compared with stored times."""
    dt = utc(dt)
    if not exact:
        dt = dt.replace(microsecond=0)
    return dt.isoformat().replace("+00:00", "Z")
