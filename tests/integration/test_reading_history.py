"""A waybill's stored readings read back for its track and condition charts: oldest first, in a time window,
keyset-paginated, scoped to the waybill's tenant."""

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


def test_readings_come_back_oldest_first_in_pages_and_windows(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no = _book(client, h, _quote(client, h))["waybill_no"]
    dev = f"dev-hist-{no}"
    client.post("/v1/devices", json={"device_id": dev, "kind": "reefer"}, headers=h)
    client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=h)
    first = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"][0]
    start = datetime.fromisoformat(first["planned_departure"].replace("Z", "+00:00")) - timedelta(hours=3)
    clock.set(start + timedelta(hours=2))

    def at(i: int) -> str:
        return (start + timedelta(minutes=10 * i)).isoformat().replace("+00:00", "Z")

    sent = [
        {
            **_reading(i, at(i), first["lat"], first["lon"] + i / 1000),
            "temp_c": 4.0 + i,
            "battery_pct": 90 - i,
        }
        for i in (5, 1, 3, 2, 4)  # out of order: read back by event time
    ]
    topic = f"xborder/v1/devices/{dev}/telemetry"
    with container.db.session() as s:
        process_batch(s, [Message(topic, json.dumps(r).encode(), 1) for r in sent], clock.now())

    url = f"/v1/waybills/{no}/readings"
    whole = client.get(url, headers=h).json()
    assert [(r["seq"], r["ts"], r["temp_c"], r["battery_pct"]) for r in whole["items"]] == [
        (i, at(i), 4.0 + i, 90 - i) for i in range(1, 6)
    ]
    assert whole["next"] is None
    assert whole["items"][0]["lon"] == first["lon"] + 1 / 1000
    assert whole["items"][0]["quarantine"] is None
    assert "shock_g" not in whole["items"][0]  # only the figures the tracker sent

    seen, cursor = [], None
    while True:
        page = client.get(
            url, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=h
        ).json()
        seen += [r["seq"] for r in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5]

    window = client.get(url, params={"from": at(2), "to": at(4)}, headers=h).json()
    assert [r["seq"] for r in window["items"]] == [2, 3]  # from inclusive, to exclusive

    assert client.get(url, headers=keys.headers(Role.FORWARDER)).status_code == 404  # another tenant
    bad = client.get(url, params={"from": at(4), "to": at(2)}, headers=h)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert client.get(url, params={"cursor": "nonsense"}, headers=h).status_code == 422
