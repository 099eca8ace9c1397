"""The dashboard in headless Chromium against the real server: sign-in, shipments, waybill detail, quote and
book, warehouses, live updates. Each main view is screenshotted into `shots` for a person to look at."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.browser.conftest import Server, shoot, sign_in

pytestmark = pytest.mark.usefixtures("chromium_executable")

QUOTE = {
    "origin": "CNYIB",
    "destination": "DEDUI",
    "ready_at": "2027-03-01T06:00:00Z",
    "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC", "dangerous_goods": False},
    "customs_mode": "9810",
    "max_options": 8,
}


def book_through_api(server: Server, key: str) -> dict[str, Any]:
    """Quote and book the first option with the public API; returns the waybill as the API shows it."""
    with server.api(key) as api:
        quote = api.post("/v1/quotes", json=QUOTE)
        assert quote.status_code == 201, quote.text
        option = quote.json()["options"][0]
        booking = api.post("/v1/bookings", json={"quote_id": quote.json()["id"], "option_id": option["id"]})
        assert booking.status_code == 201, booking.text
        waybill = api.get(f"/v1/waybills/{booking.json()['waybill_no']}")
        assert waybill.status_code == 200, waybill.text
        return dict(waybill.json())


def test_a_bad_key_shows_the_problem_and_stays_signed_out(page: Any, shots: Path) -> None:
    sign_in_form = page.locator("#signin")
    page.fill("#api-key", "xb_not_a_real_key_" + uuid.uuid4().hex)
    page.click("#signin button[type=submit]")
    problem = sign_in_form.locator(".problem")
    problem.wait_for()
    assert "Unauthorized" in problem.locator(".problem-title").inner_text()
    assert problem.locator(".problem-detail").inner_text().strip() != ""
    assert page.evaluate("sessionStorage.getItem('xborder.apiKey')") is None
    assert page.locator("#nav").is_hidden()
    shoot(page, shots, "sign-in-bad-key")


def test_sign_in_shows_role_and_service_clock_and_sign_out_forgets_the_key(page: Any, server: Server) -> None:
    key = server.cli_key("forwarder")
    sign_in(page, key)
    assert page.locator("#whoami .role").inner_text().lower() == "forwarder"
    # The header shows the service clock (XB_CLOCK_START is 2027-03-01), not the browser's.
    # (arrow functions: a bare expression would be eval'd in the page, which the dashboard's CSP forbids)
    page.wait_for_function("() => document.getElementById('clock').textContent.startsWith('2027-03-')")
    assert page.evaluate("sessionStorage.getItem('xborder.apiKey')") == key
    page.click("#signout")
    page.locator("#signin").wait_for()
    assert page.evaluate("sessionStorage.getItem('xborder.apiKey')") is None
    assert page.locator("#whoami").is_hidden()


def test_the_key_survives_a_reload_within_the_tab(page: Any, server: Server) -> None:
    sign_in(page, server.key("forwarder"))
    page.reload()
    page.wait_for_selector("#whoami:not([hidden])")
    assert page.locator("#signin").count() == 0


def test_shipments_list_shows_booked_waybills_and_filters_by_status(
    page: Any, server: Server, shots: Path
) -> None:
    key = server.key("forwarder")
    waybill = book_through_api(server, key)
    sign_in(page, key)
    page.goto(server.base + "/#/shipments")
    row = page.locator(f"#waybills tr[data-waybill='{waybill['waybill_no']}']")
    row.wait_for()
    assert row.locator(".pill").inner_text().replace(" ", "_") == waybill["status"] == "BOOKED"
    assert waybill["destination"] in row.inner_text()
    shoot(page, shots, "shipments")

    page.select_option("#status-filter", "DELIVERED")
    page.locator("#waybills tr.empty").wait_for()
    assert row.count() == 0

    page.select_option("#status-filter", "BOOKED")
    row.wait_for()


def test_waybill_detail_shows_planned_milestones_map_and_event_log(
    page: Any, server: Server, shots: Path
) -> None:
    key = server.key("forwarder")
    waybill = book_through_api(server, key)
    planned = {(m["code"], m["location"]) for m in waybill["milestones"] if m["classifier"] == "PLN"}
    assert planned, "a booked waybill has planned milestones"
    sign_in(page, key)
    page.goto(server.base + f"/#/waybills/{waybill['waybill_no']}")
    page.locator("#timeline tbody tr").first.wait_for()
    rows = page.locator("#timeline tbody tr")
    assert rows.count() == len(planned)
    # every planned row shows its planned time and nothing actual yet
    assert rows.locator("td.pln time").count() == len(planned)
    assert rows.locator("td.act time").count() == 0
    codes = set(rows.locator("td:first-child").all_inner_texts())
    assert codes == {code for code, _ in planned}
    # the map draws every stop of the itinerary
    stops = waybill["itinerary"]["stops"]
    page.locator("#route-map circle.stop").first.wait_for(state="attached")
    assert page.locator("#route-map circle.stop").count() == len(stops)
    assert page.locator("#route-map path.planned").count() == len(waybill["itinerary"]["legs"])
    assert page.locator("#route-map path.country").count() > 150  # drawn on the Natural Earth basemap
    page.locator("#events tbody tr").first.wait_for()
    assert page.locator("#events tbody tr").count() >= len(planned)
    shoot(page, shots, "waybill")


def test_an_unknown_waybill_shows_the_problem(page: Any, server: Server) -> None:
    sign_in(page, server.key("forwarder"))
    page.goto(server.base + "/#/waybills/XBNOSUCHONE")
    problem = page.locator(".problem")
    problem.wait_for()
    assert "Not found" in problem.inner_text()
    assert "XBNOSUCHONE" in problem.inner_text()


def test_quote_form_returns_options_and_book_opens_the_waybill(
    page: Any, server: Server, shots: Path
) -> None:
    key = server.key("forwarder")
    sign_in(page, key)
    page.goto(server.base + "/#/quote")
    # the origin and destination inputs suggest the network's nodes
    with server.api(key) as api:
        nodes = api.get("/v1/network/nodes")
    assert nodes.status_code == 200, nodes.text
    page.wait_for_function(f"() => document.querySelectorAll('#nodes option').length === {len(nodes.json())}")
    page.fill("#q-destination", "DEDUI")
    page.fill("#q-ready_at", "2027-03-01T06:00")
    page.click("#quote-form button[type=submit]")
    options = page.locator("#options tbody tr")
    options.first.wait_for(timeout=30_000)
    labels = set(page.locator("#options .label").all_inner_texts())
    assert {"cheapest", "fastest", "greenest"} <= labels
    assert options.count() >= 1
    shoot(page, shots, "quote")

    option_id = options.first.get_attribute("data-option")
    options.first.locator("button.book").click()
    page.wait_for_url("**/#/waybills/*")
    page.locator("#timeline tbody tr").first.wait_for()
    waybill_no = page.url.rsplit("/", 1)[-1]
    with server.api(key) as api:
        shown = api.get(f"/v1/waybills/{waybill_no}").json()
    assert shown["status"] == "BOOKED"
    assert shown["itinerary"]["option_id"] == option_id


def test_quote_form_shows_field_errors_from_the_problem(page: Any, server: Server) -> None:
    sign_in(page, server.key("forwarder"))
    page.goto(server.base + "/#/quote")
    page.fill("#q-destination", "DEDUI")
    page.fill("#q-weight_kg", "-5")
    page.click("#quote-form button[type=submit]")
    problem = page.locator(".quote-results .problem")
    problem.wait_for()
    assert "weight_kg" in problem.locator(".problem-errors").inner_text()
    assert page.locator(".field.invalid[data-field='weight_kg']").count() == 1
    assert page.locator("#options").count() == 0


def publish_status(server: Server, *messages: dict[str, Any]) -> None:
    """Publish waybill status messages as the service does when tracking moves a waybill (QoS 1, in order)."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"xb-browser-test-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv311,
    )
    client.username_pw_set("xborder-service", server.env["XB_MQTT_SERVICE_PASSWORD"])
    client.connect("127.0.0.1", server.mqtt_port)
    client.loop_start()
    try:
        for message in messages:
            topic = f"xborder/v1/waybills/{message['waybill_no']}/status"
            client.publish(topic, json.dumps(message), qos=1).wait_for_publish(10)
    finally:
        # Disconnect while the network loop runs, so that the loop closes the socket before it stops.
        client.disconnect()
        client.loop_stop()


