"""A waybill's fold kept in memory, so that a late reading is re-folded from a nearby checkpoint.

`advance` continues a `TrackState` with readings later than it; a reading earlier than the state's last one
(two publishers a few milliseconds apart, a redelivery, a short backlog) would otherwise mean re-deriving
from every reading the waybill ever had. A `FoldLog` keeps the state at a checkpoint every `every` readings
and the readings after the oldest kept checkpoint: a late reading re-folds from the last checkpoint before
it, which gives exactly what `replay` over all readings gives (the fold is deterministic and sequential).
A reading older than the oldest checkpoint raises `LateReading`; the caller then re-derives from the stored
readings (`FoldLog.replay`).

Memory per waybill is bounded: `keep` state copies and the readings since the oldest, checkpoints being
`every` readings apart (more when a batch is larger: they fall between batches).
"""

from __future__ import annotations

from collections.abc import Iterable

from logistics.tracking.derive import (
    DEFAULT_RULES,
    LateReading,
    TrackingRules,
    TrackState,
    _fold,
    _key,
    new_state,
    ordered,
)
from logistics.tracking.plan import TrackPlan
from logistics.tracking.readings import Reading


class FoldLog:
    """The current fold state of one waybill plus checkpoints to re-fold late readings from."""

    __slots__ = ("plan", "rules", "every", "keep", "state", "_marks", "_tail")

    def __init__(
        self,
        plan: TrackPlan,
        state: TrackState,
        *,
        rules: TrackingRules = DEFAULT_RULES,
        every: int = 32,
        keep: int = 4,
    ) -> None:
        """Resume from `state` (say a stored one): readings later than it fold on; earlier ones are late."""
        self.plan = plan
        self.rules = rules
        self.every = every
        self.keep = keep
        # _marks[i] = (state after the readings before _tail[index], index); _marks[0] is the base.
        self._marks: list[tuple[TrackState, int]] = [(state.copy(), 0)]
        self._tail: list[Reading] = []
        self.state = state

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

    def add(self, readings: Iterable[Reading]) -> TrackState:
        """Fold new readings in (any order, any lateness within the kept checkpoints); the new state.

        Raises `LateReading`, leaving the log unchanged, when a reading is older than the oldest checkpoint.
        """
        batch = ordered(readings)
        if not batch:
            return self.state
        first = _key(batch[0])
        if self.state.last_key is None or first > self.state.last_key:
            _fold(self.state, self.plan, batch, self.rules)  # the checkpoints are copies: no aliasing
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
            _fold(state, self.plan, chunk, self.rules)
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
