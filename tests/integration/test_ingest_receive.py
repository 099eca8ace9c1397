"""Messages parsed on arrival (on the MQTT client's thread) keep their time of receipt through to the
stored reading, so screening against it gives the same answer live and on replay."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import Message
from logistics.ingest import process_batch, receive
from logistics.replay import replay_waybill
from logistics.tables import readings
from tests.conftest import Keys
from tests.integration.test_shipments_api import _reading, _tracked


def test_the_time_of_receipt_is_stored_and_replay_agrees(
    client: TestClient, keys: Keys, container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no, dev, stops = _tracked(client, h, "dev-rcv")
    origin = stops[0]
    fix = datetime.fromisoformat(origin["planned_departure"].replace("Z", "+00:00")) - timedelta(hours=1)
    topic = f"xborder/v1/devices/{dev}/telemetry"
    # Fix 1 is 4 minutes ahead of its receipt (allowed skew: 5), fix 2 is 6 minutes ahead (quarantined).
    arrived = fix - timedelta(minutes=4)

    def fix_message(seq: int, at: datetime) -> Message:
        return Message(
            topic, json.dumps(_reading(seq, at.isoformat(), origin["lat"], origin["lon"])).encode(), 1
        )

    messages = [
        fix_message(1, fix),
        fix_message(2, fix + timedelta(minutes=2)),
        Message(f"{topic}x", b"{}", 1),
    ]
    received = [receive(m, arrived) for m in messages]
    assert received[2].deadletters and not received[2].readings
    committed = arrived + timedelta(minutes=3)  # the batch commits later: no fix is in its future
    with container.db.session() as s:
        result = process_batch(s, messages, committed, received=received)
    assert (result.accepted, result.rejected, result.deadletter) == (1, 1, 1)
    with container.db.session() as s:
        stored = dict(
            s.execute(select(readings.c.seq, readings.c.received_at).where(readings.c.device_id == dev)).all()
        )
        report = replay_waybill(s, no, committed, check_only=True)
    assert stored == {1: arrived, 2: arrived}
    assert report["same"], report
