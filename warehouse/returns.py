"""Returns: authorisation against a shipped order, receipt anywhere in the network, inspection and
disposition by the seller's policy, refund exactly once.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kernel.db import dialect_insert
from kernel.errors import Forbidden, InvalidInput, WrongState
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.catalog import check_qty, find_warehouse, seller_skus
from warehouse.counting import CountLine
from warehouse.domain import (
    NO_LOT,
    Disposition,
    Grade,
    Location,
    MoveKind,
    OrderStatus,
    ReservationStatus,
    Virtual,
    Zone,
    disposition_for,
    disposition_target,
    is_expired,
    move,
    refund_amount,
    split_return_receipt,
)
from warehouse.ledger import apply_move
from warehouse.ports import ORIGIN_NODE, ShipmentBooker
from warehouse.scope import Scope, find_order, find_rma
from warehouse.transfers import cargo_of


def _shipped_by_sku(session: Session, order_id: str) -> dict[str, int]:
    rows = session.execute(
        select(t.reservations.c.sku, func.sum(t.reservations.c.qty))
        .where(
            t.reservations.c.order_id == order_id, t.reservations.c.status == ReservationStatus.SHIPPED.value
        )
        .group_by(t.reservations.c.sku)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


PendingKey = tuple[str, str, str]  # (warehouse, sku, lot)


def take_from_pending(
    pending: dict[PendingKey, int], keys: Iterable[PendingKey], qty: int
) -> tuple[list[tuple[PendingKey, int]], int]:
    """Take `qty` units from `pending` over `keys` in key order; the takes made and the units left untaken."""
    left = qty
    takes: list[tuple[PendingKey, int]] = []
    for key in sorted(keys):
        q = min(left, pending[key])
        if not q:
            continue
        pending[key] -= q
        left -= q
        takes.append((key, q))
        if not left:
            break
    return takes, left


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    qty: int
    reason: str = ""


@dataclass(frozen=True)
class AuthoriseReturn:
    order_id: str
    lines: tuple[ReturnLine, ...]


@dataclass(frozen=True)
class ReceiveReturn:
    rma_id: str
    warehouse: str
    lines: tuple[CountLine, ...]


@dataclass(frozen=True)
class InspectionLine:
    sku: str
    qty: int
    grade: str
    lot: str | None = None


@dataclass(frozen=True)
class InspectReturn:
    rma_id: str
    lines: tuple[InspectionLine, ...]


@dataclass(frozen=True)
class RefundReturn:
    rma_id: str


@dataclass(frozen=True)
class Refund:
    """The one refund of an RMA; `created` is False when a retry found it already paid."""

    rma_id: str
    amount: Decimal
    currency: str
    created_at: datetime
    created: bool


@dataclass(frozen=True)
class SetReturnPolicy:
    grades: Mapping[str, str]
    seller_id: str | None = None


def authorise_return(session: Session, scope: Scope, cmd: AuthoriseReturn, now: datetime) -> str:
    """A return authorisation (RMA) against a shipped order, for at most what was shipped."""
    order = find_order(session, scope, cmd.order_id)
    if order["status"] not in (OrderStatus.SHIPPED.value, OrderStatus.PARTLY_SHIPPED.value):
        raise WrongState(f"order {order['id']} is {order['status']}: only a shipped order can be returned")
    lines = cmd.lines
    if not lines:
        raise InvalidInput("a return needs lines", errors=[{"field": "lines", "message": "empty"}])
    want: dict[str, int] = defaultdict(int)
    reasons: dict[str, str] = {}
    for i, ln in enumerate(lines):
        check_qty(ln.qty, f"lines.{i}.qty")
        want[ln.sku] += ln.qty
        reasons.setdefault(ln.sku, ln.reason or "")
    shipped = _shipped_by_sku(session, order["id"])
    already = dict(
        session.execute(
            select(t.return_lines.c.sku, func.sum(t.return_lines.c.qty_authorised))
            .join(t.returns, t.returns.c.id == t.return_lines.c.rma_id)
            .where(t.returns.c.order_id == order["id"])
            .group_by(t.return_lines.c.sku)
        ).all()
    )
    errors = []
    for sku, q in sorted(want.items()):
        room = shipped.get(sku, 0) - int(already.get(sku) or 0)
        if q > room:
            errors.append(
                {
                    "field": "lines",
                    "message": f"{sku}: {q} asked, {max(room, 0)} shipped and not yet authorised",
                }
            )
    if errors:
        raise InvalidInput("a return may not exceed what was shipped", errors=errors)
    rma_id = new_id("rma")
    session.execute(
        t.returns.insert().values(
            id=rma_id, seller_id=order["seller_id"], order_id=order["id"], status="AUTHORISED", created_at=now
        )
    )
    session.execute(
        t.return_lines.insert(),
        [
            {"rma_id": rma_id, "sku": s, "reason": reasons[s], "qty_authorised": q}
            for s, q in sorted(want.items())
        ],
    )
    return rma_id


def receive_return(session: Session, scope: Scope, cmd: ReceiveReturn, now: datetime) -> str:
    """Goods back from the customer at any warehouse of the network: what the RMA covers waits for
    inspection, anything more or other goes to quarantine flagged `unexpected`."""
    rma_id = cmd.rma_id
    rma = find_rma(session, scope, rma_id, receiving=True)
    wh = find_warehouse(session, cmd.warehouse)
    scope.check_warehouse(wh["code"])
    if rma["status"] == "CLOSED":
        raise WrongState(f"return {rma_id} is closed")
    lines = cmd.lines
    if not lines:
        raise InvalidInput("a receipt needs lines", errors=[{"field": "lines", "message": "empty"}])
    for i, ln in enumerate(lines):
        check_qty(ln.qty, f"lines.{i}.qty")
    seller_skus(session, rma["seller_id"], (ln.sku for ln in lines))
    # lock the RMA (one receipt at a time) before reading what was received so far
    session.execute(update(t.returns).where(t.returns.c.id == rma_id).values(status="RECEIVED"))
    authorised = dict(
        session.execute(
            select(t.return_lines.c.sku, t.return_lines.c.qty_authorised).where(
                t.return_lines.c.rma_id == rma_id
            )
        ).all()
    )
    prior = dict(
        session.execute(
            select(t.return_receipts.c.sku, func.sum(t.return_receipts.c.qty))
            .where(t.return_receipts.c.rma_id == rma_id, t.return_receipts.c.unexpected.is_(False))
            .group_by(t.return_receipts.c.sku)
        ).all()
    )
    shipped_lots = dict(
        session.execute(
            select(t.reservations.c.sku, func.min(t.reservations.c.lot))
            .where(
                t.reservations.c.order_id == rma["order_id"],
                t.reservations.c.status == ReservationStatus.SHIPPED.value,
            )
            .group_by(t.reservations.c.sku)
        ).all()
    )
    counted: dict[str, int] = defaultdict(int)
    lot_of: dict[str, str] = {}
    for ln in lines:
        counted[ln.sku] += ln.qty
        lot_of.setdefault(ln.sku, (ln.lot or shipped_lots.get(ln.sku) or NO_LOT))
    split = split_return_receipt(authorised, {k: int(v) for k, v in prior.items()}, counted)
    parts = []
    cust = Location.virtual(Virtual.CUSTOMER)
    # Expected units go to the returns zone; units nobody authorised, to quarantine.
    for found, zone, unexpected in (
        (split.expected, Zone.RETURNS, False),
        (split.unexpected, Zone.QUARANTINE, True),
    ):
        for sku, q in sorted(found.items()):
            parts.append((cust, Location.at(wh["code"], zone), sku, lot_of[sku], q))
            session.execute(
                t.return_receipts.insert().values(
                    rma_id=rma_id,
                    warehouse=wh["code"],
                    sku=sku,
                    lot=lot_of[sku],
                    qty=q,
                    unexpected=unexpected,
                    received_at=now,
                )
            )
    apply_move(session, move(rma["seller_id"], MoveKind.RETURN_RECEIVED, rma_id, parts), now)
    return rma_id


def return_policy_of(session: Session, seller_id: str) -> dict[Grade, Disposition]:
    """The seller's own disposition rules by grade (the defaults not included)."""
    rows = session.execute(
        select(t.return_policies).where(t.return_policies.c.seller_id == seller_id)
    ).mappings()
    return {Grade(r["grade"]): Disposition(r["disposition"]) for r in rows}


