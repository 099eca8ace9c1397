"""A tracker's seq may be any integer the payload allows (up to 2**63 - 1), on every database."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import Message
from logistics.ingest import process_batch
from logistics.tables import devices, readings
from tests.conftest import Keys
from tests.integration.test_shipments_api import _book, _quote, _reading


def test_a_seq_beyond_32_bits_is_stored(client: TestClient, keys: Keys, container, clock: FixedClock) -> None:
    h = keys.headers(Role.FORWARDER)
    no = _book(client, h, _quote(client, h))["waybill_no"]
    dev = f"dev-seq-{no}"
    client.post("/v1/devices", json={"device_id": dev, "kind": "container"}, headers=h)
    client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=h)
    origin = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"][0]
    at = datetime.fromisoformat(origin["planned_departure"].replace("Z", "+00:00")) - timedelta(hours=1)
    clock.set(at + timedelta(minutes=5))
    big = 2**62 + 7
    payload = json.dumps(_reading(big, at.isoformat().replace("+00:00", "Z"), origin["lat"], origin["lon"]))
    with container.db.session() as s:
        result = process_batch(
            s, [Message(f"xborder/v1/devices/{dev}/telemetry", payload.encode(), 1)], clock.now()
        )
    assert (result.accepted, result.deadletter) == (1, 0)
    with container.db.session() as s:
        assert s.execute(select(readings.c.seq).where(readings.c.device_id == dev)).scalar_one() == big
        assert s.execute(select(devices.c.last_seq).where(devices.c.device_id == dev)).scalar_one() == big
