"""The service clock as the simulator sees it: `GET /healthz` says what time it is and how fast time runs.

service now = the last reported `now` + (real seconds since that report) x `clock_speed`
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta


class ServiceClock:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._at: datetime | None = None
        self._t0 = 0.0
        self.speed = 1.0

    @property
    def synced(self) -> bool:
        return self._at is not None

    def sync(self, service_now: datetime, speed: float, latency_s: float = 0.0) -> None:
        """Follow a fresh report; `latency_s` is the real round-trip time, half of which had passed."""
        if service_now.tzinfo is None:
            raise ValueError("the service clock must be timezone-aware")
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._at = service_now + timedelta(seconds=latency_s / 2.0 * speed)
        self._t0 = self._monotonic()

    def now(self) -> datetime:
        if self._at is None:
            raise RuntimeError("the service clock has not been synced yet")
        return self._at + timedelta(seconds=(self._monotonic() - self._t0) * self.speed)

    def real_seconds_until(self, t: datetime) -> float:
        """Real seconds to wait until service time `t` (0 when it has passed)."""
        return max(0.0, (t - self.now()).total_seconds() / self.speed)
