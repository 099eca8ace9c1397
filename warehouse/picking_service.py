"""Picking, partial shipment and cancelling the rest, against the database.

An order that was never picked ships and cancels as a whole; once a pick is recorded, shipping takes only
the picked units and cancelling releases what is left (`orders.ship_order` / `cancel_order` decide which).
Every step first locks the order row with a conditional UPDATE on its status, so pick, ship, cancel and the
expiry job on one order queue behind each other and each sees the others' result.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from kernel.errors import ConcurrentChange, Conflict, InvalidInput, WrongState
from warehouse import tables as t
from warehouse.domain import (
    Location,
    MoveKind,
    OrderStatus,
    ReservationStatus,
    Virtual,
    Zone,
    is_expired,
    move,
)
from warehouse.ledger import touched, write_ledger
from warehouse.picking import HELD, Held, PickRequest, plan_picks, status_after
from warehouse.scope import Scope, find_order

OPEN = (OrderStatus.ALLOCATED, OrderStatus.PICKING, OrderStatus.PARTLY_SHIPPED)
PICKED_OR_PARTLY = (OrderStatus.PICKING, OrderStatus.PARTLY_SHIPPED)


def lock_order(session: Session, order_id: str, allowed: tuple[OrderStatus, ...], what: str) -> str:
    """Lock the order row if its status is one of `allowed`; else 409 naming the current status."""
    o = t.orders.c
    won = touched(
        session.execute(
            update(t.orders)
            .where(o.id == order_id, o.status.in_([s.value for s in allowed]))
            .values(status=o.status)
        )
    )
    current = str(session.execute(select(o.status).where(o.id == order_id)).scalar_one())
    if won != 1:
        raise WrongState(f"order {order_id} is {current}: it cannot be {what}", current_status=current)
    return current


def held_reservations(session: Session, order_id: str) -> list[Held]:
    """The order's reservations that still hold units (active or picked), with their lot's expiry."""
    r = t.reservations.c
    rows = session.execute(
        select(r.id, r.line_no, r.warehouse, r.sku, r.lot, r.qty, r.status, t.lots.c.expires_on)
        .select_from(
            t.reservations.join(t.orders, t.orders.c.id == r.order_id).outerjoin(
                t.lots,
                and_(
                    t.lots.c.seller_id == t.orders.c.seller_id,
                    t.lots.c.sku == r.sku,
                    t.lots.c.lot == r.lot,
                ),
            )
        )
        .where(
            r.order_id == order_id,
            r.status.in_(HELD),
        )
        .order_by(r.id)
    ).all()
    return [
        Held(x.id, x.line_no, x.warehouse, x.sku, x.lot, x.qty, ReservationStatus(x.status), x.expires_on)
        for x in rows
    ]


def settle_status(session: Session, order_id: str, now: datetime, shipped_now: bool = False) -> OrderStatus:
    """Set the order's status from its reservations (the order row is locked by the caller)."""
    r = t.reservations.c
    states = [
        (ReservationStatus(s), int(q))
        for s, q in session.execute(select(r.status, r.qty).where(r.order_id == order_id))
    ]
    status = status_after(states)
    values: dict[str, Any] = {"status": status.value}
    if shipped_now:
        values["shipped_at"] = now
    if status is OrderStatus.CANCELLED:
        values["cancelled_at"] = now
    session.execute(update(t.orders).where(t.orders.c.id == order_id).values(**values))
    return status


@dataclass(frozen=True)
class PickOrder:
    order_id: str
    lines: tuple[PickRequest, ...]


