"""Disruptions applied to a timetable: suspensions, delays at a node or on a corridor, closures.

`apply(network, timetable, disruptions)` returns a new Timetable; the old one is untouched. Departure ids do
not change, so bookings keep pointing at the same departures and can be checked with `itinerary_impact`.

    Suspend(service_id | departure_id)       the departures are not taken (status "suspended")
    CloseCorridor(corridor | node)           every departure on a corridor, or touching a node
    Delay(hours, node | corridor | service)  border congestion (Malaszewicze), lock waits (Three Gorges): the
                                             arrival (and, at the origin node, the departure) moves later
Each has an optional window [start, end) on the departure time; open ends mean "from now on" / "until lifted".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from routing.errors import InvalidRequest
from routing.network_model import Network
from routing.timetable import Departure, Timetable


@dataclass(frozen=True)
class Window:
    start: datetime | None = None
    end: datetime | None = None

    def covers(self, t: datetime) -> bool:
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)


@dataclass(frozen=True)
class Suspend:
    """Suspend a whole service (within the window) or one departure."""

    reason: str
    service_id: str | None = None
    departure_id: str | None = None
    window: Window = Window()


@dataclass(frozen=True)
class CloseCorridor:
    """Close a corridor (case-insensitive match on the corridor name, or a part of it) or a node."""

    reason: str
    corridor: str | None = None
    node: str | None = None
    window: Window = Window()


@dataclass(frozen=True)
class Delay:
    """Add `hours` to departures at a node (origin: departs later; via or destination: arrives later),
    on a corridor, or of one service."""

    hours: float
    reason: str
    node: str | None = None
    corridor: str | None = None
    service_id: str | None = None
    window: Window = Window()


Disruption = Suspend | CloseCorridor | Delay


def validate(network: Network, disruptions: Iterable[Disruption]) -> None:
    """InvalidRequest for a disruption that names nothing in the network or has an impossible figure."""
    for d in disruptions:
        w = d.window
        for t in (w.start, w.end):
            if t is not None and t.tzinfo is None:
                raise InvalidRequest("disruption windows need timezone-aware times (UTC)")
        if w.start is not None and w.end is not None and w.end <= w.start:
            raise InvalidRequest("a disruption window must end after it starts")
        if not d.reason.strip():
            raise InvalidRequest("a disruption needs a reason (it is shown to the affected shippers)")
        if isinstance(d, Suspend):
            if (d.service_id is None) == (d.departure_id is None):
                raise InvalidRequest("suspend either a service_id or a departure_id")
            if d.service_id is not None and d.service_id not in network.services:
                raise InvalidRequest(f"no service {d.service_id!r}")
        elif isinstance(d, CloseCorridor):
            if (d.corridor is None) == (d.node is None):
                raise InvalidRequest("close either a corridor or a node")
            if d.node is not None and d.node not in network.nodes:
                raise InvalidRequest(f"no node {d.node!r}")
            if d.corridor is not None and not any(
                d.corridor.lower() in s.corridor.lower() for s in network.services.values()
            ):
                raise InvalidRequest(f"no corridor matches {d.corridor!r}")
        else:
            if not (0 < d.hours <= 24 * 60):
                raise InvalidRequest(f"a delay must be between 0 and 1440 hours, not {d.hours}")
            if sum(x is not None for x in (d.node, d.corridor, d.service_id)) != 1:
                raise InvalidRequest("delay exactly one of: a node, a corridor, a service")
            if d.node is not None and d.node not in network.nodes:
                raise InvalidRequest(f"no node {d.node!r}")
            if d.service_id is not None and d.service_id not in network.services:
                raise InvalidRequest(f"no service {d.service_id!r}")


def apply(network: Network, timetable: Timetable, disruptions: Sequence[Disruption]) -> Timetable:
    """The timetable with the disruptions applied (in order); departure ids are unchanged."""
    validate(network, disruptions)
    out: list[Departure] = []
    for dep in timetable.departures:
        svc = network.services.get(dep.service_id)
        stops = (dep.origin, *(svc.via if svc else ()), dep.destination)
        corridor = dep.corridor.lower()
        for d in disruptions:
            if not d.window.covers(dep.departure):
                continue
            if isinstance(d, Suspend):
                if d.departure_id == dep.id or d.service_id == dep.service_id:
                    dep = _suspend(dep, d.reason)
            elif isinstance(d, CloseCorridor):
                if (d.corridor is not None and d.corridor.lower() in corridor) or (
                    d.node is not None and d.node in stops
                ):
                    dep = _suspend(dep, d.reason)
            else:
                hit = (
                    (d.service_id is not None and d.service_id == dep.service_id)
                    or (d.corridor is not None and d.corridor.lower() in corridor)
                    or (d.node is not None and d.node in stops)
                )
                if hit:
                    shift = timedelta(hours=d.hours)
                    at_origin = d.node is not None and d.node == dep.origin
                    dep = replace(
                        dep,
                        departure=dep.departure + shift if at_origin else dep.departure,
                        arrival=dep.arrival + shift,
                        delay_hours=dep.delay_hours + d.hours,
                        note=_join(dep.note, f"+{d.hours:g} h: {d.reason}"),
                    )
        out.append(dep)
    return timetable.replace(out)


def _suspend(dep: Departure, reason: str) -> Departure:
    return replace(dep, status="suspended", note=_join(dep.note, f"suspended: {reason}"))


def _join(a: str | None, b: str) -> str:
    return b if not a else f"{a}; {b}"


@dataclass(frozen=True)
class Impact:
    """How a disruption hits one booked itinerary."""

    departure_id: str
    kind: str  # suspended | delayed | connection_missed
    detail: str


def itinerary_impact(
    network: Network,
    departure_ids: Sequence[str],
    before: Timetable,
    after: Timetable,
    now: datetime,
) -> list[Impact]:
    """What changed for an itinerary (its departures in order) that has not yet passed the disrupted point.

    A leg that has already departed (suspension) or arrived (delay) at `now` is past the point and ignored.
    A delay that makes the cargo miss the next booked departure's cut-off is reported as connection_missed.
    """
    impacts: list[Impact] = []
    prev_after: Departure | None = None
    for dep_id in departure_ids:
        old = before.get(dep_id)
        new = after.get(dep_id) if dep_id in after else None
        if new is None:
            if old.departure > now:
                impacts.append(Impact(dep_id, "suspended", "the departure is no longer in the timetable"))
            prev_after = None
            continue
        if new.status == "suspended" and old.status != "suspended" and old.departure > now:
            impacts.append(Impact(dep_id, "suspended", new.note or "suspended"))
        elif new.arrival > old.arrival and old.arrival > now:
            hours = (new.arrival - old.arrival).total_seconds() / 3600
            impacts.append(
                Impact(dep_id, "delayed", f"arrives {hours:g} h later: {new.note or ''}".rstrip(": "))
            )
        if prev_after is not None and new.departure > now:
            ready = prev_after.arrival + timedelta(
                hours=network.planning.handling_in(prev_after.destination, prev_after.mode)
            )
            if ready > new.cutoff:
                impacts.append(
                    Impact(
                        dep_id,
                        "connection_missed",
                        f"the cargo is ready at {prev_after.destination} at {ready:%Y-%m-%dT%H:%MZ}, "
                        f"after the cut-off {new.cutoff:%Y-%m-%dT%H:%MZ}",
                    )
                )
        prev_after = new
    return impacts