def test_a_live_status_change_updates_and_highlights_the_row(page: Any, server: Server, shots: Path) -> None:
    key = server.key("forwarder")
    waybill = book_through_api(server, key)
    other = book_through_api(server, server.key("forwarder"))
    sign_in(page, key)
    page.goto(server.base + "/#/shipments")
    row = page.locator(f"#waybills tr[data-waybill='{waybill['waybill_no']}']")
    row.wait_for()
    page.wait_for_selector("#live[data-state='open']")
    # The API replica fans status messages from the broker out over SSE, filtered per principal: the other
    # tenant's update (sent first, so it would arrive first) must never reach this page.
    publish_status(
        server,
        {"waybill_no": other["waybill_no"], "status": "CUSTOMS_HOLD", "updated_at": "2027-03-01T09:00:00Z"},
        {
            "waybill_no": waybill["waybill_no"],
            "status": "IN_TRANSIT",
            "last_milestone": {"code": "DEPA", "classifier": "ACT", "location": waybill["origin"]},
            "eta": waybill["eta"],
            "position": {"lat": 28.77, "lon": 104.63, "at": "2027-03-01T09:30:00Z"},
            "alarms": [],
            "updated_at": "2027-03-01T09:30:00Z",
        },
    )
    page.wait_for_selector(
        f"#waybills tr.flash[data-waybill='{waybill['waybill_no']}'] [data-status='IN_TRANSIT']"
    )
    assert "DEPA" in row.inner_text()
    assert "28.770, 104.630" in row.inner_text()
    assert page.locator(".live-note").inner_text() == ""
    assert page.locator("[data-status='CUSTOMS_HOLD']").count() == 0
    shoot(page, shots, "shipments-live")


