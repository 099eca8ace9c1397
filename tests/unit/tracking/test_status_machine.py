"""The waybill status machine under live, late and repeated readings (hypothesis stateful test).

It drives the tracking core the way the ingest does: `advance` while readings come in order, a full
re-derivation with the stored status and progress as the floor when a late one arrives.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from logistics.tracking.derive import derive, replay, update
from logistics.tracking.readings import Reading
from logistics.tracking.reconcile import STATUS_RANK
from logistics.tracking.state import snapshot
from tests.unit.tracking.journey import corridor, drive

PLAN = corridor()
JOURNEY = drive(PLAN, interval=timedelta(minutes=15))


class WaybillTracking(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = replay(PLAN, [])
        self.stored: dict[tuple[str, int], Reading] = {}
        self.next = 0  # JOURNEY[:next] have been sent (some held back)
        self.held: list[Reading] = []
        self.seen: list[tuple[int, int]] = [(0, 0)]
        self.glitches = 0

    def _receive(self, batch: list[Reading]) -> None:
        new = [r for r in batch if (r.device_id, r.seq) not in self.stored]  # the database is idempotent
        for r in new:
            self.stored[(r.device_id, r.seq)] = r
        # As the ingest does it: the state goes to the database as JSON and comes back.
        state, track = update(
            PLAN,
            json.loads(json.dumps(self.state.to_json())),
            new,
            lambda: list(self.stored.values()),
            status=self.state.status,
            progress=self.state.progress,
        )
        assert track == snapshot(state)
        self.state = state
        self.seen.append((STATUS_RANK[self.state.status], self.state.progress))

    @rule(n=st.integers(1, 6), hold=st.booleans())
    def live(self, n: int, hold: bool) -> None:
        batch = JOURNEY[self.next : self.next + n]
        self.next += len(batch)
        if hold and len(batch) > 1:  # the middle of the batch is lost for now, to come late
            self.held.append(batch.pop(len(batch) // 2))
        self._receive(batch)

    @rule()
    def late(self) -> None:
        if self.held:
            self._receive([self.held.pop(0)])

    @rule(k=st.integers(0, 10_000))
    def redelivery(self, k: int) -> None:
        if self.stored:
            values = list(self.stored.values())
            self._receive([values[k % len(values)]])

    @rule()
    def glitch(self) -> None:
        """A late fix back at the last stop reached, between the two newest readings: it can take back an
        exit that those readings had confirmed, but never the status."""
        ordered = sorted(self.stored.values(), key=lambda r: (r.ts, r.seq))
        if len(ordered) < 2 or self.state.stop_index < 0:
            return
        before, newest = ordered[-2], ordered[-1]
        at = before.ts + timedelta(minutes=1)
        if at >= newest.ts:
            return
        stop = PLAN.stops[self.state.stop_index]
        self.glitches += 1
        self._receive([replace(before, seq=100_000 + self.glitches, ts=at, lat=stop.lat, lon=stop.lon)])

    @invariant()
    def status_never_moves_backwards(self) -> None:
        assert self.seen == sorted(self.seen)

    @invariant()
    def milestones_are_those_of_all_stored_readings(self) -> None:
        track = snapshot(self.state)
        assert track.milestones == derive(PLAN, self.stored.values()).milestones

    @invariant()
    def the_newest_good_reading_is_the_position(self) -> None:
        track = snapshot(self.state)
        quarantined = {seq for seq, _ in track.quarantined}
        good = [r for r in self.stored.values() if r.seq not in quarantined]
        if good:
            assert track.position == max(good, key=lambda r: (r.ts, r.seq))


WaybillTracking.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestWaybillTracking = WaybillTracking.TestCase