def pick_order(session: Session, scope: Scope, cmd: PickOrder, now: datetime) -> str:
    """Record units taken off the shelf for an order (a line, or part of one); returns the order id."""
    order_id = cmd.order_id
    find_order(session, scope, order_id)
    if not cmd.lines:
        raise InvalidInput("a pick needs lines", errors=[{"field": "lines", "message": "empty"}])
    wanted = list(cmd.lines)
    for i, req in enumerate(wanted):
        if req.warehouse is not None and not scope.sees_warehouse(req.warehouse):
            raise InvalidInput(
                f"lines.{i}.warehouse: unknown warehouse {req.warehouse}",
                errors=[{"field": f"lines.{i}.warehouse", "message": "no such warehouse"}],
            )
    lock_order(session, order_id, OPEN, "picked")
    held = [x for x in held_reservations(session, order_id) if scope.sees_warehouse(x.warehouse)]
    r = t.reservations.c
    for res, q in plan_picks(held, wanted, now.date()):
        # the order row is locked: nobody else changes its reservations, so these updates cannot miss
        if q == res.qty:
            session.execute(
                update(t.reservations).where(r.id == res.id).values(status=ReservationStatus.PICKED.value)
            )
            continue
        row = session.execute(select(t.reservations).where(r.id == res.id)).mappings().one()
        session.execute(update(t.reservations).where(r.id == res.id).values(qty=r.qty - q))
        session.execute(
            t.reservations.insert().values(
                {
                    **{k: v for k, v in row.items() if k != "id"},
                    "qty": q,
                    "status": ReservationStatus.PICKED.value,
                }
            )
        )
    settle_status(session, order_id, now)
    return order_id


def ship_picked(session: Session, order: Mapping[str, Any], now: datetime) -> None:
    """Ship exactly the picked units of a picked or partly shipped order (the rest stays reserved)."""
    order_id = order["id"]
    lock_order(session, order_id, PICKED_OR_PARTLY, "shipped")
    picked = [x for x in held_reservations(session, order_id) if x.status is ReservationStatus.PICKED]
    if not picked:
        raise WrongState(f"order {order_id}: nothing is picked and waiting to ship; pick first")
    refuse_expired(order_id, picked, now)
    b, r = t.balances.c, t.reservations.c
    ids = dict(session.execute(select(r.id, r.balance_id).where(r.id.in_([x.id for x in picked]))).all())
    for x in sorted(picked, key=lambda x: ids[x.id]):  # balance-id order, like every balance writer
        ok = touched(
            session.execute(
                update(t.balances)
                .where(b.id == ids[x.id], b.reserved >= x.qty)
                .values(on_hand=b.on_hand - x.qty, reserved=b.reserved - x.qty)
            )
        )
        if ok != 1:
            raise ConcurrentChange(f"reservation {x.id} does not match its balance; order not shipped")
    write_ledger(
        session,
        move(
            order["seller_id"],
            MoveKind.ORDER_SHIPPED,
            order_id,
            [
                (Location.at(x.warehouse, Zone.PICK), Location.virtual(Virtual.CUSTOMER), x.sku, x.lot, x.qty)
                for x in picked
            ],
        ),
        now,
    )
    session.execute(
        update(t.reservations)
        .where(r.id.in_([x.id for x in picked]), r.status == ReservationStatus.PICKED.value)
        .values(status=ReservationStatus.SHIPPED.value)
    )
    settle_status(session, order_id, now, shipped_now=True)


def refuse_expired(order_id: str, held: list[Held], now: datetime) -> None:
    """Refuse to ship stock of a lot that has expired (the expiry job moves or releases it)."""
    expired = sorted({f"{x.sku} lot {x.lot}" for x in held if is_expired(x.expires_on, now.date())})
    if expired:
        raise Conflict(
            f"order {order_id} holds stock of an expired lot ({', '.join(expired)}); it will not ship. "
            "The expiry job moves it to a fresh lot or releases it with the reason on the order"
        )


def release_held(session: Session, order_id: str, held: list[Held]) -> None:
    """Give reserved or picked units back to their balances and mark the reservations released."""
    if not held:
        return
    b, r = t.balances.c, t.reservations.c
    ids = dict(session.execute(select(r.id, r.balance_id).where(r.id.in_([x.id for x in held]))).all())
    for x in sorted(held, key=lambda x: ids[x.id]):
        session.execute(update(t.balances).where(b.id == ids[x.id]).values(reserved=b.reserved - x.qty))
    session.execute(
        update(t.reservations)
        .where(r.id.in_([x.id for x in held]), r.order_id == order_id)
        .values(status=ReservationStatus.RELEASED.value)
    )