def set_return_policy(session: Session, scope: Scope, cmd: SetReturnPolicy) -> str:
    """The seller's disposition table: which grade goes where; returns the seller id."""
    seller = scope.seller_for_write(cmd.seller_id)
    for g, d in cmd.grades.items():
        try:
            grade, disp = Grade(g), Disposition(d)
        except ValueError as exc:
            raise InvalidInput(
                f"grade {g!r} -> {d!r} is not a valid rule",
                errors=[{"field": f"grades.{g}", "message": str(exc)}],
            ) from exc
        session.execute(
            t.return_policies.delete().where(
                t.return_policies.c.seller_id == seller, t.return_policies.c.grade == grade.value
            )
        )
        session.execute(
            t.return_policies.insert().values(seller_id=seller, grade=grade.value, disposition=disp.value)
        )
    return seller


def inspect_return(
    session: Session,
    scope: Scope,
    cmd: InspectReturn,
    now: datetime,
    booker: ShipmentBooker,
) -> str:
    """Grade received returns and disposition them by the seller's table (restock happens only here);
    returns the RMA id."""
    rma_id = cmd.rma_id
    rma = find_rma(session, scope, rma_id)
    session.execute(update(t.returns).where(t.returns.c.id == rma_id).values(status="INSPECTED"))
    receipts = session.execute(
        select(
            t.return_receipts.c.warehouse,
            t.return_receipts.c.sku,
            t.return_receipts.c.lot,
            func.sum(t.return_receipts.c.qty),
        )
        .where(t.return_receipts.c.rma_id == rma_id, t.return_receipts.c.unexpected.is_(False))
        .group_by(t.return_receipts.c.warehouse, t.return_receipts.c.sku, t.return_receipts.c.lot)
    ).all()
    done = dict(
        ((w, s, lot), int(q))
        for w, s, lot, q in session.execute(
            select(
                t.return_dispositions.c.warehouse,
                t.return_dispositions.c.sku,
                t.return_dispositions.c.lot,
                func.sum(t.return_dispositions.c.qty),
            )
            .where(t.return_dispositions.c.rma_id == rma_id)
            .group_by(
                t.return_dispositions.c.warehouse, t.return_dispositions.c.sku, t.return_dispositions.c.lot
            )
        )
    )
    pending = {(w, s, lot): int(q) - done.get((w, s, lot), 0) for w, s, lot, q in receipts}
    pending = {k: v for k, v in pending.items() if v > 0 and scope.sees_warehouse(k[0])}
    policy = return_policy_of(session, rma["seller_id"])
    expiry = dict(
        ((s, lot), e)
        for s, lot, e in session.execute(
            select(t.lots.c.sku, t.lots.c.lot, t.lots.c.expires_on).where(
                t.lots.c.seller_id == rma["seller_id"]
            )
        )
    )
    lines = cmd.lines
    if not lines:
        raise InvalidInput("an inspection needs lines", errors=[{"field": "lines", "message": "empty"}])
    parts_by: dict[Disposition, list[tuple[Location, Location, str, str, int]]] = defaultdict(list)
    origin: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i, ln in enumerate(lines):
        qty = ln.qty
        check_qty(qty, f"lines.{i}.qty")
        try:
            grade = Grade(ln.grade)
        except ValueError as exc:
            raise InvalidInput(
                f"lines.{i}.grade must be A, B, C or D",
                errors=[{"field": f"lines.{i}.grade", "message": "A|B|C|D"}],
            ) from exc
        matching = (k for k in pending if k[1] == ln.sku and (not ln.lot or k[2] == ln.lot))
        takes, left = take_from_pending(pending, matching, qty)
        for (w, s, lot), q in takes:
            disp = disposition_for(grade, is_expired(expiry.get((s, lot)), now.date()), policy)
            parts_by[disp].append((Location.at(w, Zone.RETURNS), disposition_target(w, disp), s, lot, q))
            if disp is Disposition.RETURN_TO_ORIGIN:
                origin[w][s] += q
            session.execute(
                t.return_dispositions.insert().values(
                    rma_id=rma_id,
                    warehouse=w,
                    sku=s,
                    lot=lot,
                    qty=q,
                    grade=grade.value,
                    disposition=disp.value,
                    created_at=now,
                )
            )
        if left:
            raise InvalidInput(
                f"lines.{i}: {qty} {ln.sku} to inspect but only {qty - left} received and not yet graded",
                errors=[{"field": f"lines.{i}.qty", "message": "more than received and pending inspection"}],
            )
    for _disp, ps in sorted(parts_by.items()):
        apply_move(session, move(rma["seller_id"], MoveKind.DISPOSITION, rma_id, ps), now)
    if origin:
        catalog = seller_skus(session, rma["seller_id"], {s for m in origin.values() for s in m})
        for w, qty_by_sku in sorted(origin.items()):
            node = find_warehouse(session, w)["node_id"] or w
            waybill = booker.book_transfer(
                node,
                ORIGIN_NODE,
                cargo_of(catalog, qty_by_sku, f"return to origin {rma_id}"),
                now,
                rma_id,
            )
            session.execute(
                update(t.return_dispositions)
                .where(
                    t.return_dispositions.c.rma_id == rma_id,
                    t.return_dispositions.c.warehouse == w,
                    t.return_dispositions.c.disposition == Disposition.RETURN_TO_ORIGIN.value,
                    t.return_dispositions.c.waybill_no.is_(None),
                )
                .values(waybill_no=waybill)
            )
    return rma_id


