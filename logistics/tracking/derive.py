"""The derivation: `derive`, `replay`, `advance` and `update` over the fold of screened readings.

The contract (what the fold guarantees, and the role -> milestone -> status table) is the package's
docstring, `logistics/tracking/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from logistics.tracking.alarms import conditions
from logistics.tracking.geofence import follow_fences
from logistics.tracking.plan import TrackPlan
from logistics.tracking.readings import (
    GPS_ROLLOVER,
    GPS_WEEK_ROLLOVER,
    IMPOSSIBLE_SPEED,
    OUT_OF_SEQUENCE,
    POSITION_REASONS,
    TOO_OLD,
    Reading,
    ScreeningRules,
    screen,
)
from logistics.tracking.reconcile import STATUS_RANK as STATUS_RANK  # re-exported: the machine's ranks
from logistics.tracking.rules import DEFAULT_RULES, TrackingRules, screening_for
from logistics.tracking.rules import rules_for_clock_speed as rules_for_clock_speed  # re-exported for api/
from logistics.tracking.state import STATE_FORMAT, LateReading, Track, TrackState, new_state, snapshot

# Consecutive mutually consistent fixes, all impossible from the last good one, that move the reference.
REANCHOR_AFTER = 3
_REANCHORED = (IMPOSSIBLE_SPEED, OUT_OF_SEQUENCE)


def derive(
    plan: TrackPlan,
    readings: Iterable[Reading],
    *,
    initial_status: str = "BOOKED",
    initial_progress: int = 0,
    rules: TrackingRules = DEFAULT_RULES,
) -> Track:
    """The track shown by all of a waybill's readings; the same for any order or repetition of them."""
    state = new_state(initial_status, initial_progress)
    fold_readings(state, plan, ordered(readings), rules)
    return snapshot(state)


def replay(
    plan: TrackPlan,
    readings: Iterable[Reading],
    *,
    initial_status: str = "BOOKED",
    initial_progress: int = 0,
    rules: TrackingRules = DEFAULT_RULES,
) -> TrackState:
    """`derive`, returning the fold's state (to keep and `advance` later)."""
    state = new_state(initial_status, initial_progress)
    fold_readings(state, plan, ordered(readings), rules)
    return state


def advance(
    state: TrackState, plan: TrackPlan, readings: Iterable[Reading], *, rules: TrackingRules = DEFAULT_RULES
) -> tuple[TrackState, Track]:
    """Continue `state` with readings all later than its last one; `state` itself is left unchanged."""
    batch = ordered(readings)
    if batch and state.last_key is not None and fold_key(batch[0]) <= state.last_key:
        first = batch[0]
        raise LateReading(
            f"reading {first.device_id}#{first.seq} at {first.ts.isoformat()} is not after the state"
        )
    nxt = state.copy()
    fold_readings(nxt, plan, batch, rules)
    return nxt, snapshot(nxt)


def update(
    plan: TrackPlan,
    stored_state: dict[str, Any] | None,
    new_readings: Iterable[Reading],
    all_readings: Callable[[], Iterable[Reading]],
    *,
    status: str = "BOOKED",
    progress: int = 0,
    rules: TrackingRules = DEFAULT_RULES,
) -> tuple[TrackState, Track]:
    """The ingest's step for one waybill: `advance` the stored state with the newly stored readings when they
    all come after it, else re-derive from `all_readings()` (which include the new ones) with the waybill's
    current `status` and `progress` as the floor. Store `state.to_json()` and `track.progress` afterwards.

    Also re-derives when there is no usable stored state, or when the status was changed by someone
    (EXCEPTION, CANCELLED) since the state was stored."""
    new = list(new_readings)
    if stored_state is not None and stored_state.get("v") == STATE_FORMAT:
        state = TrackState.from_json(stored_state)
        if state.status == status:
            try:
                return advance(state, plan, new, rules=rules)
            except LateReading:
                pass
    state = replay(plan, all_readings(), initial_status=status, initial_progress=progress, rules=rules)
    return state, snapshot(state)


