"""The demo shipper's customs clerk: a declaration rejected for an unregistered enterprise is corrected with
the registered code once the delay of service time has passed, once; a declaration accepted is let go."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from iot_sim.api import XborderApi
from iot_sim.customs import CORRECTION_DELAY, UNREGISTERED, CustomsClerk, customs_block, enterprise_code

T0 = datetime(2027, 3, 1, 8, tzinfo=UTC)
SHIPPER = "Yibin Lingang Trading Co., Ltd."


class Window:
    """The two customs routes of the service, answering from a list of messages per waybill."""

    def __init__(self) -> None:
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.puts: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        no = request.url.path.split("/")[3]
        if request.method == "PUT":
            self.puts.append((no, json.loads(request.content)))
            return httpx.Response(200, json={"messages": []})
        return httpx.Response(200, json={"waybill_no": no, "messages": self.messages.get(no, [])})


def message(status: str, info: str = "", received: datetime | None = None) -> dict[str, Any]:
    receipt = {"return_info": info, "received": received.isoformat()} if received else None
    return {"type": "CEB505", "status": status, "receipt": receipt}


def test_a_rejected_declaration_is_corrected_after_the_delay_and_an_accepted_one_is_let_go() -> None:
    window = Window()
    clerk = CustomsClerk(XborderApi("http://xb.test", "k-1", transport=httpx.MockTransport(window)))
    rejected_block = customs_block(SHIPPER, "DEDUI", 12_000.0)
    assert rejected_block["ecommerce_enterprise"]["code"] == UNREGISTERED[SHIPPER]
    clerk.booked("XB1", rejected_block)
    clerk.booked("XB2", customs_block("Sichuan Yibin Tea Export Co.", "DEDUI", 12_000.0))
    clerk.booked("XB3", None)  # booked without customs data: nothing to watch
    window.messages["XB1"] = [message("QUEUED")]
    window.messages["XB2"] = [message("ACCEPTED", "海关入库成功 (entered)", T0)]
    clerk.tick(T0)
    assert (sorted(clerk.watched), window.puts) == (["XB1"], [])  # no receipt yet for XB1

    window.messages["XB1"] = [
        message("REJECTED", f"企业未备案 (enterprise not registered): {UNREGISTERED[SHIPPER]}", T0)
    ]
    clerk.tick(T0 + CORRECTION_DELAY - timedelta(minutes=1))
    assert window.puts == []  # the clerk has not got to it yet
    clerk.tick(T0 + CORRECTION_DELAY)
    [(no, block)] = window.puts
    assert no == "XB1"
    assert block["ecommerce_enterprise"] == {
        "code": enterprise_code(SHIPPER, registered=True),
        "name": SHIPPER,
    }
    assert block["ecommerce_enterprise"]["code"] != UNREGISTERED[SHIPPER]
    assert {k: v for k, v in block.items() if k != "ecommerce_enterprise"} == {
        k: v for k, v in rejected_block.items() if k != "ecommerce_enterprise"
    }
    clerk.tick(T0 + 2 * CORRECTION_DELAY)
    assert (len(window.puts), clerk.watched, clerk.corrected) == (1, {}, ["XB1"])  # corrected once
