"""The stored checkpoint: a late reading re-folds from it with only the readings stored after it, and gets
exactly what `replay` over every reading gets, whichever process holds which fold."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistics.tracking.derive import ordered, replay
from logistics.tracking.foldlog import FoldLog, Key
from logistics.tracking.readings import Reading
from logistics.tracking.state import TrackState
from tests.unit.tracking.journey import corridor, drive

PLAN = corridor(temperature=(2.0, 8.0))
FIRST = drive(PLAN, interval=timedelta(minutes=15))
SECOND = drive(PLAN, device="trk-2", interval=timedelta(minutes=20), first_seq=5, speed_kmh=55.0)
# Same event times as FIRST (and as SECOND every hour), another device: readings tied on the time.
TWIN = drive(PLAN, device="trk-0", interval=timedelta(minutes=15), first_seq=100)
ALL = FIRST + SECOND + TWIN
IN_ORDER = ordered(ALL)


def _key(r: Reading) -> Key:
    return (r.ts, r.device_id, r.seq)


def _replay_json(readings: Iterable[Reading]) -> dict[str, Any]:
    return replay(PLAN, readings).to_json()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.integers(0, len(IN_ORDER)),
    order=st.permutations(range(len(IN_ORDER))),
    every=st.integers(1, 16),
    keep=st.integers(1, 6),
)
def test_a_checkpoint_and_the_readings_after_it_give_the_replay_of_all(
    at: int, order: list[int], every: int, keep: int
) -> None:
    checkpoint = TrackState.from_json(_replay_json(IN_ORDER[:at]))  # as stored
    after = [IN_ORDER[i] for i in order if i >= at]  # in any order
    log = FoldLog.from_checkpoint(PLAN, checkpoint, after, every=every, keep=keep)
    assert log.state.to_json() == _replay_json(ALL)
    # The floor (stored in its place) is again the fold of every reading up to its last one.
    assert log.floor is not None
    key = log.floor.last_key
    assert log.floor.to_json() == _replay_json(r for r in ALL if key is not None and _key(r) <= key)
    assert log.behind == sum(1 for r in ALL if key is None or _key(r) > key)
    assert log.floor_moved == (log.floor.last_key != checkpoint.last_key)


@dataclass
class Store:
    """One waybill's stored readings and fold columns (track_state, track_checkpoint, track_since_checkpoint),
    and the row's version (any write changes it)."""

    readings: dict[tuple[str, int], Reading] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    since: int | None = None
    version: int = 0
    loaded: int = 0  # readings read back by the last batch
    full: int = 0  # batches that read every reading

    def after(self, key: Key | None) -> list[Reading]:
        found = [r for r in self.readings.values() if key is None or _key(r) > key]
        self.loaded += len(found)
        return found

    def all(self) -> list[Reading]:
        self.full += 1
        self.loaded += len(self.readings)
        return list(self.readings.values())

    def stored_checkpoint(self) -> TrackState | None:
        return None if self.checkpoint is None else TrackState.from_json(self.checkpoint)


def _batch(store: Store, kept: dict[str, tuple[int, FoldLog]], process: str, batch: list[Reading], every: int,
           keep: int) -> None:  # fmt: skip
    """What `process_batch` and `refresh` do for the waybill: store, fold in (kept fold, else the stored
    state), write back; a process keeps its fold only while nobody else has written the row."""
    new = [r for r in ordered(batch) if (r.device_id, r.seq) not in store.readings]
    if not new:
        return  # nothing stored: the waybill is not touched
    store.readings.update({(r.device_id, r.seq): r for r in new})
    store.loaded = 0
    held = kept.get(process)
    fold = held[1] if held is not None and held[0] == store.version else None
    if fold is None and store.state is not None:
        state = TrackState.from_json(store.state)
        fold = (
            FoldLog(PLAN, state, every=every, keep=keep)
            if store.checkpoint is None
            else FoldLog.resume(PLAN, state, checkpoint_gap=store.since, every=every, keep=keep)
        )
    log = fold.fold_in(new, store.stored_checkpoint, store.after) if fold is not None else None
    if log is None:
        log = FoldLog.replay(PLAN, store.all(), every=every, keep=keep)
    store.state = log.state.to_json()
    store.since = log.behind
    if log.floor_moved:
        assert log.floor is not None
        store.checkpoint = log.floor.to_json()
        log.floor_moved = False
    store.version += 1
    kept[process] = (store.version, log)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.one_of(st.just(list(range(len(ALL)))), st.permutations(range(len(ALL)))),
    held_back=st.lists(st.tuples(st.integers(0, len(ALL) - 1), st.integers(1, 40)), max_size=6),
    again=st.lists(st.tuples(st.integers(0, len(ALL)), st.integers(0, len(ALL) - 1)), max_size=8),
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=20),
    processes=st.lists(st.integers(0, 2), min_size=1, max_size=40),
    every=st.integers(1, 12),
    keep=st.integers(1, 5),
)
def test_processes_sharing_a_waybill_get_the_replay_of_all_reading_a_bounded_tail(
    order: list[int],
    held_back: list[tuple[int, int]],
    again: list[tuple[int, int]],
    sizes: list[int],
    processes: list[int],
    every: int,
    keep: int,
) -> None:
    arrived = [IN_ORDER[i] for i in order]  # in event-time order (a live fleet), or any order
    for i, by in held_back:  # late by a few readings
        arrived.insert(min(len(arrived), i + by), arrived.pop(i))
    for at, i in again:  # redeliveries
        arrived.insert(at, ALL[i])
    store = Store()
    kept: dict[str, tuple[int, FoldLog]] = {}
    start, step = 0, 0
    while start < len(arrived):
        size = sizes[step % len(sizes)]
        batch = arrived[start : start + size]
        process = f"ingest-{processes[step % len(processes)]}"
        start, step = start + size, step + 1
        first_state = store.state is None
        checkpoint = store.stored_checkpoint()
        since = store.since
        fresh = [r for r in batch if (r.device_id, r.seq) not in store.readings]
        _batch(store, kept, process, batch, every, keep)
        if not fresh:
            continue
        stored = list(store.readings.values())
        assert store.state == _replay_json(stored)
        # The stored checkpoint is the fold of every stored reading up to its last one; `since`: the rest.
        assert store.checkpoint is not None
        key = TrackState.from_json(store.checkpoint).last_key
        assert store.checkpoint == _replay_json(r for r in stored if key is not None and _key(r) <= key)
        assert store.since == sum(1 for r in stored if key is None or _key(r) > key)
        assert store.since <= max(2 * every * keep, keep * (every + max(sizes)))
        # Every reading is read back only for the first batch or a reading older than the checkpoint;
        # else at most the readings after the checkpoint.
        if store.full:
            store.full = 0
            floor = checkpoint.last_key if checkpoint is not None else None
            assert first_state or (floor is not None and min(_key(r) for r in fresh) <= floor)
        else:
            assert since is not None
            assert store.loaded <= since + len(fresh)
    assert store.state == _replay_json(ALL)
