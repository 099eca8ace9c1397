"""Expired lots: reservations move to a fresh lot (FEFO) or are released with the reason on the order; the
expired units then move to quarantine through the ledger, so they can never ship.

Run by the scheduler (`warehouse.scheduled.expiry_job`) and on demand (`POST /v1/expiry/run`). Each order is
handled under its own savepoint with its row locked (like pick, ship and cancel): an order whose fresh stock
was taken by a concurrent order in the meantime is left for the next run, nothing half-done; likewise each
seller's quarantine movement. `run_expiry` commits in batches (each batch atomic; a stopped run is resumed by
the next one, which selects by state).

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from kernel.db import Database
from kernel.errors import Conflict, WrongState
from warehouse import tables as t
from warehouse.domain import (
    Location,
    MoveKind,
    OrderStatus,
    ReservationStatus,
    SellableLot,
    Zone,
    fefo,
    move,
)
from warehouse.ledger import apply_move, touched
from warehouse.picking import HELD, Held, status_after
from warehouse.picking_service import OPEN


class _StockMoved(Exception):
    """Fresh stock was taken by someone else between reading and reserving it."""


def _orders_on_expired_lots(session: Session, today: date) -> list[str]:
    r, o, lots = t.reservations.c, t.orders.c, t.lots.c
    q = (
        select(r.order_id)
        .select_from(
            t.reservations.join(t.orders, o.id == r.order_id).join(
                t.lots, and_(lots.seller_id == o.seller_id, lots.sku == r.sku, lots.lot == r.lot)
            )
        )
        .where(
            r.status.in_(HELD),
            o.status.in_([s.value for s in OPEN]),
            lots.expires_on <= today,
        )
        .distinct()
    )
    return sorted(session.execute(q).scalars())


def _fresh_lots(session: Session, seller_id: str, warehouse: str, sku: str) -> list[tuple[SellableLot, int]]:
    b = t.balances.c
    rows = session.execute(
        select(b.id, b.lot, (b.on_hand - b.reserved).label("available"), t.lots.c.expires_on)
        .select_from(
            t.balances.outerjoin(
                t.lots, and_(t.lots.c.seller_id == b.seller_id, t.lots.c.sku == b.sku, t.lots.c.lot == b.lot)
            )
        )
        .where(
            b.seller_id == seller_id,
            b.warehouse == warehouse,
            b.zone == Zone.PICK.value,
            b.sku == sku,
            b.on_hand > b.reserved,
        )
    ).all()
    return [(SellableLot(warehouse, sku, x.lot, int(x.available), x.expires_on), int(x.id)) for x in rows]


def reallocate_order(session: Session, order_id: str, now: datetime) -> list[dict[str, Any]]:
    """Move one order's reservations off expired lots; returns what happened per reservation.

    The caller holds a savepoint: `_StockMoved` or `Conflict` roll this order back and leave it for later.
    """
    today = now.date()
    o, r, b, lots = t.orders.c, t.reservations.c, t.balances.c, t.lots.c
    # lock the order row (like pick, ship and cancel) and read what the notes are added to, in one statement
    locked = session.execute(
        update(t.orders)
        .where(o.id == order_id, o.status.in_([s.value for s in OPEN]))
        .values(status=o.status)
        .returning(o.seller_id, o.explanation)
    ).first()
    if locked is None:
        raise WrongState(f"order {order_id} is no longer open")
    seller_id, explanation = locked
    found_rows = session.execute(
        select(r.id, r.line_no, r.warehouse, r.sku, r.lot, r.qty, r.status, r.balance_id, lots.expires_on)
        .select_from(
            t.reservations.join(
                t.lots, and_(lots.seller_id == seller_id, lots.sku == r.sku, lots.lot == r.lot)
            )
        )
        .where(r.order_id == order_id, r.status.in_(HELD), lots.expires_on <= today)
        .order_by(r.id)
    ).all()
    if not found_rows:
        return []
    stale = [
        Held(x.id, x.line_no, x.warehouse, x.sku, x.lot, x.qty, ReservationStatus(x.status), x.expires_on)
        for x in found_rows
    ]
    balance_of = {x.id: int(x.balance_id) for x in found_rows}
    pools: dict[tuple[str, str], list[tuple[SellableLot, int]]] = {}
    delta: dict[int, int] = defaultdict(int)
    plans: list[tuple[Held, list[tuple[int, str, int]], int]] = []
    for x in stale:
        key = (x.warehouse, x.sku)
        if key not in pools:
            found = _fresh_lots(session, seller_id, x.warehouse, x.sku)
            ids = {lt.lot: bid for lt, bid in found}
            pools[key] = [(lt, ids[lt.lot]) for lt in fefo([lt for lt, _ in found], today)]
        need, parts = x.qty, []
        for i, (lt, bid) in enumerate(pools[key]):
            q = min(need, lt.available)
            if q:
                parts.append((bid, lt.lot, q))
                pools[key][i] = (
                    SellableLot(lt.warehouse, lt.sku, lt.lot, lt.available - q, lt.expires_on),
                    bid,
                )
                delta[bid] += q
                need -= q
            if not need:
                break
        delta[balance_of[x.id]] -= x.qty
        plans.append((x, parts, need))
    for bid, d in sorted(delta.items()):  # balance-id order, like every balance writer
        stmt = update(t.balances).where(b.id == bid).values(reserved=b.reserved + d)
        if d > 0:
            stmt = stmt.where(b.on_hand - b.reserved >= d)
        if d and touched(session.execute(stmt)) != 1:
            raise _StockMoved(order_id)
    out, notes = [], []
    for x, parts, released in plans:
        rows = [(bid, lot, q, ReservationStatus.ACTIVE) for bid, lot, q in parts]
        if released:
            rows.append((balance_of[x.id], x.lot, released, ReservationStatus.RELEASED))
        first, rest = rows[0], rows[1:]
        session.execute(
            update(t.reservations)
            .where(r.id == x.id)
            .values(balance_id=first[0], lot=first[1], qty=first[2], status=first[3].value)
        )
        for bid, lot, q, state in rest:
            session.execute(
                t.reservations.insert().values(
                    order_id=order_id,
                    line_no=x.line_no,
                    balance_id=bid,
                    warehouse=x.warehouse,
                    sku=x.sku,
                    lot=lot,
                    qty=q,
                    status=state.value,
                )
            )
        moved = sorted({lot for _, lot, _ in parts})
        what = f"line {x.line_no}: lot {x.lot} of {x.sku} at {x.warehouse} expired on {x.expires_on}"
        if parts:
            what += f"; {x.qty - released} unit(s) re-allocated to lot {', '.join(moved)} (FEFO)"
        if released:
            what += f"; {released} unit(s) released: no fresh stock of {x.sku} at {x.warehouse}"
        notes.append(f"{now.isoformat()} {what}")
        out.append(
            {
                "order_id": order_id,
                "line_no": x.line_no,
                "sku": x.sku,
                "warehouse": x.warehouse,
                "expired_lot": x.lot,
                "reallocated": [{"lot": lot, "qty": q} for _, lot, q in parts],
                "released": released,
            }
        )
    status = status_after(
        (ReservationStatus(st), int(q))
        for st, q in session.execute(select(r.status, r.qty).where(r.order_id == order_id))
    )
    values: dict[str, Any] = {"status": status.value}
    if status is OrderStatus.CANCELLED:
        notes.append(f"{now.isoformat()} order cancelled: nothing left to ship after the expired lots")
        values["cancelled_at"] = now
    session.execute(
        update(t.orders).where(o.id == order_id).values(explanation=[*explanation, *notes], **values)
    )
    return out


ShelfRow = Any  # (seller_id, warehouse, sku, lot, qty, expires_on) as read from the balances

# Orders (or sellers) per transaction in `run_expiry`. Each has its own savepoint: staying under PostgreSQL's
# 64 cached subtransactions per backend keeps other sessions' snapshots off pg_subtrans.
BATCH_SIZE = 50


def expired_shelf(session: Session, today: date) -> dict[str, list[ShelfRow]]:
    """Unreserved units of expired lots still on the pick shelf, per seller."""
    b, lots = t.balances.c, t.lots.c
    rows = session.execute(
        select(b.seller_id, b.warehouse, b.sku, b.lot, (b.on_hand - b.reserved).label("qty"), lots.expires_on)
        .select_from(
            t.balances.join(t.lots, and_(lots.seller_id == b.seller_id, lots.sku == b.sku, lots.lot == b.lot))
        )
        .where(b.zone == Zone.PICK.value, b.on_hand > b.reserved, lots.expires_on <= today)
        .order_by(b.seller_id, b.warehouse, b.sku, b.lot)
    ).all()
    by_seller: dict[str, list[ShelfRow]] = defaultdict(list)
    for x in rows:
        by_seller[x.seller_id].append(x)
    return dict(by_seller)


def quarantine_sellers(
    session: Session, shelf: dict[str, list[ShelfRow]], now: datetime
) -> tuple[list[dict[str, Any]], list[str]]:
    """Move each seller's expired units (as read in `shelf`) to quarantine, one movement per seller under
    its own savepoint: a seller whose shelf changed since the read (a count, a transfer, an order) is rolled
    back alone and returned as deferred, for the next run; the others go ahead."""
    out: list[dict[str, Any]] = []
    deferred: list[str] = []
    for seller, xs in sorted(shelf.items()):
        parts = [
            (
                Location.at(x.warehouse, Zone.PICK),
                Location.at(x.warehouse, Zone.QUARANTINE),
                x.sku,
                x.lot,
                int(x.qty),
            )
            for x in xs
        ]
        try:
            with session.begin_nested():
                movement = apply_move(session, move(seller, MoveKind.EXPIRED, "expired lots", parts), now)
        except Conflict:
            deferred.append(seller)
            continue
        out += [
            {
                "seller_id": seller,
                "warehouse": x.warehouse,
                "sku": x.sku,
                "lot": x.lot,
                "expired_on": x.expires_on.isoformat(),
                "qty": int(x.qty),
                "movement": movement,
            }
            for x in xs
        ]
    return out, deferred


def quarantine_expired(session: Session, now: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    """Move every unreserved unit of an expired lot from the shelf to quarantine (one movement per seller);
    returns what moved and the sellers deferred to the next run."""
    return quarantine_sellers(session, expired_shelf(session, now.date()), now)


def reallocate_orders(
    session: Session, order_ids: list[str], now: datetime
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each order under its own savepoint; one whose fresh stock was taken meanwhile (or that closed) is
    rolled back alone and returned as deferred."""
    reservations: list[dict[str, Any]] = []
    deferred: list[str] = []
    for order_id in order_ids:
        try:
            with session.begin_nested():
                reservations += reallocate_order(session, order_id, now)
        except (_StockMoved, Conflict):
            deferred.append(order_id)
    return reservations, deferred


