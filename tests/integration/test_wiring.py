"""How the packages meet in the composition root: shipments reaching warehouses, transfers booked by the
route planner, live ETAs behind in-transit stock."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from api.container import Container
from api.scheduler import Job, Scheduler
from api.wiring import PlannerShipmentBooker, PlannerTransitTimes, WaybillEta, ingest_hooks
from kernel.clock import FixedClock
from kernel.db import Database
from kernel.identity import Role, TenantKind
from kernel.mqtt import Message
from kernel.scheduled import IDEMPOTENCY_PURGE_JOB_ID
from logistics.customs.delivery import CUSTOMS_JOB_ID
from logistics.ingest import process_batch
from logistics.scheduled import OFFLINE_JOB_ID, WEBHOOK_JOB_ID
from tests.conftest import Keys
from warehouse.scheduled import EXPIRY_JOB_ID, REPLENISHMENT_JOB_ID


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _warehouse(client: TestClient, admin: dict[str, str], node: str) -> str:
    code = "W" + uuid.uuid4().hex[:8].upper()
    r = client.post(
        "/v1/warehouses",
        headers=admin,
        json={
            "code": code,
            "name": f"test warehouse at {node}",
            "country": "DE",
            "lat": 51.43,
            "lon": 6.76,
            "node_id": node,
        },
    )
    assert r.status_code == 201, r.text
    return code


def test_a_shipment_reaching_a_warehouse_node_makes_its_inbound_notice_arrive(
    client: TestClient,
    keys: Keys,
    admin: dict[str, str],
    container: Container,
    clock: FixedClock,
) -> None:
    code = _warehouse(client, admin, "DUI")
    fwd = keys.headers(Role.FORWARDER)
    quote = client.post(
        "/v1/quotes",
        headers=fwd,
        json={
            "origin": "CNYIB",
            "destination": "DUI",
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 3000, "volume_m3": 20, "equipment": "20GP"},
            "customs_mode": "9810",
        },
    ).json()
    option = min(quote["options"], key=lambda o: len(o["legs"]))
    no = client.post(
        "/v1/bookings", headers=fwd, json={"quote_id": quote["id"], "option_id": option["id"]}
    ).json()["waybill_no"]
    seller_tenant = keys.tenant(TenantKind.SELLER)
    seller = keys.headers(Role.SELLER, seller_tenant)
    sku = f"TEA-{uuid.uuid4().hex[:6]}"
    assert (
        client.post(
            "/v1/skus",
            headers=seller,
            json={"sku": sku, "name": "Yibin green tea 250 g", "weight_kg": "0.3", "volume_m3": "0.001"},
        ).status_code
        == 201
    )
    asn = client.post(
        "/v1/inbound",
        headers=seller,
        json={"warehouse": code, "waybill_no": no, "lines": [{"sku": sku, "qty": 100}]},
    )
    assert asn.status_code == 201, asn.text
    inventory = client.get(f"/v1/inventory?sku={sku}", headers=seller).json()
    rows = inventory if isinstance(inventory, list) else inventory.get("items", inventory.get("rows", []))
    assert sum(r["in_transit"] for r in rows) == 100

    dev = f"dev-wh-{no}"
    client.post("/v1/devices", headers=fwd, json={"device_id": dev, "kind": "container"})
    client.post(f"/v1/waybills/{no}/trackers", headers=fwd, json={"device_id": dev})
    stops = client.get(f"/v1/waybills/{no}", headers=fwd).json()["itinerary"]["stops"]
    fixes = []
    for a, b in zip(stops, stops[1:], strict=False):
        t0, t1 = _dt(a["planned_departure"]), _dt(b["planned_arrival"])
        for i in range(4):
            f = i / 4
            fixes.append(
                (
                    t0 + (t1 - t0) * f,
                    a["lat"] + f * (b["lat"] - a["lat"]),
                    a["lon"] + f * (b["lon"] - a["lon"]),
                )
            )
        fixes.append((t1, b["lat"], b["lon"]))
    fixes.insert(
        0, (_dt(stops[0]["planned_departure"]) - timedelta(hours=2), stops[0]["lat"], stops[0]["lon"])
    )
    clock.set(fixes[-1][0] + timedelta(hours=1))
    topic = f"xborder/v1/devices/{dev}/telemetry"
    msgs = [
        Message(topic, json.dumps({"seq": i + 1, "ts": t.isoformat(), "lat": lat, "lon": lon}).encode(), 1)
        for i, (t, lat, lon) in enumerate(fixes)
    ]
    with container.db.session() as s:
        process_batch(s, msgs, clock.now(), hooks=ingest_hooks(container))
    assert client.get(f"/v1/waybills/{no}", headers=fwd).json()["status"] in ("ARRIVED", "AT_WAREHOUSE")
    inbound = client.get(f"/v1/inbound/{asn.json()['id']}", headers=seller).json()
    assert inbound["status"] == "ARRIVED", inbound


def test_a_transfer_books_a_waybill_through_the_route_planner(
    client: TestClient,
    keys: Keys,
    admin: dict[str, str],
    container: Container,
) -> None:
    src = _warehouse(client, admin, "DUI")
    dst = _warehouse(client, admin, "LOD")
    seller_tenant = keys.tenant(TenantKind.SELLER)
    seller = keys.headers(Role.SELLER, seller_tenant)
    operator = keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR), [src, dst])
    sku = f"BAM-{uuid.uuid4().hex[:6]}"
    client.post(
        "/v1/skus",
        headers=seller,
        json={"sku": sku, "name": "bamboo cutting board", "weight_kg": "1.2", "volume_m3": "0.004"},
    )
    asn = client.post(
        "/v1/inbound", headers=seller, json={"warehouse": src, "lines": [{"sku": sku, "qty": 40}]}
    )
    r = client.post(
        f"/v1/inbound/{asn.json()['id']}/receipts",
        headers=operator,
        json={"lines": [{"sku": sku, "qty": 40}]},
    )
    assert r.status_code in (200, 201), r.text
    t = client.post(
        "/v1/transfers",
        headers=seller,
        json={"from_warehouse": src, "to_warehouse": dst, "lines": [{"sku": sku, "qty": 10}]},
    )
    assert t.status_code == 201, t.text
    waybill_no = t.json()["waybill_no"]
    assert waybill_no and waybill_no.startswith("XB")
    wb = client.get(f"/v1/waybills/{waybill_no}", headers=admin).json()
    assert wb["itinerary"]["stops"][0]["node_id"] == "DUI"
    assert wb["itinerary"]["stops"][-1]["node_id"] == "LOD"


def test_build_serves_the_warehouse_ports_from_the_planner_and_schedules_every_packages_jobs(
    container: Container,
) -> None:
    assert isinstance(container.shipment_booker, PlannerShipmentBooker)
    assert isinstance(container.eta_lookup, WaybillEta)
    assert isinstance(container.transit_times, PlannerTransitTimes)
    assert len(container.ingest_hooks) == 2  # shipments reaching warehouses; customs milestones
    assert [job.name for job in container.jobs] == [
        OFFLINE_JOB_ID,
        WEBHOOK_JOB_ID,
        CUSTOMS_JOB_ID,
        REPLENISHMENT_JOB_ID,
        EXPIRY_JOB_ID,
        IDEMPOTENCY_PURGE_JOB_ID,
    ]


def test_the_scheduler_runs_its_jobs_once_it_leads(database: Database) -> None:
    ran = threading.Event()
    scheduler = Scheduler(database, [Job("test.probe", 0.05, ran.set)]).start()
    try:
        assert ran.wait(timeout=30)
    finally:
        scheduler.stop()
