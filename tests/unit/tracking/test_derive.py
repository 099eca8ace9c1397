"""The issue's tracking scenarios at the domain level: readings in, milestones / status / alarms out."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta

import pytest

from logistics.tracking.derive import advance, derive, replay
from logistics.tracking.readings import GPS_ROLLOVER, IMPOSSIBLE_SPEED, NULL_ISLAND, Reading, distance_km
from logistics.tracking.reconcile import STATUS_RANK
from logistics.tracking.state import LateReading, TrackState, snapshot
from tests.unit.tracking.journey import LAT, T0, codes, corridor, drive, stop_lon, with_received

PLAN = corridor()
CLEAN = drive(PLAN)
CLEAN_TRACK = derive(PLAN, CLEAN)
EXPECTED_CODES = [
    ("GTOT", "ORIG"), ("DEPA", "ORIG"),
    ("ARRI", "HUB1"), ("DISC", "HUB1"), ("LOAD", "HUB1"), ("DEPA", "HUB1"),
    ("CUSS", "BORD"), ("CUSR", "BORD"), ("CROS", "BORD"),
    ("ARRI", "DEST"), ("DEPA", "DEST"),
    ("GTIN", "WH01"),
]  # fmt: skip


def dist_to(r: Reading, k: int) -> float:
    return distance_km(r.lat, r.lon, LAT, stop_lon(k))


def test_a_clean_run_gives_every_milestone_once_in_order() -> None:
    track = CLEAN_TRACK
    assert codes(track.milestones) == EXPECTED_CODES
    assert not any(m.inferred for m in track.milestones)
    assert all(m.classifier == "ACT" and m.seq is not None for m in track.milestones)
    times = [m.event_time for m in track.milestones]
    assert times == sorted(times)
    assert track.status == "AT_WAREHOUSE"
    assert track.quarantined == ()
    assert track.position == CLEAN[-1]
    # Arrival at the hub is the first reading inside its 5 km fence.
    first_inside = next(r for r in CLEAN if dist_to(r, 1) <= 5.0)
    arri = next(m for m in track.milestones if m.code == "ARRI" and m.node_id == "HUB1")
    assert (arri.event_time, arri.seq) == (first_inside.ts, first_inside.seq)


def test_duplicate_redelivery_changes_nothing() -> None:
    redelivered = CLEAN + CLEAN[::3] + CLEAN[5:9] * 4
    assert derive(PLAN, redelivered) == CLEAN_TRACK


def test_an_out_of_order_batch_places_each_reading_by_event_time() -> None:
    shuffled = CLEAN[:]
    random.Random(7).shuffle(shuffled)
    track = derive(PLAN, shuffled)
    assert track == CLEAN_TRACK
    # The latest position is the newest event time, not the reading that arrived last.
    assert shuffled[-1] != CLEAN[-1]
    assert track.position == max(CLEAN, key=lambda r: r.ts)


def test_six_hour_backlog_uploaded_newest_first_gives_the_live_milestones() -> None:
    gap_start = T0 + timedelta(hours=2)
    gap_end = gap_start + timedelta(hours=6)
    before = [r for r in CLEAN if r.ts < gap_start]
    backlog = [r for r in CLEAN if gap_start <= r.ts < gap_end]
    after = [r for r in CLEAN if r.ts >= gap_end]
    # The gap spans the hub and the border crossing.
    assert any(dist_to(r, 1) < 5 for r in backlog) and any(dist_to(r, 2) < 5 for r in backlog)

    live = replay(PLAN, [])
    for r in CLEAN:
        live, live_track = advance(live, PLAN, [r])

    state = replay(PLAN, before)
    state, during_gap = advance(state, PLAN, [])
    assert during_gap.status == "IN_TRANSIT"
    state, _ = advance(state, PLAN, list(reversed(backlog)))  # the tracker uploads newest first
    state, track = advance(state, PLAN, after)

    assert track.milestones == live_track.milestones == CLEAN_TRACK.milestones
    assert track == live_track == CLEAN_TRACK
    assert derive(PLAN, before + list(reversed(backlog)) + after) == CLEAN_TRACK


def test_clock_skew_and_gps_week_rollover_are_quarantined_and_change_nothing() -> None:
    received = with_received(CLEAN)
    mid_leg = [i for i, r in enumerate(received) if min(dist_to(r, k) for k in range(5)) > 20]
    skewed, rolled = mid_leg[3], mid_leg[10]
    bad = received[:]
    bad[skewed] = replace(bad[skewed], ts=bad[skewed].ts + timedelta(hours=3))
    bad[rolled] = replace(bad[rolled], ts=bad[rolled].ts - timedelta(weeks=1024))
    track = derive(PLAN, bad)
    assert dict(track.quarantined) == {
        received[skewed].seq: "future_timestamp",
        received[rolled].seq: GPS_ROLLOVER,
    }
    assert track.milestones == derive(PLAN, received).milestones
    assert track.status == "AT_WAREHOUSE"


def test_a_clock_ahead_in_a_late_backlog_is_caught_by_its_sequence_number() -> None:
    # Everything uploaded two days later; one fix from the hub dwell carries a clock gone ahead, landing
    # between the first reading out of the fence and the one that confirms the exit.
    uploaded = with_received(CLEAN, timedelta(days=2))
    hub_departure = next(m for m in CLEAN_TRACK.milestones if m.code == "DEPA" and m.node_id == "HUB1")
    first_out = next(r for r in uploaded if r.seq == hub_departure.seq)
    at_hub = [r for r in uploaded if dist_to(r, 1) < 1 and r.seq < first_out.seq]
    skewed = replace(at_hub[1], ts=first_out.ts + timedelta(minutes=2))
    readings = [skewed if r.seq == skewed.seq else r for r in uploaded]
    track = derive(PLAN, readings)
    assert track.quarantined == ((skewed.seq, "timestamp_out_of_sequence"),)
    assert track.milestones == CLEAN_TRACK.milestones


def test_rollover_is_caught_against_the_plan_when_no_receive_time_is_stored() -> None:
    bad = CLEAN[:]
    bad[20] = replace(bad[20], ts=bad[20].ts - timedelta(weeks=1024))
    track = derive(PLAN, bad)
    assert track.quarantined == ((CLEAN[20].seq, GPS_ROLLOVER),)
    assert track.milestones == CLEAN_TRACK.milestones


def test_gps_jumps_and_null_island_fixes_cause_no_false_exit() -> None:
    at_hub = [r for r in CLEAN if dist_to(r, 1) < 1.0]
    assert len(at_hub) >= 4
    a, b = at_hub[1], at_hub[2]
    minute = timedelta(minutes=1)
    noise = [
        replace(a, seq=10_001, ts=a.ts + minute, lat=0.0, lon=0.0),  # 0,0 fix
        replace(a, seq=10_002, ts=a.ts + 2 * minute, lat=43.24, lon=76.95),  # 280 km away in a minute
        replace(a, seq=10_003, ts=a.ts + 4 * minute, lon=stop_lon(1) + 0.11),  # 8.8 km: a plausible jump
        replace(b, seq=10_004, ts=b.ts + timedelta(minutes=1), lat=0.0, lon=0.0),
    ]
    track = derive(PLAN, CLEAN + noise)
    assert dict(track.quarantined) == {10_001: NULL_ISLAND, 10_002: IMPOSSIBLE_SPEED, 10_004: NULL_ISLAND}
    assert track.milestones == CLEAN_TRACK.milestones
    # Status while the noise is the newest reading: still at the hub.
    upto = [r for r in CLEAN if r.ts <= a.ts] + noise[:3]
    assert derive(PLAN, upto).status == "AT_HUB"


def test_a_wrong_first_fix_does_not_condemn_every_later_reading() -> None:
    wrong_first = replace(CLEAN[0], seq=50_000, ts=CLEAN[0].ts - timedelta(minutes=5), lat=LAT + 20.0)
    track = derive(PLAN, [wrong_first] + CLEAN)
    # The next two fixes are "impossible" from the wrong one; the third agreeing fix moves the reference.
    assert track.quarantined == ()
    assert track.milestones == CLEAN_TRACK.milestones
    assert track.status == "AT_WAREHOUSE"
    early = derive(PLAN, [wrong_first] + CLEAN[:2])
    assert [seq for seq, _ in early.quarantined] == [CLEAN[0].seq, CLEAN[1].seq]
    assert early.position == wrong_first


def test_flapping_at_a_fence_edge_for_an_hour_gives_exactly_one_arrival() -> None:
    origin_leg = [r for r in CLEAN if r.ts < T0 + timedelta(hours=2) and dist_to(r, 1) > 12]
    t = origin_leg[-1].ts + timedelta(minutes=48)  # the last one is ~50 km out, at 60 km/h
    seq = origin_leg[-1].seq
    parked: list[Reading] = []
    # A truck parked at the hub's gate, 5 km out: GPS noise puts it inside, just outside, and once in a
    # while beyond the exit radius, every two minutes for an hour.
    offsets_km = [4.8, 5.3, 4.9, 5.6, 7.9, 5.1, 4.7, 5.4]
    for n in range(30):
        t += timedelta(minutes=2)
        seq += 1
        lon = stop_lon(1) - offsets_km[n % len(offsets_km)] / (111.32 * 0.7169)
        parked.append(Reading("trk-1", seq, t, LAT, lon, accuracy_m=15.0))
    track = derive(PLAN, origin_leg + parked)
    hub = [m.code for m in track.milestones if m.node_id == "HUB1"]
    assert hub == ["ARRI", "DISC"]
    assert track.status == "AT_HUB"
    inside = [r for r in parked if dist_to(r, 1) <= 5.0]
    assert track.milestones[2].event_time == inside[0].ts
    # ...and the same for any order of arrival of those readings.
    assert derive(PLAN, list(reversed(origin_leg + parked))) == track


def test_a_gap_across_a_stop_gives_inferred_milestones_timed_between_the_readings() -> None:
    gapped = [r for r in CLEAN if dist_to(r, 1) > 20]
    track = derive(PLAN, gapped)
    assert codes(track.milestones) == EXPECTED_CODES
    hub = [m for m in track.milestones if m.node_id == "HUB1"]
    assert all(m.inferred and m.seq is None for m in hub)
    assert not any(m.inferred for m in track.milestones if m.node_id != "HUB1")
    before = max(r.ts for r in gapped if r.lon < stop_lon(1))
    after = min(r.ts for r in gapped if r.lon > stop_lon(1))
    # The readings either side are ~20 km from the hub on a straight line: about halfway in time.
    for m in hub:
        assert before < m.event_time < after
        assert abs((m.event_time - (before + (after - before) / 2)).total_seconds()) < 15 * 60
    assert track.status == "AT_WAREHOUSE"


def test_the_first_reading_already_past_the_origin_infers_the_departure() -> None:
    late_start = [r for r in CLEAN if r.lon > stop_lon(0) + 0.3]
    track = derive(PLAN, late_start)
    assert codes(track.milestones) == EXPECTED_CODES
    assert [m.inferred for m in track.milestones[:2]] == [True, True]
    assert track.milestones[2].inferred is False


def test_status_never_moves_backwards_as_readings_arrive() -> None:
    state = replay(PLAN, [])
    seen = [(0, 0, "BOOKED")]
    for r in CLEAN:
        state, track = advance(state, PLAN, [r])
        seen.append((STATUS_RANK[track.status], track.progress, track.status))
    assert [(rank, progress) for rank, progress, _ in seen] == sorted((a, b) for a, b, _ in seen)
    statuses = [s for _, _, s in seen]
    assert [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s] == [
        "BOOKED", "IN_TRANSIT", "AT_HUB", "IN_TRANSIT", "AT_BORDER", "IN_TRANSIT", "ARRIVED", "AT_WAREHOUSE",
    ]  # fmt: skip


def test_the_status_waits_for_the_gate_out_and_moves_only_with_milestones() -> None:
    gate_out = next(m for m in CLEAN_TRACK.milestones if m.code == "GTOT")
    at_origin = [r for r in CLEAN if r.ts < gate_out.event_time]
    assert at_origin and all(dist_to(r, 0) <= 5.0 for r in at_origin)
    waiting = derive(PLAN, at_origin)
    # Readings at the origin terminal are no pick-up: no milestone yet, so still BOOKED.
    assert waiting.milestones == () and waiting.status == "BOOKED"
    # Every status change comes with a new milestone at the event time of the reading that made it.
    state = replay(PLAN, [])
    for r in CLEAN:
        before, known = state.status, len(state.milestones)
        state, track = advance(state, PLAN, [r])
        if track.status != before:
            assert len(track.milestones) > known, (before, track.status, r)
    # The gate-out is the pick-up; the origin's departure at the same moment puts it in transit.
    left = derive(PLAN, [r for r in CLEAN if r.ts <= gate_out.event_time + timedelta(minutes=30)])
    assert codes(left.milestones) == [("GTOT", "ORIG"), ("DEPA", "ORIG")] and left.status == "IN_TRANSIT"
    # A waybill already PICKED_UP by an earlier derivation is never moved back to BOOKED.
    assert derive(PLAN, at_origin, initial_status="PICKED_UP").status == "PICKED_UP"


def test_the_status_history_is_timed_by_the_milestones_and_the_same_in_any_arrival_order() -> None:
    history = [(s, at) for s, at, _ in CLEAN_TRACK.status_changes]
    gate_out = next(m for m in CLEAN_TRACK.milestones if m.code == "GTOT")
    # PICKED_UP is passed through at the gate-out, in the same event-time instant as the DEPA.
    assert history[:2] == [("PICKED_UP", gate_out.event_time), ("IN_TRANSIT", gate_out.event_time)]
    assert [s for s, _ in history] == [
        "PICKED_UP", "IN_TRANSIT", "AT_HUB", "IN_TRANSIT", "AT_BORDER", "IN_TRANSIT", "ARRIVED",
        "AT_WAREHOUSE",
    ]  # fmt: skip
    assert [at for _, at in history] == sorted(at for _, at in history)
    milestone_times = {m.event_time for m in CLEAN_TRACK.milestones}
    assert all(at in milestone_times for _, at in history)  # each change at the time of its milestone
    # Live one reading at a time, newest-first, shuffled: the same history (and it survives the JSON state).
    state = replay(PLAN, [])
    for r in CLEAN:
        state, _ = advance(state, PLAN, [r])
    assert TrackState.from_json(json.loads(json.dumps(state.to_json()))).status_changes == list(
        CLEAN_TRACK.status_changes
    )
    shuffled = list(CLEAN)
    random.Random(5).shuffle(shuffled)
    for order in (list(reversed(CLEAN)), shuffled):
        assert derive(PLAN, order).status_changes == CLEAN_TRACK.status_changes
    # A stored status as the floor of a re-derivation keeps the current status, not the history.
    redone = derive(PLAN, CLEAN, initial_status="AT_HUB")
    assert redone.status_changes == CLEAN_TRACK.status_changes


def test_a_late_reading_never_moves_the_stored_status_back() -> None:
    hub_departure = next(m for m in CLEAN_TRACK.milestones if m.code == "DEPA" and m.node_id == "HUB1")
    first_out = next(r for r in CLEAN if r.seq == hub_departure.seq)
    confirming = next(r for r in CLEAN if r.ts > first_out.ts)
    leaving = [r for r in CLEAN if r.ts <= confirming.ts]
    before = derive(PLAN, leaving)
    assert before.status == "IN_TRANSIT" and before.stop_index == 1 and not before.at_stop
    # A late, glitchy reading back inside the hub fence between the two readings that confirmed the exit (at a
    # speed a train could do, so it is not screened out as a jump): on these readings alone the exit is no
    # longer confirmed...
    glitch = replace(first_out, seq=20_000, ts=first_out.ts + timedelta(minutes=5), lon=stop_lon(1) + 0.01)
    assert derive(PLAN, leaving + [glitch]).status == "AT_HUB"
    # ...but the stored status and progress are the floor.
    redone = derive(PLAN, leaving + [glitch], initial_status=before.status, initial_progress=before.progress)
    assert redone.status == "IN_TRANSIT"
    assert redone.progress == before.progress
    # People's statuses are kept whatever the readings say.
    assert derive(PLAN, CLEAN, initial_status="EXCEPTION").status == "EXCEPTION"
    assert derive(PLAN, CLEAN, initial_status="CANCELLED").status == "CANCELLED"


def test_a_long_dwell_at_a_customs_border_becomes_customs_hold_then_in_transit() -> None:
    border = [r for r in CLEAN if dist_to(r, 2) < 1.0]
    t = border[-1].ts
    held = [replace(border[-1], seq=30_000 + n, ts=t + timedelta(hours=n)) for n in range(1, 12)]
    upto = [r for r in CLEAN if r.ts <= t] + held
    assert derive(PLAN, upto).status == "CUSTOMS_HOLD"
    later = [replace(r, seq=r.seq + 40_000, ts=r.ts + timedelta(hours=12)) for r in CLEAN if r.ts > t]
    track = derive(PLAN, upto + later)
    assert track.status == "AT_WAREHOUSE"
    assert codes(track.milestones) == EXPECTED_CODES


def test_advance_refuses_a_reading_older_than_its_state() -> None:
    state = replay(PLAN, CLEAN[:30])
    with pytest.raises(LateReading):
        advance(state, PLAN, [CLEAN[10]])
    assert replay(PLAN, CLEAN[:30]).to_json() == state.to_json()  # left unchanged


def test_the_state_survives_a_json_round_trip() -> None:
    plan = corridor(temperature=(2.0, 8.0))
    readings = [replace(r, temp_c=12.0 if 20 <= i < 30 else 5.0) for i, r in enumerate(CLEAN)]
    state = replay(plan, readings[:25])
    restored = TrackState.from_json(json.loads(json.dumps(state.to_json())))
    assert restored == state
    assert snapshot(restored) == snapshot(state)
    assert advance(restored, plan, readings[25:])[1] == derive(plan, readings)


# --------------------------------------------------------------------------------------- condition alarms


def test_a_reefer_excursion_raises_one_alarm_after_the_minimum_duration_and_clears_it() -> None:
    plan = corridor(temperature=(2.0, 8.0))
    temps = [5.0] * len(CLEAN)
    temps[10:12] = [9.5, 9.0]  # 10 minutes out of range: not an alarm
    temps[20:26] = [9.0, 10.5, 11.0, 11.5, 10.0, 9.0]  # 50 minutes out
    temps[27] = None  # type: ignore[call-overload]  # no sensor value: neither clears nor extends
    readings = [replace(r, temp_c=t) for r, t in zip(CLEAN, temps, strict=True)]
    track = derive(plan, readings)
    [alarm] = track.alarms
    assert alarm.kind == "temperature"
    assert alarm.raised_at == CLEAN[23].ts  # 30 minutes after the excursion began, in event time
    assert alarm.cleared_at == CLEAN[26].ts
    assert "outside the cargo range 2..8" in alarm.detail
    assert derive(plan, list(reversed(readings))) == track


def test_an_open_excursion_stays_raised() -> None:
    plan = corridor(temperature=(2.0, 8.0))
    readings = [replace(r, temp_c=12.0 if i >= 40 else 4.0) for i, r in enumerate(CLEAN)]
    [alarm] = derive(plan, readings).alarms
    assert alarm.cleared_at is None and alarm.raised_at == CLEAN[43].ts


def test_shock_door_and_battery_alarms_are_raised_once_and_cleared() -> None:
    readings = CLEAN[:]
    mid_leg = [i for i, r in enumerate(CLEAN) if min(dist_to(r, k) for k in range(5)) > 20]
    at_hub = [i for i, r in enumerate(CLEAN) if dist_to(r, 1) < 1]
    i, j = mid_leg[2], mid_leg[12]
    readings[i] = replace(readings[i], shock_g=6.5)
    readings[i + 1] = replace(readings[i + 1], shock_g=7.0)  # the same shock episode
    readings[i + 2] = replace(readings[i + 2], shock_g=0.4)
    readings[at_hub[1]] = replace(readings[at_hub[1]], door_open=True)  # opening at the hub is normal
    readings[at_hub[2]] = replace(readings[at_hub[2]], door_open=False)
    readings[j] = replace(readings[j], door_open=True)  # opened on the open road
    readings[j + 1] = replace(readings[j + 1], door_open=True)
    readings[j + 2] = replace(readings[j + 2], door_open=False)
    for n, pct in enumerate([16, 14, 13, 16, 12, 19, 25, 24]):
        readings[40 + n] = replace(readings[40 + n], battery_pct=float(pct))
    track = derive(PLAN, readings)
    by_kind = {a.kind: a for a in track.alarms}
    assert sorted(a.kind for a in track.alarms) == ["battery", "door", "shock"]
    assert (by_kind["shock"].raised_at, by_kind["shock"].cleared_at) == (CLEAN[i].ts, CLEAN[i + 2].ts)
    assert (by_kind["door"].raised_at, by_kind["door"].cleared_at) == (CLEAN[j].ts, CLEAN[j + 2].ts)
    assert (by_kind["battery"].raised_at, by_kind["battery"].cleared_at) == (CLEAN[41].ts, CLEAN[46].ts)
    assert track.milestones == CLEAN_TRACK.milestones


def test_sensor_values_of_a_position_quarantined_reading_still_count() -> None:
    plan = corridor(temperature=(2.0, 8.0))
    readings = [replace(r, temp_c=4.0) for r in CLEAN]
    for n in range(30, 35):  # in a tunnel: no fix, but the reefer is warming
        readings[n] = replace(readings[n], lat=0.0, lon=0.0, temp_c=11.0)
    track = derive(plan, readings)
    assert [a.kind for a in track.alarms] == ["temperature"]
    assert {reason for _, reason in track.quarantined} == {NULL_ISLAND}


def test_update_advances_a_stored_state_and_re_derives_when_it_must() -> None:
    from logistics.tracking.derive import update
    from logistics.tracking.state import STATE_FORMAT

    stored = replay(PLAN, CLEAN[:30]).to_json()
    calls: list[int] = []

    def everything() -> list[Reading]:
        calls.append(1)
        return CLEAN[:31]

    state, track = update(
        PLAN, stored, [CLEAN[30]], everything, status=stored["status"], progress=stored["progress"]
    )
    assert calls == [] and track == derive(PLAN, CLEAN[:31])  # advanced, nothing reloaded
    # A late reading, no stored state, an old layout, or a status people set: re-derived from everything.
    for doc, new, status in [
        (stored, [CLEAN[5]], stored["status"]),
        (None, [CLEAN[30]], "BOOKED"),
        ({**stored, "v": STATE_FORMAT - 1}, [CLEAN[30]], stored["status"]),
    ]:
        state, track = update(PLAN, doc, new, everything, status=status)
        assert track == derive(PLAN, CLEAN[:31])
    state, track = update(
        PLAN, stored, [CLEAN[30]], everything, status="EXCEPTION", progress=stored["progress"]
    )
    assert track.status == "EXCEPTION" and track.milestones == derive(PLAN, CLEAN[:31]).milestones
    assert len(calls) == 4


def test_a_jump_a_plane_could_make_is_still_a_jump_on_a_surface_itinerary() -> None:
    """The speed bound follows the itinerary's modes: 300 km in an hour is a jump for a train, not a plane."""
    from logistics.tracking.rules import SURFACE_MAX_SPEED_KMH, TrackingRules, screening_for

    modes = {m for s in PLAN.stops for m in (s.mode_in, s.mode_out) if m}
    assert modes and "air" not in modes
    rules = TrackingRules()
    assert screening_for(PLAN, rules).max_speed_kmh == SURFACE_MAX_SPEED_KMH
    by_air = replace(PLAN, stops=tuple(replace(s, mode_out="air") if s.mode_out else s for s in PLAN.stops))
    assert screening_for(by_air, rules).max_speed_kmh == rules.screening.max_speed_kmh
    some = [r for r in CLEAN if r.ts <= CLEAN[0].ts + timedelta(hours=6)]
    last = some[-1]
    north = replace(last, seq=50_000, ts=last.ts + timedelta(hours=1), lat=last.lat + 2.7)  # ~300 km
    assert dict(derive(PLAN, [*some, north]).quarantined).get(north.seq) == IMPOSSIBLE_SPEED
    assert north.seq not in dict(derive(by_air, [*some, north]).quarantined)


