"""When the cargo owes a declaration: the trigger rules, pure.

    message  when                                                   where
    CEB505   the booking is made (appType 1); cancelled (appType 3)  -
    CEB507   the ACT milestone showing the cargo inside the origin   the first stop, in China: its gate-out
             customs site                                            GTOT (the origin records no arrival:
                                                                     a reading there is no milestone, so
                                                                     the gate-out is the first ACT proof
                                                                     the cargo was inside the site)
    CEB509   the ACT border crossing (CROS) at the exit point, or    the last stop in China before a stop
             its ACT departure (DEPA) where the exit point is a      abroad (Alashankou, Khorgos, Erenhot,
             port or airport rather than a border crossing           Manzhouli, Qinzhou, Mohan, Pingxiang,
                                                                     Chengdu airport, ...)
    CEB511   a 1210 booking into the bonded zone is made (appType 1), -
             re-planned (2), cancelled (3): the import waybill
    CEB513   the ACT arrival (ARRI) at the bonded zone, the import's  the last stop, in China, of a route
             destination: the waybill status "signed for" (S)        that starts abroad

An *inferred* milestone (a stop passed in a gap, timed by interpolation) files nothing: the rule waits for the
milestone to be confirmed by a reading. A milestone a late reading *moved* (the log supersedes it with one at
another time) files a correction (appType 2) of the message filed for the earlier time. Each filing has a
fact key (message type, node, milestone time): the outbox holds it unique, so a fact is filed once however
often the rule runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel.clock import rfc3339


@dataclass(frozen=True)
class CustomsRoute:
    """The customs points of a booked route: where export clearance starts, and where the cargo leaves."""

    origin_site: str | None  # node of the first stop when it is in China
    exit_node: str | None
    exit_milestone: str | None  # CROS at a border crossing, DEPA at a port or airport
    exit_mode: str | None  # the transport mode of the leg leaving the exit point
    exit_service: str | None  # the booked service of that leg
    import_site: str | None = None  # the last stop of a route from abroad into China (a 1210 import)


@dataclass(frozen=True)
class ActMilestone:
    code: str
    node_id: str | None
    time: datetime
    inferred: bool


@dataclass(frozen=True)
class Due:
    """A filing the milestones call for."""

    type: str  # CEB507 | CEB509 | CEB513
    node_id: str
    milestone: str
    time: datetime
    app_type: str  # 1 new, 2 correction
    fact_key: str


def customs_route(itinerary: Mapping[str, Any], country_of: Callable[[str], str | None]) -> CustomsRoute:
    """The origin customs site and the exit point of an itinerary (None where the route has none)."""
    stops: Sequence[Mapping[str, Any]] = itinerary["stops"]
    origin = stops[0]["node_id"] if country_of(stops[0]["node_id"]) == "CN" else None
    last = stops[-1]["node_id"]
    inbound = last if origin is None and country_of(last) == "CN" else None
    for here, there in zip(stops, stops[1:], strict=False):
        if country_of(here["node_id"]) == "CN" and country_of(there["node_id"]) != "CN":
            leg = next(
                (leg for leg in itinerary.get("legs", ()) if leg.get("origin") == here["node_id"]),
                next(
                    (
                        leg
                        for leg in itinerary.get("legs", ())
                        if _leg_passes(leg, here["node_id"], there["node_id"], stops)
                    ),
                    None,
                ),
            )
            return CustomsRoute(
                origin_site=origin,
                exit_node=here["node_id"],
                exit_milestone="CROS" if here["role"] == "border" else "DEPA",
                exit_mode=here.get("mode_out") or (leg or {}).get("mode"),
                exit_service=(leg or {}).get("service_id"),
                import_site=inbound,
            )
    return CustomsRoute(origin, None, None, None, None, inbound)


def _leg_passes(leg: Mapping[str, Any], here: str, there: str, stops: Sequence[Mapping[str, Any]]) -> bool:
    """Whether `leg` runs through `here` (a via stop of a through train): it starts before and ends after."""
    ids = [s["node_id"] for s in stops]
    try:
        return ids.index(leg["origin"]) <= ids.index(here) < ids.index(leg["destination"])
    except ValueError:
        return False


def fact_key(waybill_no: str, type_: str, node_id: str, time: datetime) -> str:
    return f"{waybill_no}|{type_}|{node_id}|{rfc3339(time)}"


def due(
    waybill_no: str,
    route: CustomsRoute,
    milestones: Iterable[ActMilestone],
    filed: Iterable[str],
) -> list[Due]:
    """The arrival, departure and import-status filings the current ACT milestones call for and `filed` does
    not hold."""
    wanted: list[tuple[str, str, str]] = []
    if route.origin_site is not None:
        wanted.append(("CEB507", route.origin_site, "GTOT"))
    if route.exit_node is not None and route.exit_milestone is not None:
        wanted.append(("CEB509", route.exit_node, route.exit_milestone))
    if route.import_site is not None:
        wanted.append(("CEB513", route.import_site, "ARRI"))
    current = {(m.code, m.node_id): m for m in milestones}
    keys = set(filed)
    out: list[Due] = []
    for type_, node, code in wanted:
        m = current.get((code, node))
        if m is None or m.inferred:
            continue
        key = fact_key(waybill_no, type_, node, m.time)
        if key in keys:
            continue
        earlier = any(k.startswith(f"{waybill_no}|{type_}|{node}|") for k in keys)
        out.append(Due(type_, node, code, m.time, "2" if earlier else "1", key))
    return out
