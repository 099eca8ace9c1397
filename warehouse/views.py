"""The read side: orders, inbound notices, transfers, returns, warehouses and SKUs as the API shows them.

Every write command returns an id; its driver calls one view here once to shape the response.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import NotFound
from warehouse import tables as t
from warehouse.domain import DEFAULT_DISPOSITIONS, Disposition, MoveKind, OrderStatus
from warehouse.inbound import ReceivedInbound
from warehouse.ledger import lot_out
from warehouse.orders import AllocatedOrder
from warehouse.returns import Refund, return_policy_of
from warehouse.scope import Scope, find_inbound, find_order, find_rma, find_transfer
from warehouse.stock import CycleCounted


def warehouse_view(row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """A warehouse as the API shows it."""
    return {
        "code": row["code"],
        "name": row["name"],
        "country": row["country"],
        "lat": float(row["lat"]),
        "lon": float(row["lon"]),
        "node_id": row["node_id"],
        "handling_cost": {"amount": f"{Decimal(row['handling_cost']):.2f}", "currency": row["currency"]},
    }


def get_warehouse(session: Session, code: str) -> dict[str, Any]:
    """One warehouse of the network."""
    row = session.execute(select(t.warehouses).where(t.warehouses.c.code == code)).mappings().one()
    return warehouse_view(row)


def list_warehouses(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """The warehouses the caller may see, by code."""
    rows = session.execute(select(t.warehouses).order_by(t.warehouses.c.code)).mappings()
    return [warehouse_view(dict(r)) for r in rows if scope.sees_warehouse(r["code"])]


def sku_view(row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """A SKU as the API shows it."""
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


def get_sku(session: Session, sku_id: str) -> dict[str, Any]:
    """One SKU of a seller."""
    return sku_view(session.execute(select(t.skus).where(t.skus.c.id == sku_id)).mappings().one())


def list_skus(session: Session, scope: Scope, seller_id: str | None = None) -> list[dict[str, Any]]:
    """The SKUs the caller may see (an operator: those stocked at its warehouses)."""
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


def _order_view(
    row: Mapping[Any, Any], lines: Sequence[Mapping[Any, Any]], res: Sequence[Mapping[Any, Any]]
) -> dict[str, Any]:
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


def get_order(session: Session, scope: Scope, order_id: str) -> dict[str, Any]:
    """An order with its lines and where its units are reserved."""
    row = find_order(session, scope, order_id)
    res = session.execute(
        select(t.reservations).where(t.reservations.c.order_id == order_id).order_by(t.reservations.c.id)
    ).mappings()
    lines = session.execute(
        select(t.order_lines).where(t.order_lines.c.order_id == order_id).order_by(t.order_lines.c.line_no)
    ).mappings()
    return _order_view(row, list(lines), list(res))


def _by_key(rows: Sequence[Mapping[Any, Any]], key: str) -> dict[Any, list[Mapping[Any, Any]]]:
    grouped: dict[Any, list[Mapping[Any, Any]]] = defaultdict(list)
    for r in rows:
        grouped[r[key]].append(r)
    return grouped


def order_scope_filter(query: Select[Any], scope: Scope) -> Select[Any]:
    """The orders a scope sees: a seller its own, an operator those shipped from its warehouses."""

    def shipped_from(codes: Sequence[str]) -> ColumnElement[bool]:
        r = t.reservations.c
        return select(r.id).where(r.order_id == t.orders.c.id, r.warehouse.in_(codes)).exists()

    return scope.filter(query, t.orders.c.seller_id, shipped_from)


def order_views(session: Session, scope: Scope, rows: Sequence[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    """The views of a page of orders: two queries for all of them (their lines, their reservations)."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    ln, rs = t.order_lines.c, t.reservations.c
    lines = _by_key(
        session.execute(select(t.order_lines).where(ln.order_id.in_(ids)).order_by(ln.order_id, ln.line_no))
        .mappings()
        .all(),
        "order_id",
    )
    res = _by_key(
        session.execute(select(t.reservations).where(rs.order_id.in_(ids)).order_by(rs.order_id, rs.id))
        .mappings()
        .all(),
        "order_id",
    )
    if scope.is_operator:
        # The same rule as `find_order`, which each listed order went through one by one before.
        for oid in ids:
            whs = {r["warehouse"] for r in res[oid]}
            if not whs or not whs <= set(scope.warehouses):
                raise NotFound(f"order {oid} does not exist")
    return [_order_view(r, lines[r["id"]], res[r["id"]]) for r in rows]


def _inbound_view(row: Mapping[Any, Any], lines: Sequence[Mapping[Any, Any]]) -> dict[str, Any]:
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


def get_inbound(session: Session, scope: Scope, inbound_id: str) -> dict[str, Any]:
    """An inbound notice with its lines: expected, received, short and surplus."""
    row = find_inbound(session, scope, inbound_id)
    return inbound_views(session, [row])[0]