def test_warehouse_view_renders_inventory_orders_and_returns(page: Any, server: Server, shots: Path) -> None:
    admin = server.key("admin")
    code = "B" + uuid.uuid4().hex[:6].upper()
    with server.api(admin) as api:
        created = api.post(
            "/v1/warehouses",
            json={"code": code, "name": "Browser test DC", "country": "DE", "lat": 51.43, "lon": 6.76},
        )
    assert created.status_code == 201, created.text
    seller = server.key("seller")
    sku = "SKU-" + uuid.uuid4().hex[:6].upper()
    with server.api(seller) as api:
        assert (
            api.post(
                "/v1/skus", json={"sku": sku, "name": "Mug", "weight_kg": 0.4, "volume_m3": 0.002}
            ).status_code
            == 201
        )
        inbound = api.post("/v1/inbound", json={"warehouse": code, "lines": [{"sku": sku, "qty": 12}]})
        assert inbound.status_code == 201, inbound.text
    with server.api(server.key("operator", code)) as api:
        receipt = api.post(
            f"/v1/inbound/{inbound.json()['id']}/receipts", json={"lines": [{"sku": sku, "qty": 12}]}
        )
        assert receipt.status_code == 201, receipt.text
    with server.api(seller) as api:
        inv = api.get("/v1/inventory", params={"warehouse": code})
        assert inv.status_code == 200, inv.text
        expected_rows = inv.json()
    sign_in(page, seller)
    page.goto(server.base + "/#/warehouses")
    inventory = page.locator("#p-inventory")
    inventory.locator("table, .unavailable, .problem").first.wait_for()
    assert inventory.locator(".unavailable, .problem").count() == 0
    rows = inventory.locator("#inventory tbody tr:not(.empty)")
    assert rows.count() == len(expected_rows) == 1
    assert sku in rows.first.inner_text()
    assert rows.first.locator("td.num").nth(2).inner_text() == str(expected_rows[0]["available"])
    # the other panels each render their table, with no problem shown
    for panel, table in (
        ("#p-warehouses", "table"),
        ("#p-orders", "table#orders"),
        ("#p-returns", "table#returns"),
    ):
        page.locator(f"{panel} {table}").wait_for()
        assert (
            page.locator(f"{panel} [data-unavailable], {panel} .unavailable, {panel} .problem").count() == 0
        )
    shoot(page, shots, "warehouses")

    # Place an order with the form, then ship it: the order row changes and the stock on hand goes down.
    ref = "WEB-" + uuid.uuid4().hex[:6]
    page.fill("#o-ref", ref)
    page.fill("#o-country", "DE")
    page.fill("#o-city", "Duisburg")  # where the delivery run's offline geocoder places the address
    page.fill("#o-lines", f"{sku} 2")
    page.click("#order-form button[type=submit]")
    page.locator("#order-form .note.ok").wait_for()
    assert "ALLOCATED" in page.locator("#order-form .note.ok").inner_text()
    order_row = page.locator("#orders tbody tr", has_text=ref)
    order_row.wait_for()
    with server.api(seller) as api:
        placed = api.get(f"/v1/orders/{order_row.get_attribute('data-order')}").json()
    assert placed["ship_to"]["city"] == "Duisburg"
    assert page.locator("#inventory tbody tr").first.locator("td.num").nth(1).inner_text() == "2"  # reserved
    # the floor ships (a seller has no Ship button, and the API refuses one): the operator ships it
    assert order_row.get_by_role("button", name="Ship").count() == 0
    order_id = order_row.get_attribute("data-order")
    with server.api(server.key("operator", code)) as api:
        assert api.post(f"/v1/orders/{order_id}/ship", json={}).status_code == 200
    page.reload()
    page.wait_for_selector("#whoami:not([hidden])")
    page.locator("#orders tbody tr", has_text=ref).locator("[data-status='SHIPPED']").wait_for()
    page.wait_for_function("() => document.querySelector('#inventory tbody tr td.num')?.textContent === '10'")
    with server.api(seller) as api:
        after = api.get("/v1/inventory", params={"warehouse": code}).json()
    assert (after[0]["on_hand"], after[0]["reserved"]) == (10, 0)

    # A return against the shipped order, started from its row: the RMA shows what was authorised.
    page.locator("#orders tbody tr", has_text=ref).get_by_role("button", name="Return…").click()
    assert page.input_value("#r-lines").startswith(f"{sku} 2")
    page.fill("#r-lines", f"{sku} 1 damaged in transit")
    page.click("#return-form button[type=submit]")
    rma_line = page.locator("#rma-lines tbody tr")
    rma_line.wait_for()
    assert "damaged in transit" in rma_line.inner_text()
    assert rma_line.locator("td.num").first.inner_text() == "1"
    shoot(page, shots, "warehouses-after-return")


