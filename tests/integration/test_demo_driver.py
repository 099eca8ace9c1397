"""The demo's tenants at work: on the service clock, through the public API, the driver places orders,
picks and ships them, plans delivery runs, grades returns, and declares and lifts a disruption."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.bootstrap import build
from api.demo_driver import DemoDriver
from api.migrate import upgrade
from api.seed import seed_demo
from kernel.clock import FixedClock
from kernel.db import Database, make_engine
from kernel.settings import Settings
from logistics.tables import waybills


def container_db(client: TestClient) -> Database:
    db: Database = client.app.state.container.db  # type: ignore[attr-defined]
    return db


T0 = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[TestClient, FixedClock, dict[str, str]]]:
    # Its own SQLite database: the demo's seed (tenants, warehouses DEDUI..., stock) stays out of shared data.
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    db = Database(make_engine(url))
    clock = FixedClock(T0)
    container = build(Settings(database_url=url), clock=clock, db=db)
    keys = seed_demo(db, clock, tmp_path / "demo-keys.json")
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client, clock, {name: entry["key"] for name, entry in keys.items()}
    db.engine.dispose()


def test_a_week_of_demo_life(
    demo: tuple[TestClient, FixedClock, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, clock, keys = demo
    caplog.set_level(logging.WARNING, logger="xborder.demo")
    forwarder = {"Authorization": f"Bearer {keys['forwarder']}"}
    quote = client.post(
        "/v1/quotes",
        headers=forwarder,
        json={
            "origin": "CNYIB",
            "destination": "DEDUI",
            "ready_at": "2027-03-02T00:00:00Z",
            "cargo": {"weight_kg": 8000, "volume_m3": 30, "equipment": "40HC"},
            "customs_mode": "9810",
        },
    ).json()
    booked = client.post(
        "/v1/bookings",
        headers=forwarder,
        json={"quote_id": quote["id"], "option_id": quote["options"][0]["id"]},
    ).json()
    driver = DemoDriver(client, keys)
    end = T0 + timedelta(days=7)
    while clock.now() < end:
        driver.tick(clock.now())
        clock.advance(timedelta(hours=2))
    did = "\n".join(driver.done)
    seller = {"Authorization": f"Bearer {keys['seller']}"}
    orders = client.get("/v1/orders", params={"limit": 500}, headers=seller).json()["items"]
    statuses = {o["status"] for o in orders}
    assert driver.orders_placed >= 15 and len(orders) == driver.orders_placed
    assert "SHIPPED" in statuses
    assert did.count("picked and shipped") >= 10
    assert "delivery run" in did
    returns = client.get("/v1/returns", headers=seller).json()["items"]
    assert len(returns) >= 2 and {r["status"] for r in returns} == {"INSPECTED"}
    network = {"Authorization": f"Bearer {keys['network']}"}
    disruptions = client.get("/v1/disruptions", headers=network).json()["items"]
    assert driver.disruption and driver.lifted  # declared two days in, lifted four days later
    assert f"disruption {driver.disruption} declared" in did
    assert driver.disruption not in {d["id"] for d in disruptions}  # the list shows the active ones
    asn = driver.asns[booked["waybill_no"]]  # the shipment bound for Duisburg is announced there
    inbound = client.get(f"/v1/inbound/{asn}", headers=seller).json()
    assert (inbound["warehouse"], inbound["waybill_no"]) == ("DEDUI", booked["waybill_no"])
    with container_db(client).session() as session:  # the shipment arrives (the simulator's part)
        session.execute(
            update(waybills).where(waybills.c.waybill_no == booked["waybill_no"]).values(status="ARRIVED")
        )
    driver.tick(clock.now())
    received = client.get(f"/v1/inbound/{asn}", headers=seller).json()
    assert received["status"] == "RECEIVED" and received["lines"][0]["received"] == 240
    assert not caplog.records, [r.getMessage() for r in caplog.records]  # no call was refused