def inbound_views(session: Session, rows: Sequence[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    """Inbound notices the caller may see (rows of `inbound`) with their lines, in one query for all."""
    if not rows:
        return []
    c = t.inbound_lines.c
    q = select(t.inbound_lines).where(c.inbound_id.in_([r["id"] for r in rows])).order_by(c.inbound_id, c.id)
    lines = _by_key(session.execute(q).mappings().all(), "inbound_id")
    return [_inbound_view(r, lines[r["id"]]) for r in rows]


def get_transfer(session: Session, scope: Scope, transfer_id: str) -> dict[str, Any]:
    """A transfer with its lines: shipped, received and lost."""
    row = find_transfer(session, scope, transfer_id)
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


def get_return(session: Session, scope: Scope, rma_id: str) -> dict[str, Any]:
    """A return authorisation as every returns endpoint shows it: lines, receipts, dispositions, refund,
    and its refurbishments (finished and pending)."""
    row = find_rma(session, scope, rma_id)
    return return_views(session, [row])[0]


def return_views(session: Session, rows: Sequence[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    """Return authorisations the caller may see (rows of `returns`) as `get_return` shows each: five
    queries for any number of them."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    ln, rc, dp, rf, fb = (
        t.return_lines.c,
        t.return_receipts.c,
        t.return_dispositions.c,
        t.refunds.c,
        t.refurbishments.c,
    )

    def load(table: Any, rma_id: Any, *order: Any) -> dict[Any, list[Mapping[Any, Any]]]:
        q = select(table).where(rma_id.in_(ids)).order_by(rma_id, *order)
        return _by_key(session.execute(q).mappings().all(), "rma_id")

    lines = load(t.return_lines, ln.rma_id, ln.sku)
    receipts = load(t.return_receipts, rc.rma_id, rc.id)
    disp = load(t.return_dispositions, dp.rma_id, dp.id)
    refunds = load(t.refunds, rf.rma_id)
    refurbished = load(t.refurbishments, fb.rma_id, fb.id)
    return [
        _return_view(
            r,
            lines[r["id"]],
            receipts[r["id"]],
            disp[r["id"]],
            refunds[r["id"]][0] if refunds[r["id"]] else None,
            refurbished[r["id"]],
        )
        for r in rows
    ]


def _awaiting_refurbishment(
    disp: Sequence[Mapping[Any, Any]], refurbished: Sequence[Mapping[Any, Any]]
) -> dict[tuple[str, str, str], int]:
    # `refurbishment.pending_refurbishment` in memory, from rows already loaded for the view.
    sent: dict[tuple[str, str, str], int] = defaultdict(int)
    for d in disp:
        if d["disposition"] == Disposition.REFURBISH.value:
            sent[(d["warehouse"], d["sku"], d["lot"])] += d["qty"]
    done: dict[tuple[str, str, str], int] = defaultdict(int)
    for f in refurbished:
        done[(f["warehouse"], f["sku"], f["lot"])] += f["qty"]
    out = {k: q - done.get(k, 0) for k, q in sent.items()}
    return {k: v for k, v in out.items() if v > 0}


def _return_view(
    row: Mapping[Any, Any],
    lines: Sequence[Mapping[Any, Any]],
    receipts: Sequence[Mapping[Any, Any]],
    disp: Sequence[Mapping[Any, Any]],
    refund: Mapping[Any, Any] | None,
    refurbished: Sequence[Mapping[Any, Any]],
) -> dict[str, Any]:
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
        "refurbishments": [
            {
                "warehouse": r["warehouse"],
                "sku": r["sku"],
                "lot": lot_out(r["lot"]),
                "qty": r["qty"],
                "outcome": r["outcome"],
                "created_at": rfc3339(r["created_at"]),
            }
            for r in refurbished
        ],
        "awaiting_refurbishment": [
            {"warehouse": w, "sku": s, "lot": lot_out(lot), "qty": q}
            for (w, s, lot), q in sorted(_awaiting_refurbishment(disp, refurbished).items())
        ],
    }


def get_return_policy(session: Session, scope: Scope, seller_id: str | None = None) -> dict[str, Any]:
    """The seller's disposition table: the defaults overlaid with its own rules."""
    seller = scope.seller_for_write(seller_id)
    table = {**DEFAULT_DISPOSITIONS, **return_policy_of(session, seller)}
    return {"seller_id": seller, "grades": {g.value: d.value for g, d in sorted(table.items())}}


def refund_view(refund: Refund) -> dict[str, Any]:
    """A refund as `POST /returns/{id}/refund` answers it."""
    return {
        "rma_id": refund.rma_id,
        "amount": {"amount": f"{refund.amount:.2f}", "currency": refund.currency},
        "created_at": rfc3339(refund.created_at),
        "already_refunded": not refund.created,
    }


def allocated_order_view(order: AllocatedOrder) -> dict[str, Any]:
    """An order as its allocation answers it: where each line's units are reserved, and why."""
    return {
        "id": order.id,
        "order_ref": order.order_ref,
        "seller_id": order.seller_id,
        "status": OrderStatus.ALLOCATED.value,
        "allocations": [
            {
                "warehouse": p.warehouse,
                "sku": p.sku,
                "qty": p.qty,
                "lot": lot_out(p.lot),
                "line_no": p.line_no,
            }
            for p in order.picks
        ],
        "explanation": order.explanation,
    }


def inbound_receipt_view(session: Session, scope: Scope, received: ReceivedInbound) -> dict[str, Any]:
    """An inbound notice as its receipt answers it: with what the count found different."""
    out = get_inbound(session, scope, received.inbound_id)
    out["discrepancies"] = [
        {"sku": d.sku, "lot": lot_out(d.lot), "expected": d.expected, "counted": d.counted}
        | ({"unannounced": True} if d.unannounced else {})
        for d in received.discrepancies
    ]
    return out


def cycle_count_view(counted: CycleCounted) -> dict[str, Any]:
    """A cycle count: each line against the books, and the adjustment movements."""
    return {
        "warehouse": counted.warehouse,
        "seller_id": counted.seller_id,
        "lines": [
            {
                "sku": c.sku,
                "lot": lot_out(c.lot),
                "system": c.system,
                "counted": c.counted,
                "adjustment": c.adjustment,
            }
            for c in counted.lines
        ],
        "movements": list(counted.movements),
    }


def reversal_view(reversal_id: str, movement_id: str) -> dict[str, Any]:
    """A reversal movement and the movement it corrects."""
    return {"id": reversal_id, "reverses": movement_id, "kind": MoveKind.REVERSAL.value}
