"""The writes of an allocated order, the hot path of every sale: the order, its lines, its reservations and
the reserved units on the balances.

On PostgreSQL they are one statement (data-modifying CTEs fed by JSON rows), so an order costs the same
round trips and one server-side prepared plan whatever its number of lines; on SQLite (one writer at a
time) they are four Core statements. Both leave the caller's transaction to commit or roll back.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, case, text, update
from sqlalchemy.dialects import sqlite

from kernel.db import UtcDateTime
from warehouse import tables as t
from warehouse.domain import OrderStatus, Pick, ReservationStatus


@dataclass(frozen=True)
class NewOrder:
    """An allocated order as it is stored: lines are (sku, qty, unit price), numbered from 1."""

    id: str
    seller_id: str
    order_ref: str
    ship_to: Mapping[str, Any]
    explanation: Sequence[str]
    currency: str
    created_at: datetime
    lines: Sequence[tuple[str, int, Decimal | None]]


@dataclass(frozen=True)
class Written:
    order: bool  # False: the seller has an order with this reference already (nothing of it was written)
    balances: int  # balances that took their reserved units (each had them unreserved)


_PG_WRITE = text(
    """
WITH new_order AS (
    INSERT INTO wh_orders (id, seller_id, order_ref, status, ship_to, explanation, currency, created_at)
    VALUES (:id, :seller_id, :order_ref, :status, CAST(:ship_to AS json), CAST(:explanation AS json),
            :currency, :created_at)
    ON CONFLICT (seller_id, order_ref) DO NOTHING
    RETURNING id
), new_lines AS (
    INSERT INTO wh_order_lines (order_id, line_no, sku, qty, unit_price)
    SELECT new_order.id, x.line_no, x.sku, x.qty, x.unit_price
    FROM new_order,
         json_to_recordset(CAST(:lines AS json)) AS x(line_no int, sku text, qty int, unit_price numeric)
), new_reservations AS (
    INSERT INTO wh_reservations (order_id, line_no, balance_id, warehouse, sku, lot, qty, status)
    SELECT new_order.id, x.line_no, x.balance_id, x.warehouse, x.sku, x.lot, x.qty, :active
    FROM new_order,
         json_to_recordset(CAST(:picks AS json))
             AS x(line_no int, balance_id int, warehouse text, sku text, lot text, qty int)
), reserved AS (
    UPDATE wh_balances AS b SET reserved = b.reserved + x.qty
    FROM new_order, json_to_recordset(CAST(:per_balance AS json)) AS x(id int, qty int)
    WHERE b.id = x.id AND b.on_hand - b.reserved >= x.qty
    RETURNING b.id
)
SELECT (SELECT count(*) FROM new_order) AS orders, (SELECT count(*) FROM reserved) AS balances
"""
).bindparams(bindparam("created_at", type_=UtcDateTime()))


def write_allocation(
    conn: Connection, order: NewOrder, picks: Sequence[Pick], balance_ids: Mapping[tuple[str, str, str], int]
) -> Written:
    """Store an allocated order and reserve its picks on the balances (locked by the caller)."""
    per_balance: dict[int, int] = {}
    for p in picks:
        bid = balance_ids[(p.warehouse, p.sku, p.lot)]
        per_balance[bid] = per_balance.get(bid, 0) + p.qty
    if conn.dialect.name == "postgresql":
        return _write_pg(conn, order, picks, balance_ids, per_balance)
    return _write_sqlite(conn, order, picks, balance_ids, per_balance)


def _write_pg(
    conn: Connection,
    order: NewOrder,
    picks: Sequence[Pick],
    balance_ids: Mapping[tuple[str, str, str], int],
    per_balance: Mapping[int, int],
) -> Written:
    row = conn.execute(
        _PG_WRITE,
        {
            "id": order.id,
            "seller_id": order.seller_id,
            "order_ref": order.order_ref,
            "status": OrderStatus.ALLOCATED.value,
            "ship_to": json.dumps(order.ship_to),
            "explanation": json.dumps(list(order.explanation)),
            "currency": order.currency,
            "created_at": order.created_at,
            "lines": json.dumps(
                [
                    {
                        "line_no": i,
                        "sku": sku,
                        "qty": qty,
                        "unit_price": None if price is None else str(price),
                    }
                    for i, (sku, qty, price) in enumerate(order.lines, start=1)
                ]
            ),
            "active": ReservationStatus.ACTIVE.value,
            "picks": json.dumps(
                [
                    {
                        "line_no": p.line_no,
                        "balance_id": balance_ids[(p.warehouse, p.sku, p.lot)],
                        "warehouse": p.warehouse,
                        "sku": p.sku,
                        "lot": p.lot,
                        "qty": p.qty,
                    }
                    for p in picks
                ]
            ),
            "per_balance": json.dumps([{"id": bid, "qty": qty} for bid, qty in per_balance.items()]),
        },
    ).one()
    return Written(order=bool(row.orders), balances=int(row.balances))


def _write_sqlite(
    conn: Connection,
    order: NewOrder,
    picks: Sequence[Pick],
    balance_ids: Mapping[tuple[str, str, str], int],
    per_balance: Mapping[int, int],
) -> Written:
    inserted = conn.execute(
        sqlite.insert(t.orders)
        .values(
            id=order.id,
            seller_id=order.seller_id,
            order_ref=order.order_ref,
            status=OrderStatus.ALLOCATED.value,
            ship_to=dict(order.ship_to),
            explanation=list(order.explanation),
            currency=order.currency,
            created_at=order.created_at,
        )
        .on_conflict_do_nothing()
        .returning(t.orders.c.id)
    ).first()
    if inserted is None:
        return Written(order=False, balances=0)
    b = t.balances.c
    wanted = case(dict(per_balance), value=b.id)
    reserved = conn.execute(
        update(t.balances)
        .where(b.id.in_(list(per_balance)), b.on_hand - b.reserved >= wanted)
        .values(reserved=b.reserved + wanted)
    ).rowcount
    conn.execute(
        t.order_lines.insert(),
        [
            {"order_id": order.id, "line_no": i, "sku": sku, "qty": qty, "unit_price": price}
            for i, (sku, qty, price) in enumerate(order.lines, start=1)
        ],
    )
    conn.execute(
        t.reservations.insert(),
        [
            {
                "order_id": order.id,
                "line_no": p.line_no,
                "balance_id": balance_ids[(p.warehouse, p.sku, p.lot)],
                "warehouse": p.warehouse,
                "sku": p.sku,
                "lot": p.lot,
                "qty": p.qty,
                "status": ReservationStatus.ACTIVE.value,
            }
            for p in picks
        ],
    )
    return Written(order=True, balances=int(reserved))
