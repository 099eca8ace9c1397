"""Waybills' folds kept in memory between batches by one ingest process (PostgreSQL only)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from logistics.tracking.foldlog import FoldLog
from logistics.tracking.plan import TrackPlan


@dataclass
class KeptFold:
    """A waybill's row as written, with its plan and fold."""

    row: dict[str, Any]
    plan: TrackPlan
    fold: FoldLog


class FoldCache:
    """Waybills' folds kept in memory between batches by one ingest process (PostgreSQL only).

    An entry is valid only for the exact row version it was written with: PostgreSQL's `xmin` (the
    transaction that wrote the version) and `ctid` (where it lies), which every UPDATE of the row changes,
    by whichever process or statement, so another process's write (or a person's, or the scheduler's)
    makes the entry miss and the row is read afresh. Entries are staged during a batch and kept only once
    its transaction has committed; a failed batch drops the cache.
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[str, KeptFold]] = OrderedDict()
        self._staged: dict[str, tuple[str, KeptFold]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, waybill_no: str, version: str) -> KeptFold | None:
        entry = self._entries.pop(waybill_no, None)  # taken out: staged again if the batch writes it back
        if entry is not None and entry[0] == version:
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def stage(self, waybill_no: str, version: str, kept: KeptFold) -> None:
        self._staged[waybill_no] = (version, kept)

    def commit(self) -> None:
        """The batch committed: keep what it staged (least recently written entries go first)."""
        for waybill_no, entry in self._staged.items():
            self._entries[waybill_no] = entry
            self._entries.move_to_end(waybill_no)
        self._staged.clear()
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self._staged.clear()

    def __len__(self) -> int:
        return len(self._entries)
