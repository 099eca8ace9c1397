"""Orders: allocation (all lines or nothing), cancel and ship of an allocated order.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.errors import Conflict, InvalidInput
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.catalog import check_qty, seller_skus
from warehouse.domain import (
    Location,
    MoveKind,
    OrderStatus,
    ReservationStatus,
    ShipTo,
    Virtual,
    Zone,
    move,
    plan_allocation,
)
from warehouse.ledger import lot_out, touched, write_ledger
from warehouse.order_store import NewOrder, write_allocation
from warehouse.scope import Scope
from warehouse.stock import SELLABLE_LOCKED, stock_of
from warehouse.views import find_order, get_order


def allocate_order(session: Session, scope: Scope, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Create an order and reserve its stock atomically: all lines or nothing (409).

    On PostgreSQL two statements whatever the order's size: lock the candidate balances (in balance-id
    order), then write the order, its lines, reservations and reserved units (`order_store`); the plan
    between them is pure (`plan_allocation`).
    """
    seller_id = scope.seller_for_write(body.get("seller_id"))
    lines = body["lines"]
    if not lines:
        raise InvalidInput("an order needs lines", errors=[{"field": "lines", "message": "empty"}])
    for i, ln in enumerate(lines):
        check_qty(int(ln["qty"]), f"lines.{i}.qty")
    st = body["ship_to"]
    ship_to = ShipTo(str(st["country"]).upper(), st.get("lat"), st.get("lon"), st.get("postcode"))
    req = [(str(ln["sku"]), int(ln["qty"])) for ln in lines]
    conn = session.connection()  # Core on the session's transaction: no ORM work on the hot path
    rows = conn.execute(SELLABLE_LOCKED, {"seller_id": seller_id, "skus": sorted({s for s, _ in req})}).all()
    stock, ids, sites = stock_of(rows)
    unstocked = {s for s, _ in req} - {lt.sku for lt in stock}
    if unstocked:  # an unknown SKU has no stock: tell it apart from a sold-out one (422, not 409)
        seller_skus(session, seller_id, unstocked)
    plan = plan_allocation(req, ship_to, sites, stock, now.date())
    order_id = new_id("ord")
    new_order = NewOrder(
        id=order_id,
        seller_id=seller_id,
        order_ref=body["order_ref"],
        ship_to={k: v for k, v in st.items() if v is not None},
        explanation=plan.explanation,
        currency=body.get("currency") or "USD",
        created_at=now,
        lines=[
            (
                str(ln["sku"]),
                int(ln["qty"]),
                None if ln.get("unit_price") is None else Decimal(str(ln["unit_price"])),
            )
            for ln in lines
        ],
    )
    written = write_allocation(conn, new_order, plan.picks, ids)
    # a duplicate order_ref (even a concurrent one: its insert waits for the first) rolls back
    if not written.order:
        raise Conflict(f"order {body['order_ref']} exists already for this seller")
    if written.balances != len({ids[(p.warehouse, p.sku, p.lot)] for p in plan.picks}):
        # the balances are locked: only a broken invariant gets here, and nothing is kept
        raise Conflict("stock changed under a lock while reserving; nothing was reserved")
    return {
        "id": order_id,
        "order_ref": body["order_ref"],
        "seller_id": seller_id,
        "status": OrderStatus.ALLOCATED.value,
        "allocations": [
            {
                "warehouse": p.warehouse,
                "sku": p.sku,
                "qty": p.qty,
                "lot": lot_out(p.lot),
                "line_no": p.line_no,
            }
            for p in plan.picks
        ],
        "explanation": plan.explanation,
    }


def _transition(session: Session, order_id: str, to: OrderStatus, stamp: str, now: datetime) -> None:
    won = touched(
        session.execute(
            update(t.orders)
            .where(t.orders.c.id == order_id, t.orders.c.status == OrderStatus.ALLOCATED.value)
            .values(status=to.value, **{stamp: now})
        )
    )
    if won != 1:
        current = session.execute(select(t.orders.c.status).where(t.orders.c.id == order_id)).scalar_one()
        raise Conflict(
            f"order {order_id} is {current}; only an ALLOCATED order can be {to.value.lower()}",
            current_status=current,
        )


def cancel_order(session: Session, scope: Scope, order_id: str, now: datetime) -> dict[str, Any]:
    """Cancel an allocated order and release its reservations."""
    find_order(session, scope, order_id)
    _transition(session, order_id, OrderStatus.CANCELLED, "cancelled_at", now)
    res = (
        session.execute(
            select(t.reservations)
            .where(
                t.reservations.c.order_id == order_id,
                t.reservations.c.status == ReservationStatus.ACTIVE.value,
            )
            .order_by(t.reservations.c.balance_id)
        )
        .mappings()
        .all()
    )
    b = t.balances.c
    for r in res:
        session.execute(
            update(t.balances).where(b.id == r["balance_id"]).values(reserved=b.reserved - r["qty"])
        )
    session.execute(
        update(t.reservations)
        .where(
            t.reservations.c.order_id == order_id, t.reservations.c.status == ReservationStatus.ACTIVE.value
        )
        .values(status=ReservationStatus.RELEASED.value)
    )
    return get_order(session, scope, order_id)


def ship_order(session: Session, scope: Scope, order_id: str, now: datetime) -> dict[str, Any]:
    """Ship an allocated order: its reserved units leave the warehouse for the customer."""
    order = find_order(session, scope, order_id)
    _transition(session, order_id, OrderStatus.SHIPPED, "shipped_at", now)
    res = (
        session.execute(
            select(t.reservations)
            .where(
                t.reservations.c.order_id == order_id,
                t.reservations.c.status == ReservationStatus.ACTIVE.value,
            )
            .order_by(t.reservations.c.balance_id)
        )
        .mappings()
        .all()
    )
    b = t.balances.c
    for r in res:
        ok = touched(
            session.execute(
                update(t.balances)
                .where(b.id == r["balance_id"], b.reserved >= r["qty"])
                .values(on_hand=b.on_hand - r["qty"], reserved=b.reserved - r["qty"])
            )
        )
        if ok != 1:  # cannot happen while reservations and balances agree; refuse rather than drift
            raise Conflict(f"reservation {r['id']} does not match its balance; order not shipped")
    mv = move(
        order["seller_id"],
        MoveKind.ORDER_SHIPPED,
        order_id,
        [
            (
                Location.at(r["warehouse"], Zone.PICK),
                Location.virtual(Virtual.CUSTOMER),
                r["sku"],
                r["lot"],
                r["qty"],
            )
            for r in res
        ],
    )
    write_ledger(session, mv, now)
    session.execute(
        update(t.reservations)
        .where(
            t.reservations.c.order_id == order_id, t.reservations.c.status == ReservationStatus.ACTIVE.value
        )
        .values(status=ReservationStatus.SHIPPED.value)
    )
    return get_order(session, scope, order_id)
