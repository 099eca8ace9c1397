"""The demo seed: warehouses on network nodes, sellers' SKUs and stock through the ledger; safe to re-run."""

from __future__ import annotations

from sqlalchemy import func, select

from kernel.clock import FixedClock
from kernel.db import Database
from kernel.identity import TenantKind, create_tenant
from warehouse import tables as t
from warehouse.audit import audit
from warehouse.seed import seed_demo


def test_seed_demo_is_idempotent_and_balanced(database: Database, clock: FixedClock) -> None:
    with database.session() as s:
        sellers = [
            str(create_tenant(s, f"Yibin seller {i}", TenantKind.SELLER, clock.now())["id"]) for i in range(2)
        ]
    with database.session() as s:
        first = seed_demo(s, clock.now(), sellers)
    with database.session() as s:
        again = seed_demo(s, clock.now(), sellers)
        nodes = dict(s.execute(select(t.warehouses.c.code, t.warehouses.c.node_id)).all())
        pick = s.execute(
            select(func.sum(t.balances.c.on_hand)).where(
                t.balances.c.seller_id.in_(sellers), t.balances.c.zone == "pick"
            )
        ).scalar_one()
        transit = s.execute(
            select(func.sum(t.balances.c.on_hand)).where(
                t.balances.c.seller_id.in_(sellers), t.balances.c.zone == "transit"
            )
        ).scalar_one()
        dg = s.execute(
            select(t.skus.c.sku).where(t.skus.c.seller_id == sellers[1], t.skus.c.dangerous_goods.is_(True))
        ).all()
        assert audit(s, sellers) == []
    assert first["skus_created"] == 4 and again["skus_created"] == 0
    assert first["units_received"] == int(pick) and again["units_received"] == 0
    assert int(transit) == 100  # one shipment of 50 on its way per seller
    assert nodes["DEDUI"] == "DUI" and nodes["USLAX"] == "LAX" and nodes["VNSGN"] == "SGN"
    assert [r[0] for r in dg] == ["LIB-18650-4P"]
