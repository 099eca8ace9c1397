"""The read side: orders, inbound notices, transfers, returns, warehouses and SKUs as the API shows them.

Every write command returns an id; its driver calls one view here once to shape the response.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import NotFound
from warehouse import tables as t
from warehouse.ledger import lot_out
from warehouse.scope import Scope


def warehouse_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "country": row["country"],
        "lat": float(row["lat"]),
        "lon": float(row["lon"]),
        "node_id": row["node_id"],
        "handling_cost": {"amount": f"{Decimal(row['handling_cost']):.2f}", "currency": row["currency"]},
    }


def list_warehouses(session: Session, scope: Scope) -> list[dict[str, Any]]:
    rows = session.execute(select(t.warehouses).order_by(t.warehouses.c.code)).mappings()
    return [warehouse_view(dict(r)) for r in rows if scope.sees_warehouse(r["code"])]


def sku_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "seller_id": row["seller_id"],
        "sku": row["sku"],
        "name": row["name"],
        "weight_kg": float(row["weight_kg"]),
        "volume_m3": float(row["volume_m3"]),
        "lot_tracked": bool(row["lot_tracked"]),
        "shelf_life_days": row["shelf_life_days"],
        "dangerous_goods": bool(row["dangerous_goods"]),
        "unit_value": None if row["unit_value"] is None else f"{Decimal(row['unit_value']):.2f}",
    }


def list_skus(session: Session, scope: Scope, seller_id: str | None = None) -> list[dict[str, Any]]:
    q = select(t.skus).order_by(t.skus.c.seller_id, t.skus.c.sku)

    def stocked_at(codes: Sequence[str]) -> ColumnElement[bool]:
        b = t.balances.c
        return (
            select(b.id)
            .where(b.warehouse.in_(codes), b.seller_id == t.skus.c.seller_id, b.sku == t.skus.c.sku)
            .exists()
        )

    q = scope.filter(q, t.skus.c.seller_id, stocked_at, seller_id)
    return [sku_view(dict(r)) for r in session.execute(q).mappings()]


def find_order(session: Session, scope: Scope, order_id: str) -> dict[str, Any]:
    row = session.execute(select(t.orders).where(t.orders.c.id == order_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]):
        raise NotFound(f"order {order_id} does not exist")
    if scope.is_operator:
        whs = set(
            session.execute(
                select(t.reservations.c.warehouse).where(t.reservations.c.order_id == order_id)
            ).scalars()
        )
        if not whs or not whs <= set(scope.warehouses):
            raise NotFound(f"order {order_id} does not exist")
    return dict(row)


def get_order(session: Session, scope: Scope, order_id: str) -> dict[str, Any]:
    row = find_order(session, scope, order_id)
    res = session.execute(
        select(t.reservations).where(t.reservations.c.order_id == order_id).order_by(t.reservations.c.id)
    ).mappings()
    lines = session.execute(
        select(t.order_lines).where(t.order_lines.c.order_id == order_id).order_by(t.order_lines.c.line_no)
    ).mappings()
    return {
        "id": row["id"],
        "order_ref": row["order_ref"],
        "seller_id": row["seller_id"],
        "status": row["status"],
        "ship_to": row["ship_to"],
        "lines": [
            {
                "line_no": ln["line_no"],
                "sku": ln["sku"],
                "qty": ln["qty"],
                "unit_price": None if ln["unit_price"] is None else f"{Decimal(ln['unit_price']):.2f}",
            }
            for ln in lines
        ],
        "allocations": [
            {
                "warehouse": r["warehouse"],
                "sku": r["sku"],
                "qty": r["qty"],
                "lot": lot_out(r["lot"]),
                "line_no": r["line_no"],
                "status": r["status"],
            }
            for r in res
        ],
        "explanation": row["explanation"],
        "created_at": rfc3339(row["created_at"]),
        "cancelled_at": rfc3339(row["cancelled_at"]) if row["cancelled_at"] else None,
        "shipped_at": rfc3339(row["shipped_at"]) if row["shipped_at"] else None,
    }


def list_orders(
    session: Session, scope: Scope, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    q = select(t.orders.c.id).order_by(t.orders.c.created_at.desc(), t.orders.c.id.desc()).limit(limit)

    def shipped_from(codes: Sequence[str]) -> ColumnElement[bool]:
        r = t.reservations.c
        return select(r.id).where(r.order_id == t.orders.c.id, r.warehouse.in_(codes)).exists()

    q = scope.filter(q, t.orders.c.seller_id, shipped_from)
    if status:
        q = q.where(t.orders.c.status == status)
    return [get_order(session, scope, oid) for oid in session.execute(q).scalars()]


def get_inbound(session: Session, scope: Scope, inbound_id: str) -> dict[str, Any]:
    row = session.execute(select(t.inbound).where(t.inbound.c.id == inbound_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]) or not scope.sees_warehouse(row["warehouse"]):
        raise NotFound(f"inbound {inbound_id} does not exist")
    lines = session.execute(
        select(t.inbound_lines)
        .where(t.inbound_lines.c.inbound_id == inbound_id)
        .order_by(t.inbound_lines.c.id)
    ).mappings()
    return {
        "id": row["id"],
        "seller_id": row["seller_id"],
        "warehouse": row["warehouse"],
        "waybill_no": row["waybill_no"],
        "status": row["status"],
        "expected_at": rfc3339(row["expected_at"]) if row["expected_at"] else None,
        "arrived_at": rfc3339(row["arrived_at"]) if row["arrived_at"] else None,
        "received_at": rfc3339(row["received_at"]) if row["received_at"] else None,
        "lines": [
            {
                "sku": ln["sku"],
                "lot": lot_out(ln["lot"]),
                "expected": ln["qty_expected"],
                "received": ln["qty_received"],
                "short": ln["qty_short"],
                "surplus": ln["qty_surplus"],
            }
            for ln in lines
        ],
    }


def get_transfer(session: Session, scope: Scope, transfer_id: str) -> dict[str, Any]:
    row = session.execute(select(t.transfers).where(t.transfers.c.id == transfer_id)).mappings().first()
    if (
        row is None
        or not scope.sees_seller(row["seller_id"])
        or (scope.is_operator and not {row["from_warehouse"], row["to_warehouse"]} & set(scope.warehouses))
    ):
        raise NotFound(f"transfer {transfer_id} does not exist")
    lines = session.execute(
        select(t.transfer_lines)
        .where(t.transfer_lines.c.transfer_id == transfer_id)
        .order_by(t.transfer_lines.c.id)
    ).mappings()
    return {
        "id": row["id"],
        "seller_id": row["seller_id"],
        "from_warehouse": row["from_warehouse"],
        "to_warehouse": row["to_warehouse"],
        "waybill_no": row["waybill_no"],
        "status": row["status"],
        "created_at": rfc3339(row["created_at"]),
        "received_at": rfc3339(row["received_at"]) if row["received_at"] else None,
        "lines": [
            {
                "sku": ln["sku"],
                "lot": lot_out(ln["lot"]),
                "qty": ln["qty_shipped"],
                "received": ln["qty_received"],
                "lost": ln["qty_lost"],
            }
            for ln in lines
        ],
    }


def find_rma(session: Session, scope: Scope, rma_id: str, receiving: bool = False) -> dict[str, Any]:
    """An RMA the caller may see. An operator sees those shipped from or received at its warehouses, and
    any RMA whose parcel turns up at its dock (`receiving`): returns may come back anywhere."""
    row = session.execute(select(t.returns).where(t.returns.c.id == rma_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]):
        raise NotFound(f"return {rma_id} does not exist")
    if scope.is_operator and not receiving:
        mine = set(scope.warehouses)
        shipped_from = set(
            session.execute(
                select(t.reservations.c.warehouse).where(t.reservations.c.order_id == row["order_id"])
            ).scalars()
        )
        received_at = set(
            session.execute(
                select(t.return_receipts.c.warehouse).where(t.return_receipts.c.rma_id == rma_id)
            ).scalars()
        )
        if not (shipped_from | received_at) & mine:
            raise NotFound(f"return {rma_id} does not exist")
    return dict(row)


def get_return(session: Session, scope: Scope, rma_id: str) -> dict[str, Any]:
    row = find_rma(session, scope, rma_id)
    lines = (
        session.execute(
            select(t.return_lines).where(t.return_lines.c.rma_id == rma_id).order_by(t.return_lines.c.sku)
        )
        .mappings()
        .all()
    )
    receipts = (
        session.execute(
            select(t.return_receipts)
            .where(t.return_receipts.c.rma_id == rma_id)
            .order_by(t.return_receipts.c.id)
        )
        .mappings()
        .all()
    )
    disp = (
        session.execute(
            select(t.return_dispositions)
            .where(t.return_dispositions.c.rma_id == rma_id)
            .order_by(t.return_dispositions.c.id)
        )
        .mappings()
        .all()
    )
    refund = session.execute(select(t.refunds).where(t.refunds.c.rma_id == rma_id)).mappings().first()
    received: dict[str, int] = defaultdict(int)
    unexpected: dict[str, int] = defaultdict(int)
    for r in receipts:
        (unexpected if r["unexpected"] else received)[r["sku"]] += r["qty"]
    done: dict[str, int] = defaultdict(int)
    for d in disp:
        done[d["sku"]] += d["qty"]
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "seller_id": row["seller_id"],
        "status": row["status"],
        "lines": [
            {
                "sku": ln["sku"],
                "reason": ln["reason"],
                "authorised": ln["qty_authorised"],
                "received": received.get(ln["sku"], 0),
                "dispositioned": done.get(ln["sku"], 0),
            }
            for ln in lines
        ],
        "unexpected": [
            {
                "sku": r["sku"],
                "qty": r["qty"],
                "warehouse": r["warehouse"],
                "lot": lot_out(r["lot"]),
                "flag": "unexpected",
            }
            for r in receipts
            if r["unexpected"]
        ],
        "receipts": [
            {
                "warehouse": r["warehouse"],
                "sku": r["sku"],
                "lot": lot_out(r["lot"]),
                "qty": r["qty"],
                "unexpected": bool(r["unexpected"]),
                "received_at": rfc3339(r["received_at"]),
            }
            for r in receipts
        ],
        "dispositions": [
            {
                "warehouse": d["warehouse"],
                "sku": d["sku"],
                "lot": lot_out(d["lot"]),
                "qty": d["qty"],
                "grade": d["grade"],
                "disposition": d["disposition"],
                "waybill_no": d["waybill_no"],
            }
            for d in disp
        ],
        "refund": None
        if refund is None
        else {
            "amount": f"{Decimal(refund['amount']):.2f}",
            "currency": refund["currency"],
            "created_at": rfc3339(refund["created_at"]),
        },
    }