def test_an_order_the_stock_cannot_fill_shows_the_conflict(page: Any, server: Server) -> None:
    seller = server.key("seller")
    sku = "SKU-" + uuid.uuid4().hex[:6].upper()  # the seller's, with no stock anywhere
    with server.api(seller) as api:
        made = api.post("/v1/skus", json={"sku": sku, "name": "Kettle", "weight_kg": 1.2, "volume_m3": 0.01})
        assert made.status_code == 201, made.text
    sign_in(page, seller)
    page.goto(server.base + "/#/warehouses")
    page.fill("#o-ref", "WEB-" + uuid.uuid4().hex[:6])
    page.fill("#o-country", "DE")
    page.fill("#o-lines", f"{sku} 1\nthis is not a line")
    page.click("#order-form button[type=submit]")
    problem = page.locator("#order-form .problem")
    problem.wait_for()
    assert "line 2" in problem.inner_text()  # caught in the browser, nothing sent
    page.fill("#o-lines", f"{sku} 1")
    page.click("#order-form button[type=submit]")
    page.locator("#order-form .problem .problem-detail").wait_for()
    assert (
        page.locator("#order-form .problem .problem-title").inner_text().split(" (")[0]
        == "Insufficient stock"
    )


def test_sse_parser_handles_events_split_anywhere(page: Any, server: Server) -> None:
    """The fetch()-based SSE reader must cope with chunks that split lines, CRLFs and multi-line data."""
    stream = (
        ": connected\r\n\r\n"
        'event: waybill.status\r\ndata: {"waybill_no": "XB1",\r\ndata:  "status": "ARRIVED"}\r\n\r\n'
        "retry: 5000\nid: 7\nevent: ping\ndata\n\n"
        "data: plain\rdata: second\r\r"
    )
    result = page.evaluate(
        """async (text) => {
          const { SseParser } = await import('/static/js/sse.js');
          const runs = [];
          for (const size of [1, 2, 3, 7, text.length]) {
            const events = [];
            let retry = null;
            const p = new SseParser((e) => events.push(e), (ms) => { retry = ms; });
            for (let i = 0; i < text.length; i += size) p.feed(text.slice(i, i + size));
            runs.push({ events, retry });
          }
          return runs;
        }""",
        stream,
    )
    expected = [
        {"event": "waybill.status", "data": '{"waybill_no": "XB1",\n "status": "ARRIVED"}', "id": ""},
        {"event": "ping", "data": "", "id": "7"},
        {"event": "message", "data": "plain\nsecond", "id": "7"},
    ]
    for run in result:
        assert run["events"] == expected
        assert run["retry"] == 5000


