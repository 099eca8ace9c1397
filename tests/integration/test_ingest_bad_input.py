"""Bad bytes in a batch on the real database: the bad message is dead-lettered with its reason, the rest of
the batch is committed with it (PostgreSQL refuses NUL characters in text, so they are not stored as such)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import Message
from logistics.ingest import process_batch
from logistics.tables import deadletters
from tests.conftest import Keys
from tests.integration.test_embedded_broker_acl import _booking, _register


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x00\x00{\x00}", "malformed JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"seq": 1, "ts": "2027-03-01T00:00:00Z", "lat": 1, "lon": "\x00"}', "malformed JSON"),
    ],
)
def test_nul_bytes_are_dead_lettered_and_the_rest_of_the_batch_is_kept(
    client: TestClient, keys: Keys, container, clock: FixedClock, payload: bytes, reason: str
) -> None:
    h = keys.headers(Role.FORWARDER)
    device = _register(client, h, _booking(client, h))
    topic = f"xborder/v1/devices/{device.device_id}/telemetry"
    good = {"seq": 1, "ts": "2027-02-28T23:00:00Z", "lat": 28.77, "lon": 104.63, "accuracy_m": 8}
    with container.db.session() as s:
        result = process_batch(
            s, [Message(topic, payload, 1), Message(topic, json.dumps(good).encode(), 1)], clock.now()
        )
    assert result.accepted == 1 and result.deadletter == 1
    assert reason in result.deadletters[0][1]
    with container.db.session() as s:
        stored = s.execute(
            select(deadletters.c.reason, deadletters.c.payload).where(
                deadletters.c.device_id == device.device_id
            )
        ).one()
    assert reason in stored.reason
    assert "\x00" not in stored.payload and "\ufffd" in stored.payload
    assert client.get(f"/v1/devices/{device.device_id}", headers=h).json()["last_seq"] == 1
