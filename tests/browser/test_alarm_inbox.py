"""The exceptions inbox works a real alarm: a customs rejection raised through the API is acknowledged and
assigned from its row, and the API then carries the acknowledgement."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logistics.customs import messages
from tests.browser.conftest import Server, sign_in
from tests.browser.test_map_overview_i18n import untranslated

pytestmark = pytest.mark.usefixtures("chromium_executable")

LOGISTICS_CODE = "91511500MA62XBXB01"
CUSTOMS = {
    "ecommerce_enterprise": {"code": "5115960001", "name": "Yibin Tea Export Co"},
    "logistics_enterprise": {"code": LOGISTICS_CODE, "name": "Xborder Logistics Yibin"},
    "declaration_customs": "7920",
    "exit_customs": "7609",
    "consignee_country": "DE",
    "gross_weight_kg": "3000",
    "net_weight_kg": "2800",
    "packages": 40,
    "goods": [
        {
            "hs_code": "0902109000",
            "description": "Yibin green tea 250 g",
            "quantity": "400",
            "unit": "pcs",
            "value": {"amount": "2400.00", "currency": "USD"},
        }
    ],
}


def rejected_waybill(server: Server, key: str) -> str:
    """A booking with customs data whose first declaration the single window rejects: an open alarm."""
    with server.api(key) as api:
        quote = api.post(
            "/v1/quotes",
            json={
                "origin": "CNYIB",
                "destination": "DEDUI",
                "ready_at": "2027-03-01T06:00:00Z",
                "cargo": {"weight_kg": 3000, "volume_m3": 20, "equipment": "20GP"},
                "customs_mode": "9710",
                "max_options": 2,
            },
        )
        assert quote.status_code == 201, quote.text
        option = quote.json()["options"][0]
        booked = api.post(
            "/v1/bookings",
            json={"quote_id": quote.json()["id"], "option_id": option["id"], "customs": CUSTOMS},
        )
        assert booked.status_code == 201, booked.text
        no = booked.json()["waybill_no"]
        msg = api.get(f"/v1/waybills/{no}/customs").json()["messages"][0]
        receipt = messages.receipt_message(
            "CEB505", msg["id"], LOGISTICS_CODE, "100", "duplicate waybill", datetime(2027, 3, 1, tzinfo=UTC)
        )
        posted = api.post("/v1/customs/receipts", content=receipt)
        assert posted.status_code == 200, posted.text
        return str(no)


def test_an_alarm_is_acknowledged_and_assigned_from_the_inbox(page: Any, server: Server, shots: Path) -> None:
    key = server.key("forwarder")
    no = rejected_waybill(server, key)
    sign_in(page, key)
    page.goto(server.base + "/#/alerts")
    row = page.locator(f"[data-testid=alerts] #inbox tr[data-kind='customs_rejected'][data-waybill='{no}']")
    row.wait_for()
    assert "Not acknowledged" in row.inner_text()
    row.locator("button[data-action=acknowledge]").click()
    row.locator("input[name=assignee]").fill("Wang Fang")
    row.locator("input[name=note]").fill("refile with the corrected weight")
    row.locator("form.ack-form button[type=submit]").click()
    page.wait_for_function(
        "(no) => [...document.querySelectorAll(`#inbox tr[data-waybill='${no}'].acked`)]"
        ".some((r) => r.textContent.includes('Wang Fang'))",
        arg=no,
    )
    done = page.locator(f"#inbox tr.acked[data-kind='customs_rejected'][data-waybill='{no}']")
    assert "Acknowledged" in done.inner_text()
    assert "refile with the corrected weight" in done.inner_text()
    assert done.locator("button[data-action=acknowledge]").inner_text() == "Reassign"
    with server.api(key) as api:
        [alarm] = api.get(f"/v1/waybills/{no}").json()["alarms"]
    assert (alarm["kind"], alarm["acknowledged"], alarm["assignee"], alarm["note"]) == (
        "customs_rejected",
        True,
        "Wang Fang",
        "refile with the corrected weight",
    )
    page.screenshot(path=str(shots / "alerts-acknowledged-1366.png"))
    page.goto(server.base + f"/#/waybills/{no}")  # the waybill page says who has it
    handled = page.locator("#alarms td.handling").first
    handled.wait_for()
    assert "Acknowledged" in handled.inner_text() and "Wang Fang" in handled.inner_text()
    page.goto(server.base + "/#/alerts")
    # The language choice is kept in the browser context the tests share: put English back after.
    try:
        # in Chinese the row and its form are translated (the assignee and note are data, as they are)
        page.select_option("[data-testid=lang]", "zh-CN")
        page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
        page.reload()  # nothing left over from the English page (its toast)
        done.wait_for()
        done.locator("button[data-action=acknowledge]").click()
        done.locator("form.ack-form").wait_for()
        assert "已确认" in done.inner_text()
        left = untranslated(page)
        assert not left, f"the inbox shows untranslated text in zh-CN: {left}"
    finally:
        page.evaluate("localStorage.removeItem('xborder.locale')")