def test_seller_announces_inbound_and_operator_counts_it_in(page: Any, server: Server, shots: Path) -> None:
    code = "I" + uuid.uuid4().hex[:6].upper()
    sku = "SKU-" + uuid.uuid4().hex[:6].upper()
    with server.api(server.key("admin")) as api:
        made = api.post(
            "/v1/warehouses",
            json={"code": code, "name": "Inbound test DC", "country": "PL", "lat": 51.76, "lon": 19.46},
        )
    assert made.status_code == 201, made.text
    seller = server.key("seller")
    with server.api(seller) as api:
        assert (
            api.post(
                "/v1/skus", json={"sku": sku, "name": "Tea", "weight_kg": 0.3, "volume_m3": 0.001}
            ).status_code
            == 201
        )

    sign_in(page, seller)
    page.goto(server.base + "/#/warehouses")
    page.locator(f"#asn-warehouse option[value='{code}']").wait_for(state="attached")
    page.select_option("#asn-warehouse", code)
    page.fill("#asn-lines-input", f"{sku} 6")
    page.click("#asn-form button[type=submit]")
    page.locator("#asn-lines tbody tr").wait_for()
    asn_id = page.input_value("#asn-id")
    assert asn_id
    assert page.locator("#asn-lines tbody tr td.num").first.inner_text() == "6"  # expected
    page.locator(f"#asn-recent tbody tr[data-id='{asn_id}']").wait_for()  # the newest notices list it at once
    page.click("#signout")

    sign_in(page, server.key("operator", code))
    page.goto(server.base + "/#/warehouses")
    # The operator of that warehouse finds the notice among the newest ones it may see and opens it.
    page.get_by_role("button", name=f"Show inbound {asn_id}").click()
    count = page.get_by_label(f"Counted {sku}")
    assert count.input_value() == "6"  # the count starts at what is still expected
    count.fill("5")
    page.click("#asn-receive")
    short = page.locator("#asn-lines tbody tr td.num").nth(2)
    page.wait_for_function(
        "() => document.querySelectorAll('#asn-lines tbody tr td.num')[1]?.textContent === '5'"
    )
    assert short.inner_text() == "1"
    shoot(page, shots, "warehouses-operator")
    with server.api(seller) as api:
        stock = api.get("/v1/inventory", params={"warehouse": code, "sku": sku}).json()
        asn = api.get(f"/v1/inbound/{asn_id}").json()
    assert sum(r["on_hand"] for r in stock) == 5
    assert (asn["lines"][0]["received"], asn["lines"][0]["short"]) == (5, 1)
