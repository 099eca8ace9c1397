"""Containers heading to a warehouse, for its operator: the open inbound notices and transfers bound to it,
with the shipment's status, live ETA and last position from tracking, and nothing more of the waybill."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from api.container import Container
from kernel.clock import FixedClock
from kernel.identity import Role, TenantKind
from kernel.mqtt import Message
from logistics.ingest import process_batch
from tests.conftest import Keys
from tests.integration.test_shipments_api import _book, _quote, _reading


def test_the_operator_sees_the_containers_heading_to_its_warehouse_with_their_live_eta(
    client: TestClient, keys: Keys, admin: dict[str, str], container: Container, clock: FixedClock
) -> None:
    code = "IN" + secrets.token_hex(3).upper()
    body = {"code": code, "name": "Duisburg", "country": "DE", "lat": 51.43, "lon": 6.76, "node_id": "DUI"}
    assert client.post("/v1/warehouses", json=body, headers=admin).status_code == 201
    fwd = keys.headers(Role.FORWARDER)
    waybill = client.get(f"/v1/waybills/{_book(client, fwd, _quote(client, fwd))['waybill_no']}", headers=fwd)
    no, eta = waybill.json()["waybill_no"], waybill.json()["eta"]
    seller_id = keys.tenant(TenantKind.SELLER, "Yibin Tea Co")
    seller = keys.headers(Role.SELLER, seller_id)
    sku = f"TEA{secrets.token_hex(2).upper()}"
    item = {"sku": sku, "name": "Tea", "weight_kg": 0.3, "volume_m3": 0.001}
    assert client.post("/v1/skus", json=item, headers=seller).status_code == 201
    asn = client.post(
        "/v1/inbound",
        json={"warehouse": code, "waybill_no": no, "lines": [{"sku": sku, "qty": 40}]},
        headers=seller,
    )
    assert asn.status_code == 201, asn.text
    operator = keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR, "3PL"), [code])

    url = f"/v1/warehouses/{code}/incoming"
    answer = client.get(url, headers=operator)
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["items"]
    assert (row["kind"], row["id"], row["waybill_no"], row["status"]) == (
        "inbound",
        asn.json()["id"],
        no,
        "IN_TRANSIT",
    )
    assert row["shipment"] == {"status": "BOOKED", "eta": eta, "position": None}

    # A reading moves the shipment: its last position shows, without the tracker's other figures.
    dev = f"dev-inc-{no}"
    client.post("/v1/devices", json={"device_id": dev, "kind": "container"}, headers=fwd)
    client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=fwd)
    first = waybill.json()["itinerary"]["stops"][0]
    ts = datetime.fromisoformat(first["planned_departure"].replace("Z", "+00:00")) - timedelta(hours=1)
    clock.set(ts + timedelta(minutes=30))
    stamp = ts.isoformat().replace("+00:00", "Z")
    reading = {**_reading(1, stamp, first["lat"], first["lon"]), "temp_c": 21.5}
    with container.db.session() as s:
        topic = f"xborder/v1/devices/{dev}/telemetry"
        process_batch(s, [Message(topic, json.dumps(reading).encode(), 1)], clock.now())
    [row] = client.get(url, headers=operator).json()["items"]
    assert row["shipment"]["position"] == {"lat": first["lat"], "lon": first["lon"], "at": stamp}

    assert client.get(url, headers=keys.headers(Role.OPERATOR, None, ["ELSEWHERE"])).status_code == 404
    assert client.get(url, headers=seller).status_code == 403
    assert client.get(url, headers=fwd).status_code == 403
    assert client.get(url, headers=admin).json()["items"] == [row]
    assert client.get("/v1/warehouses/NOSUCH/incoming", headers=admin).status_code == 404
    # received, it is no longer incoming
    got = client.post(
        f"/v1/inbound/{asn.json()['id']}/receipts",
        json={"lines": [{"sku": sku, "qty": 40}]},
        headers=operator,
    )
    assert got.status_code in (200, 201), got.text
    assert client.get(url, headers=operator).json()["items"] == []
    # the operator's inventory names the seller whose stock it runs
    [stock] = client.get("/v1/inventory", params={"warehouse": code}, headers=operator).json()
    assert (stock["seller_id"], stock["seller_name"], stock["on_hand"]) == (seller_id, "Yibin Tea Co", 40)
