"""`create_transfer` without HTTP: stock leaves the source for the destination's transit zone, and the
booker is asked once for a waybill between the two nodes."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.warehouse.handler_world import ADMIN, SITES, T0, handler_world
from warehouse.ports import Cargo
from warehouse.stock import inventory
from warehouse.transfers import CreateTransfer, TransferLine, create_transfer
from warehouse.views import get_transfer


def test_a_transfer_of_twelve_cups_books_one_waybill_from_duisburg_to_lodz_and_moves_them_in_transit() -> (
    None
):
    w = handler_world("CUP")
    w.stock("DE", "CUP", 30)
    de, pl = SITES["DE"][0], SITES["PL"][0]
    with w.db.session() as s:
        transfer_id = create_transfer(
            s, w.seller, CreateTransfer(de, pl, (TransferLine("CUP", 12),)), T0, w.booker
        )
        waybill = get_transfer(s, w.seller, transfer_id)["waybill_no"]
    assert w.booker.booked == [
        {
            "waybill_no": waybill,
            "from": "DUI",
            "to": "LOD",
            "cargo": Cargo(Decimal("12"), Decimal("0.12"), False, 12, f"transfer {transfer_id}"),
            "ready_at": T0,
            "reference": transfer_id,
        }
    ]
    with w.db.session() as s:
        rows = {
            (r["warehouse"], r["on_hand"], r["in_transit"])
            for r in inventory(s, ADMIN, "CUP", None, T0.date())
        }
    assert rows == {(de, 18, 0), (pl, 0, 12)}
