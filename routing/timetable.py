"""Concrete departures: weekly frequencies expanded over a horizon, with stable ids.

Departure times are anchored to a fixed epoch (Monday 2024-01-01 00:00Z), not to the horizon's start, so the
same service departs at the same instants (and keeps the same departure ids) whichever horizon is expanded:
a quote made from one expansion can be booked against another.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from routing.errors import InvalidRequest, UnknownDeparture
from routing.network_model import ESTIMATE, PUBLISHED, Network

ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)
WEEK_S = 7 * 24 * 3600
MAX_WEEKS = 104


@dataclass(frozen=True)
class Departure:
    id: str  # "<service id>@<departure RFC 3339, minutes, Z>"
    service_id: str
    origin: str
    destination: str
    mode: str
    corridor: str
    cutoff: datetime
    departure: datetime
    arrival: datetime
    capacity_teu: float
    capacity_kg: float
    basis: str
    status: str = "scheduled"  # or "suspended"
    delay_hours: float = 0.0  # added by disruptions (already included in `arrival`)
    note: str | None = None


def departure_id(service_id: str, departure: datetime) -> str:
    return f"{service_id}@{departure.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"


def _ts(t: datetime) -> int:
    return int(t.timestamp())


class ServiceRun:
    """One service's departures sorted by cut-off, with integer timestamps for bisecting."""

    __slots__ = ("departures", "cutoffs", "departs", "arrivals", "fifo", "lead_transit")

    def __init__(self, departures: list[Departure]) -> None:
        departures.sort(key=lambda d: (d.cutoff, d.departure, d.id))
        self.departures = tuple(departures)
        # tuples of ints: the cyclic garbage collector stops tracking them (a timetable lives long)
        self.cutoffs = tuple(_ts(d.cutoff) for d in departures)
        self.departs = tuple(_ts(d.departure) for d in departures)
        self.arrivals = tuple(_ts(d.arrival) for d in departures)
        # First in, first out: a later cut-off never arrives earlier (false once delays reorder arrivals).
        self.fifo = all(a <= b for a, b in zip(self.arrivals, self.arrivals[1:], strict=False))
        # The least time from a cut-off to its arrival (s): a departure with cut-off c arrives no earlier than
        # c + lead_transit, whatever delays moved departures or arrivals (a lower bound for the planner).
        self.lead_transit = max(
            0, min((a - c for a, c in zip(self.arrivals, self.cutoffs, strict=True)), default=0)
        )


class Timetable:
    """The departures of a network over [start, end), indexed by id and by service."""

    def __init__(self, departures: Iterable[Departure], start: datetime, end: datetime) -> None:
        self.departures: tuple[Departure, ...] = tuple(sorted(departures, key=lambda d: (d.departure, d.id)))
        self.start = start
        self.end = end
        self._by_id = {d.id: d for d in self.departures}
        if len(self._by_id) != len(self.departures):
            raise InvalidRequest("the timetable has two departures with the same id")
        grouped: dict[str, list[Departure]] = {}
        for d in self.departures:
            grouped.setdefault(d.service_id, []).append(d)
        self._runs = {sid: ServiceRun(ds) for sid, ds in grouped.items()}
        # What planners derive from this timetable and a network (indexes), kept as long as the timetable.
        self.derived: dict[object, object] = {}

    def get(self, departure_id: str) -> Departure:
        try:
            return self._by_id[departure_id]
        except KeyError:
            raise UnknownDeparture(f"no departure {departure_id!r} in the timetable") from None

    def __contains__(self, departure_id: object) -> bool:
        return departure_id in self._by_id

    def __len__(self) -> int:
        return len(self.departures)

    def for_service(self, service_id: str) -> tuple[Departure, ...]:
        run = self._runs.get(service_id)
        return run.departures if run else ()

    def run(self, service_id: str) -> ServiceRun | None:
        return self._runs.get(service_id)

    def replace(self, departures: Iterable[Departure]) -> Timetable:
        return Timetable(departures, self.start, self.end)


def first_index_at_or_after(values: Sequence[int], t: int) -> int:
    return bisect.bisect_left(values, t)


def _phase_seconds(service_id: str, interval_s: int) -> int:
    """A deterministic offset (whole hours) within the interval, so services do not all leave at midnight."""
    digest = int.from_bytes(hashlib.sha256(service_id.encode()).digest()[:8], "big")
    hours = max(1, interval_s // 3600)
    return (digest % hours) * 3600


def expand(network: Network, start: datetime, weeks: int) -> Timetable:
    """Departures of every timetabled service over `weeks` weeks from `start` (road is on demand)."""
    if start.tzinfo is None:
        raise InvalidRequest("the timetable start must carry a timezone (UTC)")
    if not (1 <= weeks <= MAX_WEEKS):
        raise InvalidRequest(f"weeks must be between 1 and {MAX_WEEKS}, not {weeks}")
    start = start.astimezone(UTC)
    end = start + timedelta(weeks=weeks)
    t0, t1 = _ts(start), _ts(end)
    anchor = _ts(ANCHOR)
    out: list[Departure] = []
    for svc in network.services.values():
        if svc.departures_per_week is None:
            continue
        interval = max(3600, round(WEEK_S / svc.departures_per_week / 60) * 60)  # whole minutes
        phase = _phase_seconds(svc.id, interval)
        k = math.ceil((t0 - anchor - phase) / interval)
        cutoff_s = round(network.planning.cutoff(svc.mode, svc.origin) * 3600)
        transit_s = round(svc.transit_hours * 3600)
        freq_basis = next((f.basis for f in svc.provenance if f.name == "departures_per_week"), ESTIMATE)
        basis = PUBLISHED if svc.basis == PUBLISHED and freq_basis == PUBLISHED else ESTIMATE
        while True:
            dep_s = anchor + phase + k * interval
            if dep_s >= t1:
                break
            k += 1
            if dep_s < t0:
                continue
            dep = datetime.fromtimestamp(dep_s, UTC)
            out.append(
                Departure(
                    id=departure_id(svc.id, dep),
                    service_id=svc.id,
                    origin=svc.origin,
                    destination=svc.destination,
                    mode=svc.mode,
                    corridor=svc.corridor,
                    cutoff=datetime.fromtimestamp(dep_s - cutoff_s, UTC),
                    departure=dep,
                    arrival=datetime.fromtimestamp(dep_s + transit_s, UTC),
                    capacity_teu=svc.capacity_teu,
                    capacity_kg=svc.capacity_kg,
                    basis=basis,
                )
            )
    return Timetable(out, start, end)
