"""Shipments with no tracking data: the plan slips and an alarm says so (logistics.tracking.untracked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from logistics.tracking.untracked import PlannedMilestone as M
from logistics.tracking.untracked import assess

T0 = datetime(2027, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)
PLAN = [
    M("GTOT", "YIB", T0 + 10 * H),
    M("DEPA", "YIB", T0 + 10 * H),
    M("ARRI", "CDU_RAIL", T0 + 14 * H),
    M("DEPA", "CDU_RAIL", T0 + 40 * H),
    M("ARRI", "LOD", T0 + 300 * H),
]
ARRIVAL = T0 + 300 * H


def test_before_the_first_planned_departure_nothing_slips_and_no_alarm() -> None:
    a = assess(PLAN, [], ARRIVAL, T0 + 9 * H)
    assert a.slip == timedelta(0) and a.estimates == () and a.eta == ARRIVAL and a.no_tracking_alarm is None


def test_past_the_first_departure_without_data_the_plan_slips_and_the_alarm_is_raised() -> None:
    now = T0 + 30 * H
    a = assess(PLAN, [], ARRIVAL, now)
    assert a.slip == 20 * H  # the gate-out planned at +10 h has not been confirmed by +30 h
    assert a.eta == ARRIVAL + 20 * H
    assert [(m.code, m.node_id, m.time) for m in a.estimates][0] == ("GTOT", "YIB", now)
    assert all(m.time >= now for m in a.estimates)
    assert a.no_tracking_alarm is not None and "YIB" in a.no_tracking_alarm


def test_past_the_planned_arrival_the_eta_is_never_on_time() -> None:
    now = ARRIVAL + 5 * H
    a = assess(PLAN, [], ARRIVAL, now)
    assert a.eta is not None and a.eta > ARRIVAL and a.eta >= now


def test_confirmed_milestones_stop_the_slip_there_and_clear_the_alarm() -> None:
    actual = [M("GTOT", "YIB", T0 + 11 * H), M("DEPA", "YIB", T0 + 11 * H)]
    a = assess(PLAN, actual, ARRIVAL, T0 + 13 * H)
    assert a.slip == timedelta(0) and a.no_tracking_alarm is None  # the arrival at +14 h is not due yet
    later = assess(PLAN, actual, ARRIVAL, T0 + 20 * H)
    assert later.slip == 6 * H and later.estimates[0] == M("ARRI", "CDU_RAIL", T0 + 20 * H)
    assert later.no_tracking_alarm is None  # data came: not "no tracking data", only a slipping plan
