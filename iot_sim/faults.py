"""Fault injectors: pure, seeded transformations of one device's stream of emissions.

An `Emission` is what a device sends in one MQTT publish: one reading (a JSON object) or a backlog (a JSON
array, newest first), on some device's telemetry topic, sent by some device's client. Each injector takes
emissions in and gives zero or more out (`feed`), and hands back what it still holds at the end (`flush`).
Value faults alter readings (skew, jump, zero, battery, reefer, door, shock); delivery faults change what is
published when (dup, reorder, gap) or by whom (spoof). Each injector owns a `random.Random`, so a stream is
the same for the same seed. Episodes (gap, reefer) are measured in event time (the readings' `ts`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from iot_sim.geo import destination
from iot_sim.readings import Reading

GPS_WEEK_ROLLOVER = timedelta(weeks=1024)


@dataclass(frozen=True)
class Emission:
    device_id: str  # the id in the topic
    readings: tuple[Reading, ...]
    publisher: str  # the device whose client (and credentials) sends it
    batch: bool = False  # a JSON array (a backlog upload) rather than one object

    @classmethod
    def single(cls, device_id: str, reading: Reading) -> Emission:
        return cls(device_id, (reading,), device_id)

    @property
    def topic(self) -> str:
        return telemetry_topic(self.device_id)

    @property
    def spoofed(self) -> bool:
        return self.publisher != self.device_id

    def payload(self) -> bytes:
        if self.batch:
            return json.dumps([r.to_wire() for r in self.readings], separators=(",", ":")).encode()
        return json.dumps(self.readings[0].to_wire(), separators=(",", ":")).encode()

    def map(self, fn: Callable[[Reading], Reading]) -> Emission:
        return Emission(self.device_id, tuple(fn(r) for r in self.readings), self.publisher, self.batch)


def telemetry_topic(device_id: str) -> str:
    return f"xborder/v1/devices/{device_id}/telemetry"


def status_topic(device_id: str) -> str:
    return f"xborder/v1/devices/{device_id}/status"


@dataclass
class Injector:
    """Base: passes everything through. `rate` is the chance per reading that an episode starts."""

    rng: random.Random
    rate: float
    fired: int = field(default=0, kw_only=True)  # how many episodes it started

    name = "none"

    def feed(self, e: Emission) -> list[Emission]:
        return [e]

    def flush(self) -> list[Emission]:
        return []

    def _trigger(self) -> bool:
        hit = self.rng.random() < self.rate
        self.fired += hit
        return hit


class _ReadingFault(Injector):
    """A value fault: rewrites readings one by one."""

    def feed(self, e: Emission) -> list[Emission]:
        return [e.map(self.alter)]

    def alter(self, r: Reading) -> Reading:
        return r


class Skew(_ReadingFault):
    """A device clock gone wrong for one reading: days in the future (an RTC reset), or back 1024 weeks
    (GPS week rollover). Days, not minutes: on a clock running 30,000x faster than real time, a reading a
    few hours ahead is no longer in the future by the time the ingest sees it."""

    name = "skew"
    _rollover_next: bool = False

    def alter(self, r: Reading) -> Reading:
        if not self._trigger():
            return r
        self._rollover_next = not self._rollover_next
        if self._rollover_next:
            return r.with_(ts=r.ts + timedelta(days=self.rng.uniform(2.0, 30.0)))
        return r.with_(ts=r.ts - GPS_WEEK_ROLLOVER)


class Jump(_ReadingFault):
    """A wild GPS fix hundreds of km off that still claims good accuracy."""

    name = "jump"

    def alter(self, r: Reading) -> Reading:
        if not self._trigger():
            return r
        lat, lon = destination(r.lat, r.lon, self.rng.uniform(0, 360), self.rng.uniform(150.0, 800.0))
        return r.with_(lat=lat, lon=lon)


class Zero(_ReadingFault):
    """A fix at 0,0 (no satellite lock reported as a position)."""

    name = "zero"

    def alter(self, r: Reading) -> Reading:
        return r.with_(lat=0.0, lon=0.0) if self._trigger() else r


class Shock(_ReadingFault):
    """A hard impact (a dropped container)."""

    name = "shock"

    def alter(self, r: Reading) -> Reading:
        return r.with_(shock_g=self.rng.uniform(4.0, 9.0)) if self._trigger() else r


@dataclass
class Battery(_ReadingFault):
    """The battery fails: from the trigger on it reports under 10 % and keeps sinking."""

    name = "battery"
    _since: Reading | None = None

    def alter(self, r: Reading) -> Reading:
        if self._since is None and self._trigger():
            self._since = r
        if self._since is None:
            return r
        hours = max(0.0, (r.ts - self._since.ts).total_seconds() / 3600.0)
        return r.with_(battery_pct=float(max(1, int(9 - hours / 6.0))))


@dataclass
class Reefer(_ReadingFault):
    """A reefer excursion: the probe reads 6-10 degC above its course for `hours` of event time."""

    name = "reefer"
    hours: float = 3.0
    _until: Reading | None = None
    _excess: float = 0.0

    def alter(self, r: Reading) -> Reading:
        if r.temp_c is None:
            return r
        if self._until is not None and r.ts < self._until.ts:
            return r.with_(temp_c=r.temp_c + self._excess)
        self._until = None
        if self._trigger():
            self._excess = self.rng.uniform(6.0, 10.0)
            self._until = r.with_(ts=r.ts + timedelta(hours=self.hours))
            return r.with_(temp_c=r.temp_c + self._excess)
        return r


@dataclass
class Door(_ReadingFault):
    """The door opens while the cargo is on the move (outside any facility) for one or two readings."""

    name = "door"
    _left: int = 0

    def alter(self, r: Reading) -> Reading:
        if self._left > 0:
            self._left -= 1
            return r.with_(door_open=True)
        if (r.speed_kmh or 0.0) > 0.0 and self._trigger():
            self._left = self.rng.randint(0, 1)
            return r.with_(door_open=True)
        return r


@dataclass
class Spoof(Injector):
    """Besides its own reading, the device publishes a copy under another device's id (with its own
    client and credentials: a broker ACL should refuse it, the ingest must not believe it)."""

    name = "spoof"
    victims: Callable[[], Sequence[str]] = tuple

    def feed(self, e: Emission) -> list[Emission]:
        others = sorted(v for v in self.victims() if v != e.publisher)
        if not others or not self._trigger():
            return [e]
        victim = self.rng.choice(others)
        return [e, Emission(victim, e.readings, e.publisher, e.batch)]


@dataclass
class Gap(Injector):
    """Out of coverage for `hours` of event time: readings are kept, then uploaded as one JSON array,
    newest first, before the device carries on live."""

    name = "gap"
    hours: float = 6.0
    _held: list[Reading] = field(default_factory=list)
    _device: str | None = None

    def feed(self, e: Emission) -> list[Emission]:
        if e.spoofed:
            return [e]
        if not self._held:
            if self._trigger():
                self._device = e.device_id
                self._held.extend(e.readings)
                return []
            return [e]
        if (e.readings[-1].ts - self._held[0].ts) < timedelta(hours=self.hours):
            self._held.extend(e.readings)
            return []
        return [*self.flush(), e]

    def flush(self) -> list[Emission]:
        if not self._held or self._device is None:
            return []
        backlog = tuple(sorted(self._held, key=lambda r: r.seq, reverse=True))
        self._held = []
        return [Emission(self._device, backlog, self._device, batch=True)]


@dataclass
class Reorder(Injector):
    """Out-of-order delivery: a publish is held back and sent after the next one."""

    name = "reorder"
    _held: Emission | None = None

    def feed(self, e: Emission) -> list[Emission]:
        if self._held is not None:
            held, self._held = self._held, None
            return [e, held]
        if self._trigger():
            self._held = e
            return []
        return [e]

    def flush(self) -> list[Emission]:
        held, self._held = self._held, None
        return [held] if held is not None else []


class Duplicate(Injector):
    """A redelivery: the same publish (same seq) sent twice."""

    name = "dup"

    def feed(self, e: Emission) -> list[Emission]:
        return [e, e] if self._trigger() else [e]


# The order the chain applies them in: value faults first, then who publishes, then when.
FAULTS: dict[str, type[Injector]] = {
    "battery": Battery,
    "reefer": Reefer,
    "door": Door,
    "shock": Shock,
    "skew": Skew,
    "jump": Jump,
    "zero": Zero,
    "spoof": Spoof,
    "gap": Gap,
    "reorder": Reorder,
    "dup": Duplicate,
}

# Chance per reading that an episode starts (before `--fault-rate` scales it).
DEFAULT_RATES: dict[str, float] = {
    "battery": 0.002,
    "reefer": 0.01,
    "door": 0.01,
    "shock": 0.01,
    "skew": 0.02,
    "jump": 0.02,
    "zero": 0.02,
    "spoof": 0.01,
    "gap": 0.005,
    "reorder": 0.03,
    "dup": 0.05,
}


def parse_faults(text: str | None) -> tuple[str, ...]:
    """`"dup,gap"` -> ("dup", "gap"); `"all"` names every fault; unknown names raise ValueError."""
    return tuple(parse_fault_rates(text))


def parse_fault_rates(text: str | None) -> dict[str, float | None]:
    """`"dup,gap=0.05"` -> {"gap": 0.05, "dup": None}: the faults asked for, each with the chance per reading
    given after `=` (None: its default), in the canonical order; `all` names every fault."""
    if not text:
        return {}
    asked: dict[str, float | None] = {}
    for item in (i.strip().lower() for i in text.split(",")):
        if not item:
            continue
        name, _, rate_text = item.partition("=")
        name = name.strip()
        rate: float | None = None
        if rate_text:
            try:
                rate = float(rate_text)
            except ValueError:
                raise ValueError(f"fault {name}: rate {rate_text!r} is not a number") from None
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault {name}: rate must be between 0 and 1 (a chance per reading)")
        if name == "all":
            asked.update({n: rate for n in FAULTS if n not in asked})
            continue
        asked[name] = rate
    unknown = sorted(set(asked) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    return {n: asked[n] for n in FAULTS if n in asked}


def build_chain(
    names: Iterable[str],
    device_id: str,
    seed: int,
    *,
    rate_scale: float = 1.0,
    rates: dict[str, float] | None = None,
    victims: Callable[[], Sequence[str]] = tuple,
    gap_hours: float = 6.0,
) -> list[Injector]:
    """The injectors for one device, in the canonical order, each with its own seeded generator."""
    chosen = set(names)
    chain: list[Injector] = []
    for name, cls in FAULTS.items():
        if name not in chosen:
            continue
        rate = min(1.0, (rates or DEFAULT_RATES).get(name, DEFAULT_RATES[name]) * rate_scale)
        rng = random.Random(f"{seed}/{device_id}/{name}")
        if cls is Spoof:
            chain.append(Spoof(rng, rate, victims=victims))
        elif cls is Gap:
            chain.append(Gap(rng, rate, hours=gap_hours))
        else:
            chain.append(cls(rng, rate))
    return chain


def feed_chain(chain: Sequence[Injector], e: Emission) -> list[Emission]:
    """Pass one emission through every injector in turn."""
    items = [e]
    for injector in chain:
        items = [out for item in items for out in injector.feed(item)]
    return items


def flush_chain(chain: Sequence[Injector]) -> list[Emission]:
    """Everything the chain still holds, in order: each injector's leftovers go through those after it,
    which are flushed in their turn."""
    out: list[Emission] = []
    for i, injector in enumerate(chain):
        items = injector.flush()
        for later in chain[i + 1 :]:
            items = [o for item in items for o in later.feed(item)]
        out.extend(items)
    return out


def inject(chain: Sequence[Injector], emissions: Iterable[Emission]) -> list[Emission]:
    """The whole transformed stream for a finite input (tests, replays)."""
    out: list[Emission] = []
    for e in emissions:
        out.extend(feed_chain(chain, e))
    out.extend(flush_chain(chain))
    return out
