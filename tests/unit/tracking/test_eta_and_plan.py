"""ETA and EST milestones from progress against the plan; delay and offline alarms; plan validation."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from kernel.errors import InvalidInput
from logistics.tracking.alarms import offline_alarm
from logistics.tracking.derive import derive
from logistics.tracking.eta import delay_alarm, deliver_by_at_risk, estimate
from logistics.tracking.plan import Stop, TrackPlan
from tests.unit.tracking.journey import LAT, T0, corridor, drive, stop_lon

PLAN = corridor()  # planned: arrive at stop k at T0+3k h, leave an hour later; the warehouse at T0+12h
CLEAN = drive(PLAN)


def upto(hours: float, shift: timedelta = timedelta(0)) -> list[Any]:
    return [replace(r, ts=r.ts + shift) for r in CLEAN if r.ts + shift <= T0 + shift + timedelta(hours=hours)]


def test_on_time_progress_gives_the_planned_eta_and_est_milestones_ahead() -> None:
    readings = upto(1.5)  # on the road between the origin and the hub
    track = derive(PLAN, readings)
    assert track.status == "IN_TRANSIT" and track.stop_index == 0
    eta, est = estimate(PLAN, track, readings[-1].ts)
    # Ahead of schedule on the road, but the timetabled departures hold it back to the plan.
    assert eta == PLAN.final.planned_arrival
    assert [(m.code, m.node_id) for m in est][:4] == [("ARRI", "HUB1"), ("DISC", "HUB1"), ("LOAD", "HUB1"),
                                                      ("DEPA", "HUB1")]  # fmt: skip
    assert est[-1].code == "GTIN" and est[-1].event_time == eta
    assert all(m.classifier == "EST" for m in est)
    times = [m.event_time for m in est]
    assert times == sorted(times)
    assert delay_alarm(PLAN, track, readings[-1].ts) is None


def test_a_late_start_carries_the_delay_forward_and_raises_a_delay_alarm() -> None:
    late = timedelta(hours=20)
    readings = upto(1.5, shift=late)
    track = derive(PLAN, readings)
    now = readings[-1].ts
    eta, _ = estimate(PLAN, track, now)
    assert eta is not None
    # Remaining planned durations from where it is: about 20 hours behind the plan.
    behind = eta - PLAN.final.planned_arrival  # type: ignore[operator]
    assert timedelta(hours=18) < behind < timedelta(hours=21)
    alarm = delay_alarm(PLAN, track, now)
    assert alarm is not None and alarm.kind == "delay" and alarm.raised_at == now
    assert "behind the planned" in alarm.detail and "deliver-by" not in alarm.detail
    assert not deliver_by_at_risk(PLAN, eta)


def test_an_eta_past_deliver_by_is_flagged_for_replanning() -> None:
    readings = upto(1.5, shift=timedelta(hours=45))
    track = derive(PLAN, readings)
    eta, _ = estimate(PLAN, track, readings[-1].ts)
    assert deliver_by_at_risk(PLAN, eta)
    alarm = delay_alarm(PLAN, track, readings[-1].ts)
    assert alarm is not None and "misses deliver-by" in alarm.detail


def test_an_overdue_arrival_is_not_estimated_in_the_past() -> None:
    readings = upto(1.5)
    track = derive(PLAN, readings)
    now = readings[-1].ts + timedelta(hours=30)  # silent since, still short of the hub
    eta, est = estimate(PLAN, track, now)
    assert est[0].event_time == now
    assert eta is not None and eta > now


def test_waiting_at_a_stop_departs_no_earlier_than_now() -> None:
    readings = [r for r in CLEAN if r.ts <= T0 + timedelta(minutes=30)]  # still at the origin
    track = derive(PLAN, readings)
    assert track.status == "BOOKED" and track.at_stop  # no gate-out yet
    now = T0 + timedelta(hours=5)
    _, est = estimate(PLAN, track, now)
    assert [(m.code, m.event_time) for m in est[:2]] == [("GTOT", now), ("DEPA", now)]


def test_nothing_ahead_once_at_the_final_stop() -> None:
    track = derive(PLAN, CLEAN)
    eta, est = estimate(PLAN, track, CLEAN[-1].ts)
    assert est == ()
    assert eta == track.arrived_at == track.milestones[-1].event_time


def test_before_any_reading_the_eta_follows_the_timetable() -> None:
    eta, est = estimate(PLAN, derive(PLAN, []), T0)
    assert eta == PLAN.final.planned_arrival
    assert est[0].code == "GTOT" and est[0].event_time == T0 + timedelta(hours=1)


def test_legs_without_a_timetable_use_the_mode_speed() -> None:
    plan = corridor(planned=False)
    eta, _ = estimate(plan, derive(plan, []), T0)
    # Four legs of ~104 km: road 55 km/h, rail 40, rail 40, road 55, each * 1.25 for the detour.
    hours = 104 * 1.25 * (2 / 55 + 2 / 40)
    assert eta is not None
    assert abs((eta - T0).total_seconds() / 3600 - hours) < 0.2


def test_offline_after_several_missed_intervals() -> None:
    last = T0
    assert offline_alarm(last, timedelta(minutes=15), T0 + timedelta(minutes=44)) is None
    alarm = offline_alarm(last, timedelta(minutes=15), T0 + timedelta(minutes=46))
    assert alarm is not None and alarm.kind == "offline" and alarm.cleared_at is None
    assert alarm.raised_at == T0 + timedelta(minutes=45)  # when it went silent for three intervals
    assert "3 expected intervals of 15m missed" in alarm.detail
    assert offline_alarm(last, timedelta(minutes=15), T0 + timedelta(hours=2), missed_intervals=10) is None
    assert offline_alarm(None, timedelta(minutes=15), T0 + timedelta(hours=9)) is None


def test_a_bad_stop_is_refused_with_the_fields_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        Stop("X", "x", 95.0, 80.0, "depot", 0.0, mode_in="train")
    assert {e["field"] for e in caught.value.errors or []} == {"lat", "role", "radius_km", "mode_in"}


def test_a_plan_needs_two_stops_in_time_order() -> None:
    stops = corridor().stops
    with pytest.raises(InvalidInput, match="at least two stops"):
        TrackPlan("WB", stops[:1])
    swapped = (replace(stops[0], planned_departure=T0 + timedelta(hours=9)),) + stops[1:]
    with pytest.raises(InvalidInput, match="not in itinerary order"):
        TrackPlan("WB", swapped)
    with pytest.raises(InvalidInput, match="low is above high"):
        TrackPlan("WB", stops, temperature=(8.0, 2.0))
    assert Stop("B", "b", LAT, stop_lon(2), "border", 5.0).clears_customs
    assert not Stop("B", "b", LAT, stop_lon(2), "border", 5.0, customs=False).clears_customs