def ordered(readings: Iterable[Reading]) -> list[Reading]:
    """Event-time order, one copy per (device, seq); of differing copies, the same one wins in any order."""
    if isinstance(readings, list | tuple) and len(readings) <= 1:
        return list(readings)  # the live hot path: one reading at a time
    chosen: dict[tuple[str, int], Reading] = {}
    for r in readings:
        k = (r.device_id, r.seq)
        have = chosen.get(k)
        if have is None or (have != r and _tiebreak(r) < _tiebreak(have)):
            chosen[k] = r
    return sorted(chosen.values(), key=fold_key)


def fold_key(r: Reading) -> tuple[datetime, str, int]:
    """A reading's place in the fold: (event time, device, seq)."""
    return (r.ts, r.device_id, r.seq)


def _tiebreak(r: Reading) -> tuple[datetime, str]:
    return (r.ts, repr(r))


def fold_readings(st: TrackState, plan: TrackPlan, readings: list[Reading], rules: TrackingRules) -> None:
    """Fold readings, in event-time order and all later than the state's last one, into `st`."""
    plan_start = plan.planned_start
    screening = screening_for(plan, rules)
    for r in readings:
        st.last_key = fold_key(r)
        reason = screen(r, st.last_good_by_device.get(r.device_id), r.received_at, screening)
        if reason is None and r.received_at is None and plan_start is not None:
            reason = _too_old_for_plan(r, plan_start, rules.screening)
        if reason in _REANCHORED and _reanchor(st, plan, r, rules):
            conditions(st, plan, r, rules, position_ok=True)
            continue
        if reason is not None:
            st.quarantined.append((r.seq, reason))
            if reason in POSITION_REASONS:  # the fix is bad, the sensors and the clock are not
                conditions(st, plan, r, rules, position_ok=False)
            continue
        st.jump_runs.pop(r.device_id, None)
        _good_position(st, plan, r, rules)
        conditions(st, plan, r, rules, position_ok=True)


def _good_position(st: TrackState, plan: TrackPlan, r: Reading, rules: TrackingRules) -> None:
    st.last_good_by_device[r.device_id] = r
    previous = st.position
    st.position = r
    follow_fences(st, plan, r, previous, rules)


def _reanchor(st: TrackState, plan: TrackPlan, r: Reading, rules: TrackingRules) -> bool:
    """After REANCHOR_AFTER consecutive 'impossible' (or out-of-sequence) fixes that agree with each other,
    the outlier was the reference fix (say a device whose very first fix was wrong, or whose seq was reset):
    accept the run and go on from there.

    The run's earlier fixes lose their quarantine flag, but only `r`, the newest, drives the geofence (they
    are older than readings of other trackers already applied). True if `r` completed a run."""
    run = st.jump_runs.get(r.device_id, [])
    if run and screen(r, run[-1], None, screening_for(plan, rules)) is not None:
        run = []
    run = [*run, r]
    if len(run) < REANCHOR_AFTER:
        st.jump_runs[r.device_id] = run
        return False
    del st.jump_runs[r.device_id]
    for q in run[:-1]:  # quarantined when they came; their sensor values have been used already
        for reason in _REANCHORED:
            if (q.seq, reason) in st.quarantined:
                st.quarantined.remove((q.seq, reason))
                break
    _good_position(st, plan, r, rules)
    return True


def _too_old_for_plan(r: Reading, plan_start: datetime, rules: ScreeningRules) -> str | None:
    # Without a receive time, a fix far older than the whole plan is the GPS clock, not a real past.
    age = plan_start - r.ts
    if age <= rules.max_age:
        return None
    return GPS_ROLLOVER if abs(age - GPS_WEEK_ROLLOVER) <= timedelta(days=366) else TOO_OLD
