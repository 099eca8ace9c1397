"""The warehouse floor in headless Chromium: an operator picks an order and ships what was picked, and plans
the day's delivery run, seeing the stops in visiting order as the API stored them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, shoot, sign_in
from tests.browser.test_dashboard_details import unlabelled_controls

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
            r = api.post(f"/v1/orders/{order.json()['id']}/picks", json={"lines": [{"sku": sku, "qty": 1}]})
            assert r.status_code == 201, r.text
        refs.append(ref)
    # an order with only a postcode: offline it cannot be placed, and the run lists it with why
    with server.api(seller) as api:
        lost = api.post(
            "/v1/orders",
            json={
                "order_ref": "NOWHERE-" + uuid.uuid4().hex[:4],
                "ship_to": {"country": "DE", "postcode": "47051"},
                "lines": [{"sku": sku, "qty": 1}],
            },
        ).json()
    with server.api(operator) as api:
        r = api.post(f"/v1/orders/{lost['id']}/picks", json={"lines": [{"sku": sku, "qty": 1}]})
        assert r.status_code == 201, r.text
        now = datetime.fromisoformat(api.get("/healthz").json()["now"].replace("Z", "+00:00"))
    tomorrow = now.date() + timedelta(days=1)
    while tomorrow.weekday() >= 5:
        tomorrow += timedelta(days=1)

    sign_in(page, operator)
    page.goto(server.base + "/#/warehouses")
    panel = page.locator("#p-delivery")
    panel.locator("#dr-warehouse option", has_text=code).wait_for(state="attached")
    page.select_option("#dr-warehouse", code)
    page.locator("#dr-date:not([value=''])").wait_for(state="attached")
    # the day picker defaults to the service clock's next working day
    assert page.input_value("#dr-date") == tomorrow.isoformat()
    panel.get_by_role("button", name="Plan run").click()
    rows = panel.locator(".delivery-run tbody tr")
    rows.first.wait_for()
    assert rows.count() == 3
    unserved = panel.locator(".unserved-list li")
    assert unserved.count() == 1 and lost["order_ref"] in unserved.inner_text()
    assert "cannot be placed" in unserved.locator(".unserved-reason").inner_text()
    # per van: ETA and load after each stop, distance and duration
    assert rows.first.locator("td").nth(4).inner_text().endswith("Z")
    assert panel.locator(".van-distance").first.inner_text().endswith("km")
    assert panel.locator(".van-duration").first.inner_text().endswith("min")
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
    # what still waits for the day: the order that cannot be placed, with why
    panel.get_by_role("button", name="Waiting orders").click()
    waiting = panel.locator("#dr-candidates tbody tr")
    waiting.first.wait_for()
    assert waiting.count() == 1 and lost["order_ref"] in waiting.inner_text()
    assert "cannot be placed" in waiting.inner_text()


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


def test_operator_restocks_and_disposes_units_waiting_for_refurbishment(page: Any, server: Server) -> None:
    admin = server.key("admin")
    code = "R" + uuid.uuid4().hex[:6].upper()
    with server.api(admin) as api:
        r = api.post(
            "/v1/warehouses",
            json={"code": code, "name": "Refurb DC", "country": "DE", "lat": 51.4, "lon": 6.8},
        )
        assert r.status_code == 201, r.text
    seller, operator = server.key("seller"), server.key("operator", code)
    sku = "LAMP-" + uuid.uuid4().hex[:4].upper()
    with server.api(seller) as api:
        r = api.post("/v1/skus", json={"sku": sku, "name": "Lamp", "weight_kg": 2, "volume_m3": 0.02})
        assert r.status_code == 201, r.text
        inbound = api.post("/v1/inbound", json={"warehouse": code, "lines": [{"sku": sku, "qty": 5}]})
    with server.api(operator) as api:
        r = api.post(f"/v1/inbound/{inbound.json()['id']}/receipts", json={"lines": [{"sku": sku, "qty": 5}]})
        assert r.status_code == 201, r.text
    with server.api(seller) as api:
        order = api.post(
            "/v1/orders",
            json={
                "order_ref": "RF-" + uuid.uuid4().hex[:6],
                "ship_to": {"country": "DE"},
                "lines": [{"sku": sku, "qty": 3}],
            },
        ).json()
    with server.api(operator) as api:
        assert api.post(f"/v1/orders/{order['id']}/ship", json={}).status_code == 200
    with server.api(seller) as api:
        rma = api.post(
            "/v1/returns",
            json={"order_id": order["id"], "lines": [{"sku": sku, "qty": 3, "reason": "flickers"}]},
        ).json()
    with server.api(operator) as api:
        r = api.post(
            f"/v1/returns/{rma['id']}/receipts", json={"warehouse": code, "lines": [{"sku": sku, "qty": 3}]}
        )
        assert r.status_code == 201, r.text
        r = api.post(
            f"/v1/returns/{rma['id']}/inspections", json={"lines": [{"sku": sku, "qty": 3, "grade": "B"}]}
        )
        assert r.status_code == 201 and r.json()["awaiting_refurbishment"][0]["qty"] == 3, r.text

    def stock() -> tuple[int, int]:
        with server.api(operator) as api:
            rows = api.get("/v1/inventory", params={"warehouse": code, "sku": sku}).json()
        return sum(x["on_hand"] for x in rows), sum(x["refurbish"] for x in rows)

    assert stock() == (2, 3)
    sign_in(page, operator)
    page.goto(server.base + "/#/warehouses")
    row = page.locator(f"#returns tbody tr[data-rma='{rma['id']}']")
    line = row.locator(".refurbish-line", has_text=sku)
    line.wait_for()
    assert f"3× {sku} @ {code}" in line.inner_text()
    qty = page.get_by_label(f"Units of {sku} at {code} to refurbish (return {rma['id']})")
    assert qty.input_value() == "3"  # starts at all that waits
    assert unlabelled_controls(page) == []
    page.set_viewport_size(
        {"width": 390, "height": 844}
    )  # the controls wrap on a phone; the page never scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    line.get_by_role("button", name="Dispose").wait_for()
    # more than waits: the problem is shown and nothing moves
    qty.fill("4")
    line.get_by_role("button", name="Restock").click()
    page.locator("#p-returns .problem").wait_for()
    assert stock() == (2, 3)
    # restock two: they are pick stock again, one still waits
    qty.fill("2")
    line.get_by_role("button", name="Restock").click()
    row.locator(".refurbish-line", has_text=f"1× {sku}").wait_for()
    assert stock() == (4, 1)
    # dispose the last one: nothing waits any more, the unit went to scrap
    line = row.locator(".refurbish-line", has_text=sku)
    # disposing cannot be undone: the dashboard asks first, naming what goes
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    line.get_by_role("button", name="Dispose").click()
    row.locator(".refurbish-none").wait_for()
    assert len(asked) == 1 and sku in asked[0]
    assert stock() == (4, 0)
    with server.api(operator) as api:
        got = api.get(f"/v1/returns/{rma['id']}").json()
    assert sorted((x["outcome"], x["qty"]) for x in got["refurbishments"]) == [("dispose", 1), ("restock", 2)]
    assert got["awaiting_refurbishment"] == []


def test_operator_replans_a_day_after_an_order_is_cancelled(page: Any, server: Server) -> None:
    admin = server.key("admin")
    code = "Q" + uuid.uuid4().hex[:6].upper()
    with server.api(admin) as api:
        r = api.post(
            "/v1/warehouses",
            json={"code": code, "name": "Replan DC", "country": "DE", "lat": 51.43, "lon": 6.76},
        )
        assert r.status_code == 201, r.text
    seller, operator = server.key("seller"), server.key("operator", code)
    sku = "BOX-" + uuid.uuid4().hex[:4].upper()
    with server.api(seller) as api:
        r = api.post("/v1/skus", json={"sku": sku, "name": "Box", "weight_kg": 3, "volume_m3": 0.02})
        assert r.status_code == 201, r.text
        inbound = api.post("/v1/inbound", json={"warehouse": code, "lines": [{"sku": sku, "qty": 6}]})
    with server.api(operator) as api:
        r = api.post(f"/v1/inbound/{inbound.json()['id']}/receipts", json={"lines": [{"sku": sku, "qty": 6}]})
        assert r.status_code == 201, r.text
    orders = []
    for lat, lon in CUSTOMERS:
        ref = "RP-" + uuid.uuid4().hex[:6]
        with server.api(seller) as api:
            body = {
                "order_ref": ref,
                "ship_to": {"country": "DE", "lat": lat, "lon": lon},
                "lines": [{"sku": sku, "qty": 1}],
            }
            order = api.post("/v1/orders", json=body).json()
        with server.api(operator) as api:
            r = api.post(f"/v1/orders/{order['id']}/picks", json={"lines": [{"sku": sku, "qty": 1}]})
            assert r.status_code == 201, r.text
        orders.append(order)

    sign_in(page, operator)
    page.goto(server.base + "/#/warehouses")
    panel = page.locator("#p-delivery")
    panel.locator("#dr-warehouse option", has_text=code).wait_for(state="attached")
    page.select_option("#dr-warehouse", code)
    page.locator("#dr-date:not([value=''])").wait_for(state="attached")
    panel.get_by_role("button", name="Plan run").click()
    panel.locator(".delivery-run tbody tr").nth(2).wait_for()
    first = panel.locator(".delivery-run").get_attribute("data-run")
    # the customer of the first order cancels; the run marks the stop, the operator re-plans the day
    with server.api(seller) as api:
        assert api.post(f"/v1/orders/{orders[0]['id']}/cancel", json={}).status_code == 200
    panel.get_by_role("button", name="Re-plan").click()
    fresh = panel.locator(f".delivery-run:not([data-run='{first}'])")
    fresh.locator("tbody tr").first.wait_for()
    shown = sorted(fresh.locator("tbody tr").nth(i).locator("td").nth(2).inner_text() for i in range(2))
    assert fresh.locator("tbody tr").count() == 2
    assert shown == sorted(o["order_ref"] for o in orders[1:])
    second = fresh.get_attribute("data-run")
    with server.api(operator) as api:
        runs = api.get(f"/v1/warehouses/{code}/delivery-runs").json()
    assert [(x["id"], x["status"], x["superseded_by"]) for x in runs] == [
        (second, "current", None),
        (first, "superseded", second),
    ]
    # Show reads both back: the current run first, the superseded one marked
    panel.get_by_role("button", name="Show").click()
    panel.locator(f".delivery-run[data-run='{first}'][data-status='superseded']").wait_for()
    assert panel.locator(".delivery-run").first.get_attribute("data-run") == second
    assert f"superseded by {second}" in panel.locator(f".delivery-run[data-run='{first}']").inner_text()