def test_twin_border_posts_with_overlapping_fences_are_reached_whatever_the_reporting_phase() -> None:
    # An exit post and an entry post 3 km apart with 15 km fences (Mohan / Boten): a train passing at 60 km/h
    # with hourly fixes. Whether the fix inside both fences is nearer one post or the other must not decide
    # between an actual and an inferred crossing, as it did when only "out of this one" moved the tracker on.
    from logistics.tracking.plan import Stop, TrackPlan

    lat0, lon0 = 22.5, 101.7
    stops = (
        Stop("ORIG", "origin", lat0, lon0, "origin", 5.0),
        Stop("MOHAN", "exit post", 21.18, 101.69, "border", 15.0),
        Stop("BOTEN", "entry post", 21.1667, 101.6667, "border", 15.0),
        Stop("DEST", "destination", 18.0, 102.55, "destination", 8.0),
    )
    plan = TrackPlan("XB-TWIN", stops)
    outcomes = set()
    for phase in range(0, 60, 5):  # every reporting phase within the hour
        start = T0 + timedelta(minutes=phase)
        track = derive(plan, drive(plan, start=start, interval=timedelta(hours=1), dwell=timedelta(hours=1)))
        at_boten = [m for m in track.milestones if m.node_id == "BOTEN"]
        assert [m.code for m in at_boten] == ["CUSS", "CUSR", "CROS"], (phase, track.milestones)
        outcomes.add(tuple(m.inferred for m in at_boten))
        mohan = next(m for m in track.milestones if m.node_id == "MOHAN" and m.code == "CUSS")
        assert mohan.event_time <= at_boten[0].event_time
    # Each phase has a fix inside the shared part of the fences: the entry post is reached, never inferred.
    assert outcomes == {(False, False, False)}


def test_a_time_between_two_readings_never_falls_outside_them() -> None:
    from logistics.tracking.milestones import between

    a = T0
    for tenths in range(1, 200):
        b = a + timedelta(milliseconds=100 * tenths)
        for fraction in (0.0, 0.25, 0.5, 0.999, 1.0):
            assert a <= between(a, b, fraction) <= b, (b - a, fraction)
