"""`allocate_order` without HTTP: the command in, the allocation out, the reservation in the books."""

from __future__ import annotations

from sqlalchemy import select

from tests.unit.warehouse.handler_world import SITES, T0, handler_world
from warehouse import tables as t
from warehouse.domain import Pick
from warehouse.orders import AllocateOrder, OrderAddress, OrderLine, allocate_order


def test_an_order_to_germany_is_reserved_whole_at_duisburg_not_split_with_lodz() -> None:
    w = handler_world("CUP")
    w.stock("DE", "CUP", 5)
    w.stock("PL", "CUP", 5)
    cmd = AllocateOrder("ORD-1", OrderAddress("de", 50.94, 6.96), (OrderLine("CUP", 3),))
    with w.db.session() as s:
        allocated = allocate_order(s, w.seller, cmd, w.clock.now())
    duisburg = SITES["DE"][0]
    assert allocated.picks == (Pick(duisburg, "CUP", "", 3, 1),)
    with w.db.session() as s:
        reserved = dict(
            s.execute(
                select(t.balances.c.warehouse, t.balances.c.reserved).where(t.balances.c.zone == "pick")
            ).all()
        )
        stored = s.execute(select(t.orders.c.ship_to, t.orders.c.created_at)).one()
    assert reserved == {duisburg: 3, SITES["PL"][0]: 0}
    assert (stored.ship_to, stored.created_at) == ({"country": "de", "lat": 50.94, "lon": 6.96}, T0)
