"""A waybill's fold kept in memory, so that a late reading is re-folded from a nearby checkpoint.

`advance` continues a `TrackState` with readings later than it; a reading earlier than the state's last one
(two publishers a few milliseconds apart, a redelivery, a short backlog) would otherwise mean re-deriving
from every reading the waybill ever had. A `FoldLog` keeps the state at a checkpoint every `every` readings
and the readings after the oldest kept checkpoint: a late reading re-folds from the last checkpoint before
it, which gives exactly what `replay` over all readings gives (the fold is deterministic and sequential).
A reading older than the oldest checkpoint raises `LateReading`.

The log's *floor* is the state the caller stores beside the current one (the waybill's stored checkpoint): the
fold of every reading up to the floor's last one, at or before the oldest kept checkpoint, with the number of
readings folded after it. It follows the oldest kept checkpoint as that moves on (`floor_moved`: store it
again), and is what a process that did not hold the log re-folds from: `fold_in` takes the stored checkpoint
and only the readings stored after it (`from_checkpoint`) when a reading is older than every kept checkpoint,
so the cost of a late reading does not grow with the waybill's history. Only a reading older than the floor
itself needs every stored reading (`FoldLog.replay`). A log resumed from a stored state leaves the floor in
the store (`resume`) until it is needed, or until it lies more than `2 * every * keep` readings behind: then
it is re-folded forward, which keeps the readings loaded for the next late one bounded as well.

Memory per waybill is bounded: `keep` state copies and the readings since the oldest, checkpoints being
`every` readings apart (more when a batch is larger: they fall between batches).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from logistics.tracking.derive import fold_key, fold_readings, ordered
from logistics.tracking.plan import TrackPlan
from logistics.tracking.readings import Reading
from logistics.tracking.rules import DEFAULT_RULES, TrackingRules
from logistics.tracking.state import LateReading, TrackState, new_state

Key = tuple[datetime, str, int]  # a reading's place in the fold: (event time, device, seq)


class FoldLog:
    """The current fold state of one waybill plus checkpoints to re-fold late readings from."""

    __slots__ = (
        "plan", "rules", "every", "keep", "state", "_marks", "_tail", "floor", "floor_gap", "floor_moved"
    )  # fmt: skip

    def __init__(
        self,
        plan: TrackPlan,
        state: TrackState,
        *,
        rules: TrackingRules = DEFAULT_RULES,
        every: int = 32,
        keep: int = 4,
    ) -> None:
        """Resume from `state` (say a stored one): readings later than it fold on; earlier ones are late.

        `state` is the floor too, not stored yet (`floor_moved`)."""
        self.plan = plan
        self.rules = rules
        self.every = every
        self.keep = keep
        # _marks[i] = (state after the readings before _tail[index], index); _marks[0] is the base.
        self._marks: list[tuple[TrackState, int]] = [(state.copy(), 0)]
        self._tail: list[Reading] = []
        self.state = state
        # The floor: None while it is only in the store (see `resume`); `floor_gap` readings before _marks[0]
        # (None: not known); `floor_moved`: it differs from the stored one.
        self.floor: TrackState | None = self._marks[0][0]
        self.floor_gap: int | None = 0
        self.floor_moved = True

    @classmethod
    def resume(
        cls,
        plan: TrackPlan,
        state: TrackState,
        *,
        checkpoint_gap: int | None,
        rules: TrackingRules = DEFAULT_RULES,
        every: int = 32,
        keep: int = 4,
    ) -> FoldLog:
        """Resume from a stored state whose stored checkpoint (the floor, left in the store until `fold_in`
        needs it) lies `checkpoint_gap` readings before it (None: how many is not known)."""
        log = cls(plan, state, rules=rules, every=every, keep=keep)
        log.floor, log.floor_gap, log.floor_moved = None, checkpoint_gap, False
        return log

    @classmethod
    def from_checkpoint(
        cls,
        plan: TrackPlan,
        checkpoint: TrackState,
        readings: Iterable[Reading],
        *,
        rules: TrackingRules = DEFAULT_RULES,
        every: int = 32,
        keep: int = 4,
    ) -> FoldLog:
        """Fold on from a stored checkpoint (the floor) with every reading stored after it.

        Raises `LateReading` if a reading is not later than the checkpoint."""
        batch = ordered(readings)
        if batch and checkpoint.last_key is not None and fold_key(batch[0]) <= checkpoint.last_key:
            raise LateReading(f"reading {batch[0].device_id}#{batch[0].seq} is not after the checkpoint")
        log = cls(plan, checkpoint, rules=rules, every=every, keep=keep)
        log.floor_moved = False
        log._refold(0, batch)
        return log

    @classmethod
    def replay(
        cls,
        plan: TrackPlan,
        readings: Iterable[Reading],
        *,
        rules: TrackingRules = DEFAULT_RULES,
        every: int = 32,
        keep: int = 4,
    ) -> FoldLog:
        """Fold every reading of a waybill from the start, keeping checkpoints over the most recent ones."""
        log = cls(plan, new_state(), rules=rules, every=every, keep=keep)
        log._refold(0, ordered(readings))
        return log

    @property
    def tail_size(self) -> int:
        return len(self._tail)

    @property
    def behind(self) -> int | None:
        """Readings folded after the floor (None: not known); store it beside the floor."""
        return None if self.floor_gap is None else self.floor_gap + len(self._tail)

    @property
    def floor_stale(self) -> bool:
        """The floor is only in the store and lies too far behind (or how far is not known)."""
        if self.floor is not None:
            return False  # it is the oldest kept checkpoint: moves on with it
        behind = self.behind
        return behind is None or behind > 2 * self.every * self.keep

    def fold_in(
        self,
        readings: list[Reading],
        checkpoint: Callable[[], TrackState | None],
        stored_after: Callable[[Key | None], Iterable[Reading]],
    ) -> FoldLog | None:
        """Fold new readings in, already stored: this log (`add`) or one re-folded from the floor; None when
        every stored reading is needed (a reading older than the floor, or no floor stored).

        `checkpoint()`: the stored checkpoint, asked for only when the floor is not held here;
        `stored_after(key)`: the stored readings later than `key` (all of them for None), the new ones
        included. They are asked for when a reading is older than every kept checkpoint, or when the stored
        checkpoint lies more than `2 * every * keep` readings behind: either way at most about that many
        readings plus the new ones, however long the waybill's history.
        """
        try:
            self.add(readings)
        except LateReading:
            late = True
        else:
            if not self.floor_stale:
                return self  # the hot path
            late = False
        floor = self.floor if self.floor is not None else checkpoint()
        if floor is None:  # none usable stored: from now on the oldest kept checkpoint is the floor
            self.floor, self.floor_gap, self.floor_moved = self._marks[0][0], 0, True
            return None if late else self
        if late and floor.last_key is not None and min(fold_key(r) for r in readings) <= floor.last_key:
            return None
        return FoldLog.from_checkpoint(
            self.plan,
            floor,
            stored_after(floor.last_key),
            rules=self.rules,
            every=self.every,
            keep=self.keep,
        )

    def add(self, readings: Iterable[Reading]) -> TrackState:
        """Fold new readings in (any order, any lateness within the kept checkpoints); the new state.

        Raises `LateReading`, leaving the log unchanged, when a reading is older than the oldest checkpoint.
        """
        batch = ordered(readings)
        if not batch:
            return self.state
        first = fold_key(batch[0])
        if self.state.last_key is None or first > self.state.last_key:
            fold_readings(self.state, self.plan, batch, self.rules)  # the checkpoints are copies: no aliasing
            self._tail.extend(batch)
            self._mark()
            return self.state
        # Late: re-fold from the last checkpoint before the earliest new reading.
        for m in range(len(self._marks) - 1, -1, -1):
            mark, index = self._marks[m]
            if mark.last_key is None or mark.last_key < first:
                self._refold(m, ordered([*self._tail[index:], *batch]))
                return self.state
        r = batch[0]
        raise LateReading(f"reading {r.device_id}#{r.seq} at {r.ts.isoformat()} is older than the kept fold")

    def _refold(self, m: int, readings: list[Reading]) -> None:
        """Replace everything after checkpoint m by the fold of `readings`, checkpointing on the way."""
        state, index = self._marks[m]
        del self._marks[m + 1 :]
        del self._tail[index:]
        state = state.copy()
        for start in range(0, len(readings), self.every):
            chunk = readings[start : start + self.every]
            fold_readings(state, self.plan, chunk, self.rules)
            self._tail.extend(chunk)
            if len(chunk) == self.every:
                self._marks.append((state.copy(), len(self._tail)))
        self.state = state
        self._trim()

    def _mark(self) -> None:
        if len(self._tail) - self._marks[-1][1] >= self.every:
            self._marks.append((self.state.copy(), len(self._tail)))
            self._trim()

    def _trim(self) -> None:
        excess = len(self._marks) - self.keep
        if excess > 0:
            drop = self._marks[excess][1]
            del self._tail[:drop]
            self._marks = [(s, i - drop) for s, i in self._marks[excess:]]
            # The new oldest checkpoint is the fold of every reading up to its last one: the floor now.
            self.floor, self.floor_gap, self.floor_moved = self._marks[0][0], 0, True
