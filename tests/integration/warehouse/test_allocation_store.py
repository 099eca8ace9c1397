"""The order hot path on a real database: what it stores equals what it returns, in a fixed number of
statements whatever the order's size (two on PostgreSQL), and a refused order leaves nothing behind."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select

from kernel.db import Database
from kernel.errors import Conflict
from kernel.identity import Role, TenantKind, create_tenant
from tests.conftest import T0
from tests.integration.warehouse import commands
from warehouse import tables as t
from warehouse.audit import audit
from warehouse.orders import allocate_order
from warehouse.scope import Scope
from warehouse.views import allocated_order_view, get_order


def _seed(db: Database, stock: dict[str, dict[str, int]]) -> tuple[str, dict[str, str]]:
    """A fresh seller; `stock` maps a warehouse's country to units per SKU (one warehouse per country)."""
    admin = Scope("tn_platform", Role.ADMIN)
    points = {"DE": (51.43, 6.76), "PL": (51.76, 19.46), "NL": (51.92, 4.48)}
    codes = {cc: "A" + secrets.token_hex(4).upper() for cc in stock}
    with db.session() as s:
        seller = str(create_tenant(s, "store", TenantKind.SELLER, T0)["id"])
        for cc, code in codes.items():
            lat, lon = points[cc]
            commands.warehouse(s, code, cc, lat, lon, T0)
        for sku in {k for per in stock.values() for k in per}:
            commands.sku(s, seller, sku, T0)
        for cc, per in stock.items():
            commands.stock_in(s, admin, seller, codes[cc], [{"sku": k, "qty": q} for k, q in per.items()], T0)
    return seller, codes


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE opens every transaction
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_split_order_is_stored_as_returned_in_a_fixed_number_of_statements(database: Database) -> None:
    seller, codes = _seed(database, {"DE": {"CUP": 2, "LID": 5}, "PL": {"CUP": 3, "LID": 1}})
    body = {
        "order_ref": "SPLIT-1",
        "ship_to": {"country": "DE", "lat": 50.9, "lon": 6.9, "postcode": None},
        "currency": "EUR",
        "lines": [
            {"sku": "CUP", "qty": 3, "unit_price": "4.50"},
            {"sku": "LID", "qty": 5, "unit_price": None},
            {"sku": "CUP", "qty": 1, "unit_price": "4.00"},
        ],
    }
    with _statements(database) as seen, database.session() as s:
        out = allocated_order_view(allocate_order(s, Scope(seller, Role.SELLER), commands.order(body), T0))
    # lock the candidates, then one write on PostgreSQL; the SQLite path spells the write out
    assert len(seen) == (2 if database.is_postgres else 5), seen
    assert "FOR NO KEY UPDATE" in seen[0] or not database.is_postgres
    de, pl = codes["DE"], codes["PL"]
    assert "no single warehouse can fill the whole order: split" in out["explanation"]
    picked = sorted((a["warehouse"], a["sku"], a["qty"], a["line_no"]) for a in out["allocations"])
    # DE fills the most (2 CUP + 5 LID), PL the remaining 2 CUP; the first CUP line is served first
    assert picked == sorted([(de, "CUP", 2, 1), (de, "LID", 5, 2), (pl, "CUP", 1, 1), (pl, "CUP", 1, 3)])
    with database.session() as s:
        stored = get_order(s, Scope(seller, Role.SELLER), out["id"])
        assert audit(s, [seller]) == []
        reserved = dict(
            s.execute(
                select(t.balances.c.warehouse, func.sum(t.balances.c.reserved))
                .where(t.balances.c.seller_id == seller)
                .group_by(t.balances.c.warehouse)
            ).all()
        )
        currency = s.execute(select(t.orders.c.currency).where(t.orders.c.id == out["id"])).scalar_one()
    assert stored["explanation"] == out["explanation"]
    assert stored["ship_to"] == {"country": "DE", "lat": 50.9, "lon": 6.9}
    assert currency == "EUR"
    assert [(ln["line_no"], ln["sku"], ln["qty"], ln["unit_price"]) for ln in stored["lines"]] == [
        (1, "CUP", 3, "4.50"),
        (2, "LID", 5, None),
        (3, "CUP", 1, "4.00"),
    ]
    assert sorted((a["warehouse"], a["sku"], a["qty"], a["line_no"]) for a in stored["allocations"]) == picked
    assert {a["status"] for a in stored["allocations"]} == {"ACTIVE"}
    assert {k: int(v) for k, v in reserved.items()} == {de: 7, pl: 2}
    assert Decimal(stored["lines"][0]["unit_price"]) * 3 == Decimal("13.50")


def test_a_duplicate_reference_and_a_short_order_leave_nothing_behind(database: Database) -> None:
    seller, _ = _seed(database, {"DE": {"PEN": 4}})
    scope = Scope(seller, Role.SELLER)
    order = {"order_ref": "ONCE", "ship_to": {"country": "DE"}, "lines": [{"sku": "PEN", "qty": 1}]}
    with database.session() as s:
        allocate_order(s, scope, commands.order(order), T0)
    with pytest.raises(Conflict, match="exists already"), database.session() as s:
        allocate_order(s, scope, commands.order({**order, "lines": [{"sku": "PEN", "qty": 2}]}), T0)
    with pytest.raises(Conflict, match="not enough sellable stock"), database.session() as s:
        short = {**order, "order_ref": "SHORT", "lines": [{"sku": "PEN", "qty": 4}]}
        allocate_order(s, scope, commands.order(short), T0)
    with database.session() as s:
        assert audit(s, [seller]) == []
        orders = s.execute(select(t.orders.c.order_ref).where(t.orders.c.seller_id == seller)).scalars()
        assert list(orders) == ["ONCE"]
        reserved = s.execute(
            select(func.sum(t.balances.c.reserved)).where(t.balances.c.seller_id == seller)
        ).scalar_one()
        assert int(reserved) == 1
