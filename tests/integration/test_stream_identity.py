"""The SSE stream names a status message's waybill after its MQTT topic, never after its body."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from api.container import Container
from api.stream import Broadcaster, waybill_of_topic
from kernel.identity import Role
from kernel.mqtt import Message
from tests.conftest import Keys


def _booked_waybill(client: TestClient, h: dict[str, str]) -> str:
    quote = client.post(
        "/v1/quotes",
        headers=h,
        json={
            "origin": "CNYIB",
            "destination": "DEDUI",
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 900, "volume_m3": 3, "equipment": "LCL"},
            "customs_mode": "9610",
        },
    )
    assert quote.status_code == 201, quote.text
    r = client.post(
        "/v1/bookings",
        headers=h,
        json={"quote_id": quote.json()["id"], "option_id": quote.json()["options"][0]["id"]},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["waybill_no"])


def _status(waybill_topic: str, body: dict[str, Any]) -> Message:
    return Message(f"xborder/v1/waybills/{waybill_topic}/status", json.dumps(body).encode(), retain=True)


def test_the_waybill_is_read_from_the_topic() -> None:
    assert waybill_of_topic("xborder/v1/waybills/XB123/status") == "XB123"
    assert waybill_of_topic("site/a/xborder/v1/waybills/XB123/status") == "XB123"
    assert waybill_of_topic("xborder/v1/waybills//status") is None
    assert waybill_of_topic("xborder/v1/devices/XB123/status") is None
    assert waybill_of_topic("status") is None


def test_a_body_naming_another_waybill_is_dropped_and_counted() -> None:
    b = Broadcaster()
    got: list[dict[str, Any]] = []

    async def run() -> None:
        sub = b.subscribe()
        b.on_mqtt(_status("XB-THEIRS", {"waybill_no": "XB-MINE", "status": "DELIVERED"}))
        b.on_mqtt(_status("XB-MINE", {"status": "IN_TRANSIT"}))  # no name in the body: the topic's
        b.on_mqtt(_status("XB-MINE", {"waybill_no": "XB-MINE", "status": "AT_HUB"}))
        b.on_mqtt(Message("xborder/v1/waybills/XB-MINE/status", b"not json"))
        b.on_mqtt(Message("xborder/v1/waybills/XB-MINE/status", b""))  # a cleared retained message
        await asyncio.sleep(0)  # the offers are scheduled on this loop
        while not sub[1].empty():
            got.append(sub[1].get_nowait())

    # On a thread of its own: the subscriber's event loop is this test's alone.
    thread = threading.Thread(target=asyncio.run, args=(run(),))
    thread.start()
    thread.join()
    assert got == [
        {"event": "waybill.status", "data": {"waybill_no": "XB-MINE", "status": "IN_TRANSIT"}},
        {"event": "waybill.status", "data": {"waybill_no": "XB-MINE", "status": "AT_HUB"}},
    ]
    assert b.dropped == 2


def test_a_spoofed_status_never_reaches_the_named_waybills_subscribers(
    client: TestClient, keys: Keys, container: Container
) -> None:
    h = keys.headers(Role.FORWARDER)
    mine = _booked_waybill(client, h)
    other = _booked_waybill(client, keys.headers(Role.FORWARDER))
    broadcaster = container.broadcaster
    lines: list[str] = []

    def publish_later() -> None:
        while broadcaster.subscribers() == 0:  # the stream subscribes first
            time.sleep(0.01)
        # Published under the other tenant's waybill, its body claims to be about `mine`.
        broadcaster.on_mqtt(_status(other, {"waybill_no": mine, "status": "DELIVERED"}))
        broadcaster.on_mqtt(_status(mine, {"waybill_no": mine, "status": "IN_TRANSIT"}))

    threading.Thread(target=publish_later, daemon=True).start()
    with client.stream("GET", "/v1/stream", headers=h) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    data = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    assert data == [{"waybill_no": mine, "status": "IN_TRANSIT"}]
    assert broadcaster.dropped == 1
