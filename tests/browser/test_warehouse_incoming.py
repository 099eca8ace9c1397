"""An operator's inbound page lists the containers heading to its warehouse with the shipment's live status
and ETA (from GET /v1/warehouses/{code}/incoming), in English and in Chinese."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, sign_in
from tests.browser.test_dashboard import book_through_api
from tests.browser.test_map_overview_i18n import untranslated

pytestmark = pytest.mark.usefixtures("chromium_executable")


def test_the_operator_sees_the_containers_heading_to_its_warehouse(
    page: Any, server: Server, shots: Path
) -> None:
    admin = server.key("admin")
    code = "I" + uuid.uuid4().hex[:6].upper()
    with server.api(admin) as api:
        body = {
            "code": code,
            "name": "Duisburg DC",
            "country": "DE",
            "lat": 51.43,
            "lon": 6.76,
            "node_id": "DUI",
        }
        assert api.post("/v1/warehouses", json=body).status_code == 201
    waybill = book_through_api(server, server.key("forwarder"))
    no = waybill["waybill_no"]
    seller, operator = server.key("seller"), server.key("operator", code)
    sku = "TEA-" + uuid.uuid4().hex[:4].upper()
    with server.api(seller) as api:
        item = {"sku": sku, "name": "Tea", "weight_kg": 0.3, "volume_m3": 0.001}
        assert api.post("/v1/skus", json=item).status_code == 201
        asn = api.post(
            "/v1/inbound", json={"warehouse": code, "waybill_no": no, "lines": [{"sku": sku, "qty": 9}]}
        )
        assert asn.status_code == 201, asn.text
    sign_in(page, operator)
    page.goto(server.base + "/#/warehouses/inbound")
    row = page.locator(f"#incoming-list tr[data-waybill='{no}']")
    row.wait_for()
    text = row.inner_text()
    assert code in text and asn.json()["id"] in text
    assert row.locator("[data-status='BOOKED']").count() == 1  # the shipment's status from tracking
    assert row.locator("[data-status='IN_TRANSIT']").count() == 1  # the notice's own
    assert row.locator("td.time time, td.time").first.inner_text().strip() not in ("", "—")  # its ETA
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "warehouse-incoming-1366.png"))
    # The language choice is kept in the browser context the tests share: put English back after.
    try:
        page.select_option("[data-testid=lang]", "zh-CN")
        page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
        page.reload()
        page.locator(f"#incoming-list tr[data-waybill='{no}']").wait_for()
        page.wait_for_timeout(300)
        left = [t for t in untranslated(page) if page.locator("#p-inbound", has_text=t).count()]
        assert not left, f"the inbound page shows untranslated text in zh-CN: {left}"
    finally:
        page.evaluate("localStorage.removeItem('xborder.locale')")
