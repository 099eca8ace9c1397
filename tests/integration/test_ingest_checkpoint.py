"""Two ingest processes sharing a waybill's readings (PostgreSQL): each batch finds the waybill written by the
other, and often holds readings older than what the other has folded. They re-fold from the stored
checkpoint with only the readings stored after it, never from the waybill's whole history, and the track is
what a replay of every reading gives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import FakeCommunicator, Message
from logistics import tracking_store
from logistics.ingest import TelemetryIngest
from logistics.replay import replay_waybill
from logistics.tables import waybills
from logistics.tracking.derive import replay
from logistics.tracking.foldlog import Key
from logistics.tracking.readings import Reading
from logistics.tracking.state import TrackState
from tests.conftest import Keys
from tests.integration.test_ingest_cache import _journey, _tracked_waybill

pytestmark = pytest.mark.postgres

BATCH = 4
# Readings after the stored checkpoint, at most: twice `every * keep` of the fold kept in memory (32 * 4).
BOUND = 2 * 32 * 4 + BATCH


class Loads:
    """Stored readings the tracking service reads back: every one of a waybill's, or those after a key."""

    def __init__(self) -> None:
        self.full = 0
        self.after: list[int] = []  # readings read per call

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        every, after = tracking_store.load_readings, tracking_store.load_readings_after

        def load_every(session: Session, waybill_no: str) -> list[Reading]:
            self.full += 1
            return every(session, waybill_no)

        def load_after(session: Session, waybill_no: str, key: Key | None) -> list[Reading]:
            found = after(session, waybill_no, key)
            self.after.append(len(found))
            return found

        monkeypatch.setattr(tracking_store, "load_readings", load_every)
        monkeypatch.setattr(tracking_store, "load_readings_after", load_after)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Loads]:
    found = Loads()
    found.install(monkeypatch)
    yield found


def _late_by_one_batch(readings: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Batches in event-time order, each pair swapped: the later batch is folded first, by one process."""
    batches = [readings[i : i + BATCH] for i in range(0, len(readings), BATCH)]
    out = []
    for i in range(0, len(batches), 2):
        out.extend(reversed(batches[i : i + 2]))
    return out


def _messages(topic: str, batch: list[dict[str, Any]]) -> list[Message]:
    return [Message(topic, json.dumps(r).encode(), 1) for r in batch]


def _assert_like_a_replay(container: Any, no: str, now: datetime) -> None:
    with container.db.session() as s:
        report = replay_waybill(s, no, now, check_only=True)
        assert report["same"], json.dumps(report, default=str)[:4000]
        row = s.execute(select(waybills).where(waybills.c.waybill_no == no)).mappings().one()
        plan = tracking_store.track_plan(row)
        stored = tracking_store.load_readings(s, no)
    assert row["track_state"] == replay(plan, stored).to_json()
    # The stored checkpoint is the fold of every reading up to its last one; the count is of the others.
    checkpoint = TrackState.from_json(row["track_checkpoint"])
    key = checkpoint.last_key
    assert key is not None  # it moved on with the journey
    before = [r for r in stored if (r.ts, r.device_id, r.seq) <= key]
    assert row["track_checkpoint"] == replay(plan, before).to_json()
    assert row["track_since_checkpoint"] == len(stored) - len(before)


def test_two_processes_with_late_batches_read_a_bounded_tail_and_match_a_replay(
    client: TestClient, keys: Keys, container, clock: FixedClock, loads: Loads
) -> None:
    h = keys.headers(Role.FORWARDER)
    no, dev, stops = _tracked_waybill(client, h, "ckpt")
    readings = _journey(stops, per_leg=120)
    assert len(readings) > 2 * BOUND  # a replay of all of them would show
    clock.set(datetime.fromisoformat(readings[-1]["ts"].replace("Z", "+00:00")) + timedelta(hours=1))
    topic = f"xborder/v1/devices/{dev}/telemetry"
    ingests = [TelemetryIngest(container.db, clock, FakeCommunicator()) for _ in range(2)]
    batches = _late_by_one_batch(readings)
    for i, batch in enumerate(batches):
        loads.after.clear()
        result = ingests[i % 2].handle(_messages(topic, batch))
        assert result is not None and result.accepted + result.rejected == len(batch)
        assert loads.full == 1, f"batch {i} read every reading"  # only the first: nothing stored before
        assert sum(loads.after) <= BOUND, f"batch {i} read {loads.after}"
    assert all(ingest.cache.hits == 0 for ingest in ingests)  # the other process wrote every time
    assert len(loads.after) > 0  # the late batches did re-fold from the stored checkpoint
    _assert_like_a_replay(container, no, clock.now())


def test_two_processes_at_the_same_time_match_a_replay_and_read_a_bounded_tail(
    client: TestClient, keys: Keys, container, clock: FixedClock, loads: Loads
) -> None:
    h = keys.headers(Role.FORWARDER)
    waybill_devices = [_tracked_waybill(client, h, f"ckpt-{k}") for k in range(2)]
    streams = [
        [(f"xborder/v1/devices/{dev}/telemetry", r) for r in _journey(stops, per_leg=60)]
        for _, dev, stops in waybill_devices
    ]
    last = max(datetime.fromisoformat(s[-1][1]["ts"].replace("Z", "+00:00")) for s in streams)
    clock.set(last + timedelta(hours=1))
    # Both waybills' readings interleaved, pairs of batches swapped; each round both processes at once.
    mixed = [item for pair in zip(*streams, strict=False) for item in pair]
    batches = [mixed[i : i + BATCH] for i in range(0, len(mixed), BATCH)]
    rounds = [batches[i : i + 2][::-1] for i in range(0, len(batches), 2)]
    ingests = [TelemetryIngest(container.db, clock, FakeCommunicator()) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            for pair in rounds:
                barrier.wait(timeout=60)
                if k < len(pair):
                    ingests[k].handle([Message(t, json.dumps(r).encode(), 1) for t, r in pair[k]])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert loads.full <= len(waybill_devices)  # each waybill's first batch only
    assert max(loads.after) <= BOUND
    for no, _, _ in waybill_devices:
        _assert_like_a_replay(container, no, clock.now())