def refund_return(session: Session, scope: Scope, cmd: RefundReturn, now: datetime) -> Refund:
    """Refund an RMA exactly once, for what was received of what was authorised, at the price paid;
    a retry finds the first refund and pays nothing more."""
    rma_id = cmd.rma_id
    rma = find_rma(session, scope, rma_id)
    if not scope.is_seller and not scope.is_admin:
        raise Forbidden("only the seller or an admin refunds a return")
    received = {
        s: int(q)
        for s, q in session.execute(
            select(t.return_receipts.c.sku, func.sum(t.return_receipts.c.qty))
            .where(t.return_receipts.c.rma_id == rma_id, t.return_receipts.c.unexpected.is_(False))
            .group_by(t.return_receipts.c.sku)
        )
    }
    existing = session.execute(select(t.refunds).where(t.refunds.c.rma_id == rma_id)).mappings().first()
    if existing is None:
        if not received:
            raise WrongState(f"return {rma_id}: nothing received yet, nothing to refund")
        prices: dict[str, Decimal] = {}
        for sku, price in session.execute(
            select(t.order_lines.c.sku, t.order_lines.c.unit_price)
            .where(t.order_lines.c.order_id == rma["order_id"])
            .order_by(t.order_lines.c.line_no)
        ):
            if price is not None:
                prices.setdefault(sku, Decimal(price))
        currency = session.execute(
            select(t.orders.c.currency).where(t.orders.c.id == rma["order_id"])
        ).scalar_one()
        amount = refund_amount(received, prices)
        ins = dialect_insert(session, t.refunds)
        # RETURNING tells whether this call inserted (rowcount is -1 for this statement on psycopg)
        created = (
            session.execute(
                ins.values(rma_id=rma_id, amount=amount, currency=currency, created_at=now)
                .on_conflict_do_nothing()
                .returning(t.refunds.c.rma_id)
            ).first()
            is not None
        )
        existing = session.execute(select(t.refunds).where(t.refunds.c.rma_id == rma_id)).mappings().one()
    else:
        created = False
    return Refund(rma_id, Decimal(existing["amount"]), existing["currency"], existing["created_at"], created)
