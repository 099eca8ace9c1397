"""Disruptions applied to the timetable, and what they do to quotes and booked itineraries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.disruptions import CloseCorridor, Delay, Suspend, Window, apply, itinerary_impact
from routing.errors import InvalidRequest, NoRoute
from routing.network import load_reference_network
from routing.planner import Cargo, QuoteRequest, plan
from routing.timetable import expand

NET = load_reference_network()
T0 = datetime(2027, 3, 1, tzinfo=UTC)
TT = expand(NET, T0, 8)
BOX = Cargo(12000, 60, "40HC")


def services_used(options: list) -> set[str]:
    return {leg.service_id for o in options for leg in o.legs if leg.service_id}


def test_suspending_a_service_removes_it_from_quotes() -> None:
    req = QuoteRequest("CDU_RAIL", "PLLOD", T0, None, BOX, "9810")
    assert "CDU_RAIL-LOD-rail" in services_used(plan(NET, TT, req))
    tt = apply(NET, TT, [Suspend("Rong-Ou suspended for track works", service_id="CDU_RAIL-LOD-rail")])
    assert all(d.status == "suspended" for d in tt.for_service("CDU_RAIL-LOD-rail"))
    assert all(
        d.status == "scheduled" for d in TT.for_service("CDU_RAIL-LOD-rail")
    )  # the old one is untouched
    assert "CDU_RAIL-LOD-rail" not in services_used(plan(NET, tt, req))


def test_a_window_limits_the_suspension() -> None:
    w = Window(T0 + timedelta(days=7), T0 + timedelta(days=14))
    tt = apply(NET, TT, [Suspend("one week", service_id="SHA-RTM-sea", window=w)])
    for d in tt.for_service("SHA-RTM-sea"):
        assert (d.status == "suspended") == w.covers(d.departure)


def test_border_congestion_delays_trains_through_malaszewicze() -> None:
    tt = apply(NET, TT, [Delay(48, "Malaszewicze congestion", node="MAL")])
    assert len(tt) == len(TT)
    for before in TT.departures:
        after = tt.get(before.id)
        svc = NET.services[before.service_id]
        passes = "MAL" in (svc.via + (svc.destination,))
        starts = svc.origin == "MAL"
        assert after.arrival - before.arrival == timedelta(hours=48 if passes or starts else 0)
        assert after.departure - before.departure == timedelta(hours=48 if starts else 0)
    req = QuoteRequest("CDU_RAIL", "PLLOD", T0, None, BOX, "9810")
    slow = min(o.arrival() for o in plan(NET, tt, req))
    fast = min(o.arrival() for o in plan(NET, TT, req))
    assert slow > fast


def test_closing_a_corridor_and_a_node() -> None:
    tt = apply(
        NET,
        TT,
        [CloseCorridor("Kazakh border closed", node="DOSTYK"), CloseCorridor("Khorgos closed", node="HRS")],
    )
    req = QuoteRequest("CNYIB", "DEDUI", T0, None, BOX, "9810")
    for o in plan(NET, tt, req):
        for leg in o.legs:
            svc = NET.services.get(leg.service_id or "")
            assert svc is None or not {"DOSTYK", "HRS"} & {svc.origin, svc.destination, *svc.via}
    tt = apply(NET, TT, [CloseCorridor("Yangtze closed", corridor="yangtze")])
    assert all(leg.mode != "river" for o in plan(NET, tt, req) for leg in o.legs)


def test_everything_closed_gives_no_route_saying_suspended() -> None:
    tt = apply(NET, TT, [CloseCorridor("CTU closed", node="CTU"), CloseCorridor("TFU closed", node="TFU")])
    req = QuoteRequest("CNYIB", "BEBRU", T0, None, Cargo(500, 2, "AIR"), "9610")
    with pytest.raises(NoRoute, match="suspended"):
        plan(NET, tt, req)


def test_itinerary_impact_reports_suspensions_delays_and_missed_connections() -> None:
    req = QuoteRequest("CNYIB", "SGSIN", T0, None, BOX, "9810")
    option = next(o for o in plan(NET, TT, req) if len(o.departure_ids()) == 2)
    first, second = option.departure_ids()
    now = T0
    tt = apply(NET, TT, [Suspend("ship withdrawn", departure_id=second)])
    assert [i.kind for i in itinerary_impact(NET, option.departure_ids(), TT, tt, now)] == ["suspended"]
    tt = apply(NET, TT, [Delay(200, "flooding", service_id=TT.get(first).service_id)])
    kinds = [i.kind for i in itinerary_impact(NET, option.departure_ids(), TT, tt, now)]
    assert kinds == ["delayed", "connection_missed"]
    # a leg already under way is past the disrupted point
    later = TT.get(second).departure + timedelta(hours=1)
    tt = apply(NET, TT, [Suspend("too late to matter", departure_id=second)])
    assert itinerary_impact(NET, option.departure_ids(), TT, tt, later) == []


@pytest.mark.parametrize(
    "bad",
    [
        Suspend("x"),
        Suspend("x", service_id="NOPE"),
        Suspend(" ", service_id="SHA-RTM-sea"),
        CloseCorridor("x", corridor="atlantis"),
        Delay(-1, "x", node="MAL"),
        Delay(5, "x", node="MAL", corridor="yangtze"),
        Delay(5, "x", node="NOWHERE"),
        Suspend("x", service_id="SHA-RTM-sea", window=Window(T0, T0 - timedelta(days=1))),
    ],
)
def test_bad_disruptions_are_refused(bad: object) -> None:
    with pytest.raises(InvalidRequest):
        apply(NET, TT, [bad])  # type: ignore[list-item]
