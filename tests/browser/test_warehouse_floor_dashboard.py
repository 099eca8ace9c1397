"""The warehouse floor in headless Chromium: an operator picks an order and ships what was picked, and plans
the day's delivery run, seeing the stops in visiting order as the API stored them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, shoot, sign_in

pytestmark = pytest.mark.usefixtures("chromium_executable")

CUSTOMERS = [(51.45, 6.80), (51.48, 7.00), (51.23, 6.78)]  # around Duisburg


def test_operator_plans_a_delivery_run_and_sees_its_stops(page: Any, server: Server, shots: Path) -> None:
    admin = server.key("admin")
    code = "D" + uuid.uuid4().hex[:6].upper()
    with server.api(admin) as api:
        r = api.post(
            "/v1/warehouses",
            json={"code": code, "name": "Run test DC", "country": "DE", "lat": 51.43, "lon": 6.76},
        )
        assert r.status_code == 201, r.text
    seller, operator = server.key("seller"), server.key("operator", code)
    sku = "CRATE-" + uuid.uuid4().hex[:4].upper()
    refs = []
    with server.api(seller) as api:
        assert (
            api.post(
                "/v1/skus", json={"sku": sku, "name": "Crate", "weight_kg": 8, "volume_m3": 0.05}
            ).status_code
            == 201
        )
        inbound = api.post("/v1/inbound", json={"warehouse": code, "lines": [{"sku": sku, "qty": 10}]})
        assert inbound.status_code == 201, inbound.text
    with server.api(operator) as api:
        r = api.post(
            f"/v1/inbound/{inbound.json()['id']}/receipts", json={"lines": [{"sku": sku, "qty": 10}]}
        )
        assert r.status_code == 201, r.text
    for lat, lon in CUSTOMERS:
        ref = "RUN-" + uuid.uuid4().hex[:6]
        with server.api(seller) as api:
            order = api.post(
                "/v1/orders",
                json={
                    "order_ref": ref,
                    "ship_to": {"country": "DE", "lat": lat, "lon": lon},
                    "lines": [{"sku": sku, "qty": 1}],
                },
            )
            assert order.status_code == 201, order.text
        with server.api(operator) as api:
            assert api.post(f"/v1/orders/{order.json()['id']}/ship", json={}).status_code == 200
        refs.append(ref)

    sign_in(page, operator)
    page.goto(server.base + "/#/warehouses")
    panel = page.locator("#p-delivery")
    panel.locator("#dr-warehouse option", has_text=code).wait_for(state="attached")
    page.select_option("#dr-warehouse", code)
    page.locator("#dr-date:not([value=''])").wait_for(state="attached")
    panel.get_by_role("button", name="Plan run").click()
    rows = panel.locator(".delivery-run tbody tr")
    rows.first.wait_for()
    assert rows.count() == 3
    assert sorted(rows.nth(i).locator("td").nth(2).inner_text() for i in range(3)) == sorted(refs)
    with server.api(operator) as api:
        runs = api.get(f"/v1/warehouses/{code}/delivery-runs").json()
    assert len(runs) == 1
    run = runs[0]
    shown = [
        (rows.nth(i).locator("td").nth(0).inner_text(), rows.nth(i).locator("td").nth(1).inner_text())
        for i in range(3)
    ]
    stored = [(v["van_id"], str(s["seq"])) for v in run["vans"] for s in v["stops"]]
    assert shown == stored  # vans and stops in the stored visiting order
    assert f"{run['distance_km']:.1f} km" in panel.locator(".run-distance").inner_text()
    shoot(page, shots, "delivery-run")
    # a second click sends the same idempotency key: the same run again, nothing new planned
    panel.get_by_role("button", name="Plan run").click()
    panel.locator(f".delivery-run[data-run='{run['id']}'] tbody tr").first.wait_for()
    with server.api(operator) as api:
        assert [x["id"] for x in api.get(f"/v1/warehouses/{code}/delivery-runs").json()] == [run["id"]]
    # a day with nothing to deliver: the problem is shown; Show reads the stored run back
    page.fill("#dr-date", "2027-03-20")
    panel.get_by_role("button", name="Plan run").click()
    panel.locator(".problem").wait_for()
    assert "no picked or shipped orders" in panel.locator(".problem").inner_text()
    page.fill("#dr-date", run["date"])
    panel.get_by_role("button", name="Show").click()
    panel.locator(f".delivery-run[data-run='{run['id']}'] tbody tr").first.wait_for()


def test_operator_picks_an_order_then_ships_what_was_picked(page: Any, server: Server) -> None:
    admin = server.key("admin")
    code = "K" + uuid.uuid4().hex[:6].upper()
    with server.api(admin) as api:
        r = api.post(
            "/v1/warehouses", json={"code": code, "name": "Pick DC", "country": "DE", "lat": 51.4, "lon": 6.8}
        )
        assert r.status_code == 201, r.text
    seller, operator = server.key("seller"), server.key("operator", code)
    sku = "JAR-" + uuid.uuid4().hex[:4].upper()
    ref = "PICK-" + uuid.uuid4().hex[:6]
    with server.api(seller) as api:
        assert (
            api.post(
                "/v1/skus", json={"sku": sku, "name": "Jar", "weight_kg": 1, "volume_m3": 0.01}
            ).status_code
            == 201
        )
        inbound = api.post("/v1/inbound", json={"warehouse": code, "lines": [{"sku": sku, "qty": 5}]})
    with server.api(operator) as api:
        assert (
            api.post(
                f"/v1/inbound/{inbound.json()['id']}/receipts", json={"lines": [{"sku": sku, "qty": 5}]}
            ).status_code
            == 201
        )
    with server.api(seller) as api:
        order = api.post(
            "/v1/orders",
            json={"order_ref": ref, "ship_to": {"country": "DE"}, "lines": [{"sku": sku, "qty": 3}]},
        )
        assert order.status_code == 201, order.text
    sign_in(page, operator)
    page.goto(server.base + "/#/warehouses")
    row = page.locator("#orders tbody tr", has_text=ref)
    row.get_by_role("button", name="Pick").click()
    page.locator("#orders tbody tr", has_text=ref).locator("[data-status='PICKING']").wait_for()
    assert page.locator("#orders tbody tr", has_text=ref).get_by_role("button", name="Pick").count() == 0
    with server.api(operator) as api:
        got = api.get(f"/v1/orders/{order.json()['id']}").json()
    assert [(a["qty"], a["status"]) for a in got["allocations"]] == [(3, "PICKED")]
    page.locator("#orders tbody tr", has_text=ref).get_by_role("button", name="Ship").click()
    page.locator("#orders tbody tr", has_text=ref).locator("[data-status='SHIPPED']").wait_for()
