"""`create_inbound` and `receive_inbound` without HTTP: the live ETA comes from the port, the count books
what arrived and reports what differs."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.warehouse.handler_world import ADMIN, SITES, T0, handler_world
from warehouse.counting import CountLine
from warehouse.inbound import (
    CreateInbound,
    Discrepancy,
    InboundLine,
    ReceivedInbound,
    ReceiveInbound,
    create_inbound,
    receive_inbound,
)
from warehouse.stock import inventory
from warehouse.views import get_inbound


def test_a_receipt_short_of_one_tea_and_with_an_unannounced_cup_books_both_and_reports_them() -> None:
    w = handler_world("TEA", "CUP")
    w.eta.etas["XBW1"] = T0 + timedelta(days=18)
    code = SITES["DE"][0]
    with w.db.session() as s:
        notice = CreateInbound(code, (InboundLine("TEA", 10),), waybill_no="XBW1")
        inbound_id = create_inbound(s, w.seller, notice, w.clock.now(), w.eta)
        expected_at = get_inbound(s, w.seller, inbound_id)["expected_at"]
    with w.db.session() as s:
        count = ReceiveInbound(inbound_id, (CountLine("TEA", 9), CountLine("CUP", 2)))
        received = receive_inbound(s, w.operator(code), count, w.clock.now())
    assert (w.eta.asked, expected_at) == (["XBW1"], "2027-03-19T09:00:00Z")
    assert received == ReceivedInbound(
        inbound_id, (Discrepancy("TEA", "", 10, 9), Discrepancy("CUP", "", 0, 2, unannounced=True))
    )
    with w.db.session() as s:
        rows = {(r["sku"], r["on_hand"], r["quarantine"]) for r in inventory(s, ADMIN, None, code, T0.date())}
    assert rows == {("TEA", 9, 0), ("CUP", 0, 2)}
