"""The fold kept in memory: readings in any order and batching, late ones included, give `replay` on all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistics.tracking.derive import replay
from logistics.tracking.foldlog import FoldLog
from logistics.tracking.readings import Reading
from logistics.tracking.state import LateReading, TrackState
from tests.unit.tracking.journey import corridor, drive

PLAN = corridor(temperature=(2.0, 8.0))
FIRST = drive(PLAN, interval=timedelta(minutes=15))
SECOND = drive(PLAN, device="trk-2", interval=timedelta(minutes=20), first_seq=5, speed_kmh=55.0)
ALL = FIRST + SECOND


def _state_json(state: TrackState) -> dict[str, object]:
    return state.to_json()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(range(len(ALL))),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=30),
    every=st.integers(1, 16),
    keep=st.integers(1, 6),
)
def test_any_arrival_order_and_batching_equals_replay_of_all(
    order: list[int], sizes: list[int], every: int, keep: int
) -> None:
    arrived = [ALL[i] for i in order]
    reference = replay(PLAN, ALL)
    log = FoldLog.replay(PLAN, [], every=every, keep=keep)
    seen: list[Reading] = []
    start = 0
    for size in sizes * 100:
        if start >= len(arrived):
            break
        batch = arrived[start : start + size]
        start += size
        seen.extend(batch)
        try:
            log.add(batch)
        except LateReading:
            # Older than every kept checkpoint: the caller re-derives from all stored readings.
            log = FoldLog.replay(PLAN, seen, every=every, keep=keep)
        assert _state_json(log.state) == _state_json(replay(PLAN, seen))
        # Checkpoints fall at batch boundaries: at most `every + batch - 1` readings apart.
        assert log.tail_size <= keep * (every + max(sizes))
    assert _state_json(log.state) == _state_json(reference)


def test_a_slightly_late_reading_refolds_from_memory() -> None:
    ordered = sorted(FIRST, key=lambda r: (r.ts, r.seq))
    late, rest = ordered[-5], ordered[:-5] + ordered[-4:]
    log = FoldLog.replay(PLAN, rest, every=4, keep=4)
    log.add([late])
    assert log.state.to_json() == replay(PLAN, ordered).to_json()


def test_a_reading_older_than_every_checkpoint_is_late_and_leaves_the_log_unchanged() -> None:
    ordered = sorted(FIRST, key=lambda r: (r.ts, r.seq))
    log = FoldLog.replay(PLAN, ordered[1:], every=4, keep=2)
    before = log.state.to_json()
    with pytest.raises(LateReading):
        log.add([ordered[0]])
    assert log.state.to_json() == before
    assert log.tail_size <= 8 + 3


def test_resumed_from_a_stored_state_continues_it() -> None:
    ordered = sorted(FIRST, key=lambda r: (r.ts, r.seq))
    half = len(ordered) // 2
    stored = TrackState.from_json(replay(PLAN, ordered[:half]).to_json())
    log = FoldLog(PLAN, stored)
    log.add(ordered[half:])
    assert log.state.to_json() == replay(PLAN, ordered).to_json()
    with pytest.raises(LateReading):
        FoldLog(PLAN, TrackState.from_json(replay(PLAN, ordered[:half]).to_json())).add([ordered[0]])
