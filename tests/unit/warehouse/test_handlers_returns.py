"""`inspect_return` without HTTP: graded units go where the seller's policy sends them, and a return to
origin is booked once, from the warehouse's node to Yibin."""

from __future__ import annotations

from tests.unit.warehouse.handler_world import ADMIN, SITES, T0, handler_world
from warehouse.counting import CountLine
from warehouse.orders import AllocateOrder, OrderAddress, OrderLine, ShipOrder, allocate_order, ship_order
from warehouse.returns import (
    AuthoriseReturn,
    InspectionLine,
    InspectReturn,
    ReceiveReturn,
    ReturnLine,
    SetReturnPolicy,
    authorise_return,
    inspect_return,
    receive_return,
    set_return_policy,
)
from warehouse.stock import inventory
from warehouse.views import get_return


def test_an_inspection_restocks_grade_a_and_books_grade_d_back_to_yibin_by_the_sellers_policy() -> None:
    w = handler_world("CUP")
    w.stock("DE", "CUP", 10)
    de = SITES["DE"][0]
    with w.db.session() as s:
        set_return_policy(s, w.seller, SetReturnPolicy({"D": "return_to_origin"}))
        order = allocate_order(
            s, w.seller, AllocateOrder("R-1", OrderAddress("DE"), (OrderLine("CUP", 4),)), T0
        )
        ship_order(s, w.seller, ShipOrder(order.id), T0)
        rma_id = authorise_return(
            s, w.seller, AuthoriseReturn(order.id, (ReturnLine("CUP", 3, "damaged"),)), T0
        )
        receive_return(s, w.operator(de), ReceiveReturn(rma_id, de, (CountLine("CUP", 3),)), T0)
    inspection = InspectReturn(rma_id, (InspectionLine("CUP", 2, "A"), InspectionLine("CUP", 1, "D")))
    with w.db.session() as s:
        assert inspect_return(s, w.operator(de), inspection, T0, w.booker) == rma_id
        shown = get_return(s, w.seller, rma_id)
        stock = {(r["on_hand"], r["returns"]) for r in inventory(s, ADMIN, "CUP", de, T0.date())}
    waybill = w.booker.booked[0]["waybill_no"]
    assert [(b["from"], b["to"], b["reference"]) for b in w.booker.booked] == [("DUI", "YIB", rma_id)]
    assert [(d["grade"], d["disposition"], d["qty"], d["waybill_no"]) for d in shown["dispositions"]] == [
        ("A", "restock", 2, None),
        ("D", "return_to_origin", 1, waybill),
    ]
    assert stock == {(8, 0)}
