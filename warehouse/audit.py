"""Checks of the stock invariants against the database: the honest-numbers audit.

Each check returns human-readable findings; an empty list means the books are straight. Tests run it after
every scenario; operators can run it at any time (it only reads).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse import tables as t
from warehouse.domain import OrderStatus, ReservationStatus
from warehouse.picking import HELD


def audit(session: Session, seller_ids: list[str] | None = None) -> list[str]:
    """Ledger equals balance; movements sum to zero and stay within one seller; reservations match balances;
    every order line is fully accounted for; returns and refunds stay within what was received."""
    findings: list[str] = []
    b, lg, r = t.balances.c, t.ledger.c, t.reservations.c

    def scoped(q: Any, col: Any) -> Any:
        return q.where(col.in_(seller_ids)) if seller_ids else q

    # 1. each movement sums to zero per (sku, lot) and belongs to one seller
    q = scoped(
        select(lg.movement_id, lg.sku, lg.lot, func.sum(lg.qty))
        .group_by(lg.movement_id, lg.sku, lg.lot)
        .having(func.sum(lg.qty) != 0),
        lg.seller_id,
    )
    findings += [
        f"movement {m} does not sum to zero for {s}/{lot}: {q}" for m, s, lot, q in session.execute(q)
    ]
    q = scoped(
        select(lg.movement_id)
        .join(t.movements, t.movements.c.id == lg.movement_id)
        .where(lg.seller_id != t.movements.c.seller_id),
        lg.seller_id,
    )
    findings += [f"movement {m} spans two sellers" for (m,) in session.execute(q)]
    # 2. ledger equals balance for every real location
    ledger_tot: dict[tuple[str, str, str, str, str], int] = defaultdict(int)
    q = scoped(
        select(lg.seller_id, lg.warehouse, lg.zone, lg.sku, lg.lot, func.sum(lg.qty))
        .where(lg.warehouse.is_not(None))
        .group_by(lg.seller_id, lg.warehouse, lg.zone, lg.sku, lg.lot),
        lg.seller_id,
    )
    for s, w, z, k, lot, qty in session.execute(q):
        ledger_tot[(s, w, z, k, lot)] = int(qty)
    bal: dict[tuple[str, str, str, str, str], tuple[int, int, int]] = {}
    for bid, s, w, z, k, lot, on_hand, reserved in session.execute(
        scoped(
            select(b.id, b.seller_id, b.warehouse, b.zone, b.sku, b.lot, b.on_hand, b.reserved), b.seller_id
        )
    ):
        bal[(s, w, z, k, lot)] = (int(bid), int(on_hand), int(reserved))
        if on_hand < 0 or reserved < 0 or reserved > on_hand:
            findings.append(f"balance {bid} out of bounds: on_hand {on_hand}, reserved {reserved}")
    for key in set(ledger_tot) | set(bal):
        led = ledger_tot.get(key, 0)
        on_hand = bal.get(key, (0, 0, 0))[1]
        if led != on_hand:
            findings.append(f"ledger {led} != balance {on_hand} for {key}")
    # 3. active and picked (not yet shipped) reservations equal the reserved figure of each balance
    res_tot: dict[int, int] = defaultdict(int)
    q = select(r.balance_id, func.sum(r.qty)).where(r.status.in_(HELD)).group_by(r.balance_id)
    for bid, qty in session.execute(q):
        res_tot[int(bid)] = int(qty)
    for key, (bid, _on_hand, reserved) in bal.items():
        if res_tot.get(bid, 0) != reserved:
            findings.append(
                f"balance {bid} {key} reserved {reserved} but active reservations {res_tot.get(bid, 0)}"
            )
    q = scoped(
        select(r.id)
        .join(t.orders, t.orders.c.id == r.order_id)
        .join(t.balances, b.id == r.balance_id)
        .where(b.seller_id != t.orders.c.seller_id),
        t.orders.c.seller_id,
    )
    findings += [f"reservation {rid} holds another seller's stock" for (rid,) in session.execute(q)]
    # 4. each order line: reserved + shipped + released = ordered, and the states fit the order's status
    ol = t.order_lines.c
    q = scoped(
        select(
            t.orders.c.id, t.orders.c.status, ol.line_no, ol.qty, r.status, func.coalesce(func.sum(r.qty), 0)
        )
        .join(t.order_lines, ol.order_id == t.orders.c.id)
        .outerjoin(t.reservations, (r.order_id == ol.order_id) & (r.line_no == ol.line_no))
        .group_by(t.orders.c.id, t.orders.c.status, ol.line_no, ol.qty, r.status),
        t.orders.c.seller_id,
    )
    per_line: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    meta: dict[tuple[str, int], tuple[str, int]] = {}
    for oid, ostatus, line_no, ordered, rstatus, qty in session.execute(q):
        meta[(oid, line_no)] = (ostatus, int(ordered))
        if rstatus is not None:
            per_line[(oid, line_no)][rstatus] = int(qty)
    active, picked, shipped, released = (
        ReservationStatus.ACTIVE.value,
        ReservationStatus.PICKED.value,
        ReservationStatus.SHIPPED.value,
        ReservationStatus.RELEASED.value,
    )
    # released units may sit beside others: the rest of a partly shipped order cancelled, or an expired
    # lot with no fresh stock to take its place
    expected_state = {
        OrderStatus.ALLOCATED.value: {active, released},
        OrderStatus.PICKING.value: {active, picked, released},
        OrderStatus.PARTLY_SHIPPED.value: {active, picked, shipped, released},
        OrderStatus.CANCELLED.value: {released},
        OrderStatus.SHIPPED.value: {shipped, released},
    }
    for line_key, (ostatus, ordered) in meta.items():
        states = per_line.get(line_key, {})
        if sum(states.values()) != ordered:
            findings.append(f"order line {line_key}: ordered {ordered} but accounted {states}")
        if set(states) - expected_state[ostatus]:
            findings.append(f"order line {line_key} of a {ostatus} order has reservations {states}")
    # 5. returns: refurbished <= sent to refurbishment; dispositioned <= received <= authorised (+ unexpected,
    # kept apart); refunded once
    rr, rd, rl = t.return_receipts.c, t.return_dispositions.c, t.return_lines.c
    authorised = {(m, s): int(q) for m, s, q in session.execute(select(rl.rma_id, rl.sku, rl.qty_authorised))}
    received: dict[tuple[str, str], int] = defaultdict(int)
    for m, s, q2 in session.execute(
        select(rr.rma_id, rr.sku, func.sum(rr.qty))
        .where(rr.unexpected.is_(False))
        .group_by(rr.rma_id, rr.sku)
    ):
        received[(m, s)] = int(q2)
    for m, s, q2 in session.execute(select(rd.rma_id, rd.sku, func.sum(rd.qty)).group_by(rd.rma_id, rd.sku)):
        if int(q2) > received.get((m, s), 0):
            findings.append(f"return {m} {s}: dispositioned {q2} > received {received.get((m, s), 0)}")
    refurbish: dict[tuple[str, str], int] = defaultdict(int)
    for m, s, q2 in session.execute(
        select(rd.rma_id, rd.sku, func.sum(rd.qty))
        .where(rd.disposition == "refurbish")
        .group_by(rd.rma_id, rd.sku)
    ):
        refurbish[(m, s)] = int(q2)
    rf = t.refurbishments.c
    for m, s, q2 in session.execute(select(rf.rma_id, rf.sku, func.sum(rf.qty)).group_by(rf.rma_id, rf.sku)):
        if int(q2) > refurbish.get((m, s), 0):
            findings.append(
                f"return {m} {s}: refurbished {q2} > sent to refurbishment {refurbish.get((m, s), 0)}"
            )
    for rkey, q2 in received.items():
        if q2 > authorised.get(rkey, 0):
            findings.append(f"return {rkey}: received {q2} (expected) > authorised {authorised.get(rkey, 0)}")
    return findings


def oversold_units(session: Session) -> int:
    """Units promised beyond what was on hand: active plus shipped reservations against each balance's
    on-hand before those shipments. The database checks make this 0; the bench counts it anyway."""
    b, r = t.balances.c, t.reservations.c
    reserved_now = dict(
        session.execute(
            select(r.balance_id, func.sum(r.qty)).where(r.status.in_(HELD)).group_by(r.balance_id)
        ).all()
    )
    over = 0
    for bid, on_hand in session.execute(select(b.id, b.on_hand)):
        over += max(0, int(reserved_now.get(bid, 0)) - int(on_hand))
    return over
