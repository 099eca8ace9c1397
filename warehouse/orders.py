"""Orders: allocation (all lines or nothing), cancel and ship; picks and partial shipment: `picking_service`.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlalchemy.orm import Session

from kernel.errors import AlreadyExists, ConcurrentChange, InvalidInput, WrongState
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.catalog import check_qty, seller_skus
from warehouse.domain import (
    Location,
    MoveKind,
    OrderStatus,
    Pick,
    ReservationStatus,
    ShipTo,
    Virtual,
    Zone,
    move,
    plan_allocation,
)
from warehouse.ledger import touched, write_ledger
from warehouse.order_store import NewOrder, write_allocation
from warehouse.picking_service import (
    PICKED_OR_PARTLY,
    held_reservations,
    lock_order,
    refuse_expired,
    release_held,
    settle_status,
    ship_picked,
)
from warehouse.scope import Scope, find_order
from warehouse.stock import SELLABLE_LOCKED, stock_of


@dataclass(frozen=True)
class OrderAddress:
    country: str
    lat: float | None = None
    lon: float | None = None
    postcode: str | None = None
    city: str | None = None  # places the address for delivery runs when lat/lon are not given


@dataclass(frozen=True)
class OrderLine:
    sku: str
    qty: int
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class AllocateOrder:
    order_ref: str
    ship_to: OrderAddress
    lines: tuple[OrderLine, ...]
    currency: str = "USD"
    seller_id: str | None = None


@dataclass(frozen=True)
class AllocatedOrder:
    """What an allocation decided: the order's id and where each line's units are reserved."""

    id: str
    order_ref: str
    seller_id: str
    picks: tuple[Pick, ...]
    explanation: list[str]


@dataclass(frozen=True)
class CancelOrder:
    order_id: str


@dataclass(frozen=True)
class ShipOrder:
    order_id: str


def allocate_order(session: Session, scope: Scope, cmd: AllocateOrder, now: datetime) -> AllocatedOrder:
    """Create an order and reserve its stock atomically: all lines or nothing (409).

    On PostgreSQL two statements whatever the order's size: lock the candidate balances (in balance-id
    order), then write the order, its lines, reservations and reserved units (`order_store`); the plan
    between them is pure (`plan_allocation`).
    """
    seller_id = scope.seller_for_write(cmd.seller_id)
    lines = cmd.lines
    if not lines:
        raise InvalidInput("an order needs lines", errors=[{"field": "lines", "message": "empty"}])
    for i, ln in enumerate(lines):
        check_qty(ln.qty, f"lines.{i}.qty")
    st = cmd.ship_to
    ship_to = ShipTo(st.country.upper(), st.lat, st.lon, st.postcode)
    req = [(ln.sku, ln.qty) for ln in lines]
    conn = session.connection()  # Core on the session's transaction: no ORM work on the hot path
    rows = conn.execute(SELLABLE_LOCKED, {"seller_id": seller_id, "skus": sorted({s for s, _ in req})}).all()
    stock, ids, sites = stock_of(rows)
    unstocked = {s for s, _ in req} - {lt.sku for lt in stock}
    if unstocked:  # an unknown SKU has no stock: tell it apart from a sold-out one (422, not 409)
        seller_skus(session, seller_id, unstocked)
    plan = plan_allocation(req, ship_to, sites, stock, now.date())
    order_id = new_id("ord")
    address = {"country": st.country, "lat": st.lat, "lon": st.lon, "postcode": st.postcode, "city": st.city}
    new_order = NewOrder(
        id=order_id,
        seller_id=seller_id,
        order_ref=cmd.order_ref,
        ship_to={k: v for k, v in address.items() if v is not None},
        explanation=plan.explanation,
        currency=cmd.currency or "USD",
        created_at=now,
        lines=[(ln.sku, ln.qty, ln.unit_price) for ln in lines],
    )
    written = write_allocation(conn, new_order, plan.picks, ids)
    # a duplicate order_ref (even a concurrent one: its insert waits for the first) rolls back
    if not written.order:
        raise AlreadyExists(f"order {cmd.order_ref} exists already for this seller")
    if written.balances != len({ids[(p.warehouse, p.sku, p.lot)] for p in plan.picks}):
        # the balances are locked: only a broken invariant gets here, and nothing is kept
        raise ConcurrentChange("stock changed under a lock while reserving; nothing was reserved")
    return AllocatedOrder(order_id, cmd.order_ref, seller_id, tuple(plan.picks), plan.explanation)


def cancel_order(session: Session, scope: Scope, cmd: CancelOrder, now: datetime) -> str:
    """Cancel what has not shipped: the whole allocated order, or the rest of a picked or partly shipped
    one (a partly shipped order ends SHIPPED with the rest released); returns the order id."""
    order_id = cmd.order_id
    order = find_order(session, scope, order_id)
    if order["status"] == OrderStatus.ALLOCATED.value:
        _cancel_allocated(session, order_id, now)
        return order_id
    lock_order(session, order_id, PICKED_OR_PARTLY, "cancelled")
    release_held(session, order_id, held_reservations(session, order_id))
    session.execute(update(t.orders).where(t.orders.c.id == order_id).values(cancelled_at=now))
    settle_status(session, order_id, now)
    return order_id


def ship_order(session: Session, scope: Scope, cmd: ShipOrder, now: datetime) -> str:
    """Ship an order: all of it if nothing was picked, else exactly the picked units (a partial shipment
    when some are still only reserved); returns the order id."""
    order_id = cmd.order_id
    order = find_order(session, scope, order_id)
    if order["status"] == OrderStatus.ALLOCATED.value:
        refuse_expired(order_id, held_reservations(session, order_id), now)
        _ship_allocated(session, order, now)
    else:
        ship_picked(session, order, now)
    return order_id


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
        raise WrongState(
            f"order {order_id} is {current}; only an ALLOCATED order can be {to.value.lower()}",
            current_status=current,
        )


def _active_reservations(session: Session, order_id: str) -> Sequence[RowMapping]:
    """An order's active reservations in balance-id order (the lock order of every stock writer)."""
    query = (
        select(t.reservations)
        .where(
            t.reservations.c.order_id == order_id,
            t.reservations.c.status == ReservationStatus.ACTIVE.value,
        )
        .order_by(t.reservations.c.balance_id)
    )
    return session.execute(query).mappings().all()


def _cancel_allocated(session: Session, order_id: str, now: datetime) -> None:
    """Cancel an allocated order and release its reservations."""
    _transition(session, order_id, OrderStatus.CANCELLED, "cancelled_at", now)
    res = _active_reservations(session, order_id)
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


def _ship_allocated(session: Session, order: Mapping[str, Any], now: datetime) -> None:
    """Ship an allocated order: its reserved units leave the warehouse for the customer."""
    order_id = order["id"]
    _transition(session, order_id, OrderStatus.SHIPPED, "shipped_at", now)
    res = _active_reservations(session, order_id)
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
            raise ConcurrentChange(f"reservation {r['id']} does not match its balance; order not shipped")
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
