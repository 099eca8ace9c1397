"""Acknowledging and assigning a waybill's alarms: kept apart from the alarm list the readings rebuild,
keyed by the alarm's identity, so an alarm raised again after it cleared is unacknowledged again."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from api.container import Container
from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import Message
from logistics.ingest import process_batch
from tests.conftest import Keys
from tests.integration.test_shipments_api import _book, _quote, _reading


def _deliver(container: Container, clock: FixedClock, dev: str, readings: list[dict]) -> None:
    topic = f"xborder/v1/devices/{dev}/telemetry"
    with container.db.session() as s:
        process_batch(s, [Message(topic, json.dumps(r).encode(), 1) for r in readings], clock.now())


def test_an_alarm_is_acknowledged_assigned_and_unacknowledged_when_raised_again(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no = _book(client, h, _quote(client, h))["waybill_no"]
    dev = f"dev-ack-{no}"
    client.post("/v1/devices", json={"device_id": dev, "kind": "container"}, headers=h)
    client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=h)
    first = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"][0]
    start = datetime.fromisoformat(first["planned_departure"].replace("Z", "+00:00")) - timedelta(hours=3)

    def reading(seq: int, shock_g: float) -> dict:
        ts = (start + timedelta(minutes=10 * seq)).isoformat().replace("+00:00", "Z")
        return {**_reading(seq, ts, first["lat"], first["lon"]), "shock_g": shock_g}

    clock.set(start + timedelta(hours=1))
    url = f"/v1/waybills/{no}/alarms/shock/acknowledge"
    assert client.post(url, json={}, headers=h).status_code == 409  # nothing open yet
    _deliver(container, clock, dev, [reading(1, 0.2), reading(2, 9.0)])
    [shock] = client.get(f"/v1/waybills/{no}", headers=h).json()["alarms"]
    assert (shock["kind"], shock["acknowledged"], shock["assignee"]) == ("shock", False, None)

    other = keys.headers(Role.FORWARDER)
    assert client.post(url, json={"assignee": "x"}, headers=other).status_code == 404
    assert client.post(url, json={}, headers=keys.headers(Role.SELLER)).status_code == 403
    assert (
        client.post(f"/v1/waybills/{no}/alarms/nonsense/acknowledge", json={}, headers=h).status_code == 422
    )
    wrong = client.post(url, json={"raised_at": "2020-01-01T00:00:00Z"}, headers=h)
    assert wrong.status_code == 409
    assert wrong.headers["content-type"].startswith("application/problem+json")

    r = client.post(url, json={"assignee": "Li Wei (Yibin desk)", "note": "call the carrier"}, headers=h)
    assert r.status_code == 200, r.text
    acked = r.json()
    assert (acked["acknowledged"], acked["assignee"], acked["note"]) == (
        True,
        "Li Wei (Yibin desk)",
        "call the carrier",
    )
    assert acked["raised_at"] == shock["raised_at"]
    assert acked["acknowledged_at"] == clock.now().isoformat().replace("+00:00", "Z")
    listed = next(w for w in client.get("/v1/waybills", headers=h).json()["items"] if w["waybill_no"] == no)
    assert [(a["kind"], a["acknowledged"], a["assignee"]) for a in listed["alarms"]] == [
        ("shock", True, "Li Wei (Yibin desk)")
    ]
    again = client.post(url, json={"assignee": "Zhang Min"}, headers=h).json()
    assert (again["assignee"], again["note"]) == ("Zhang Min", None)  # acknowledging again replaces both

    # A reading under the threshold clears it; a later shock raises it again: unacknowledged.
    _deliver(container, clock, dev, [reading(3, 0.1), reading(4, 12.0)])
    alarms = client.get(f"/v1/waybills/{no}", headers=h).json()["alarms"]
    assert [(a["kind"], a["cleared_at"] is None, a["acknowledged"]) for a in alarms] == [
        ("shock", False, True),
        ("shock", True, False),
    ]
    listed = next(w for w in client.get("/v1/waybills", headers=h).json()["items"] if w["waybill_no"] == no)
    assert [(a["acknowledged"], a["assignee"]) for a in listed["alarms"]] == [(False, None)]