def handle_expired_lots(session: Session, now: datetime) -> dict[str, Any]:
    """The expiry job in the caller's one transaction: re-allocate or release reservations on expired lots,
    then quarantine expired stock. `run_expiry` does the same in batches."""
    reservations, deferred = reallocate_orders(session, _orders_on_expired_lots(session, now.date()), now)
    quarantined, sellers = quarantine_expired(session, now)
    return {
        "reservations": reservations,
        "quarantined": quarantined,
        "deferred": deferred,
        "deferred_sellers": sellers,
    }


def read_orders_on_expired_lots(db: Database, today: date) -> list[str]:
    with db.session() as s:
        return _orders_on_expired_lots(s, today)


def read_expired_shelf(db: Database, today: date) -> dict[str, list[ShelfRow]]:
    with db.session() as s:
        return expired_shelf(s, today)


def run_expiry(db: Database, now: datetime, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """The expiry job, committed in batches of `batch_size` orders, then of `batch_size` sellers.

    Each batch is one transaction (all of it or nothing of it); what a batch committed is done, and what
    an interrupted run left is found again by the next run (it selects by state: orders still holding an
    expired lot, expired units still on the shelf), so a run can stop anywhere and be resumed by running
    it again. Locks are held for one batch at a time.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    today = now.date()
    out: dict[str, Any] = {
        "reservations": [],
        "quarantined": [],
        "deferred": [],
        "deferred_sellers": [],
        "batches": 0,
    }
    order_ids = read_orders_on_expired_lots(db, today)
    for i in range(0, len(order_ids), batch_size):
        with db.session() as s:
            done, deferred = reallocate_orders(s, order_ids[i : i + batch_size], now)
        out["reservations"] += done
        out["deferred"] += deferred
        out["batches"] += 1
    shelf = read_expired_shelf(db, today)
    sellers = sorted(shelf)
    for i in range(0, len(sellers), batch_size):
        with db.session() as s:
            moved, deferred = quarantine_sellers(s, {k: shelf[k] for k in sellers[i : i + batch_size]}, now)
        out["quarantined"] += moved
        out["deferred_sellers"] += deferred
        out["batches"] += 1
    return out
