"""Refurbishment of returned units: inspection with disposition `refurbish` puts them in the warehouse's
refurbish zone; an operator later finishes them, back on the shelf as sellable or disposed, through the
ledger and never more than the RMA sent to refurbishment.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput
from warehouse import tables as t
from warehouse.domain import Disposition, Location, MoveKind, Virtual, Zone, is_expired, move
from warehouse.ledger import apply_move
from warehouse.returns import take_from_pending
from warehouse.scope import Scope, find_rma


class Outcome(StrEnum):
    RESTOCK = "restock"
    DISPOSE = "dispose"


def pending_refurbishment(session: Session, rma_id: str) -> dict[tuple[str, str, str], int]:
    """Units per (warehouse, sku, lot) sent to refurbishment and not finished yet."""
    d, f = t.return_dispositions.c, t.refurbishments.c
    sent = session.execute(
        select(d.warehouse, d.sku, d.lot, func.sum(d.qty))
        .where(d.rma_id == rma_id, d.disposition == Disposition.REFURBISH.value)
        .group_by(d.warehouse, d.sku, d.lot)
    ).all()
    done = {
        (w, s, lot): int(q)
        for w, s, lot, q in session.execute(
            select(f.warehouse, f.sku, f.lot, func.sum(f.qty))
            .where(f.rma_id == rma_id)
            .group_by(f.warehouse, f.sku, f.lot)
        )
    }
    out = {(w, s, lot): int(q) - done.get((w, s, lot), 0) for w, s, lot, q in sent}
    return {k: v for k, v in out.items() if v > 0}


@dataclass(frozen=True)
class RefurbishedLine:
    sku: str
    qty: int
    outcome: str
    warehouse: str | None = None
    lot: str | None = None


@dataclass(frozen=True)
class FinishRefurbishment:
    rma_id: str
    lines: tuple[RefurbishedLine, ...]


def finish_refurbishment(session: Session, scope: Scope, cmd: FinishRefurbishment, now: datetime) -> str:
    """Finish refurbished units of an RMA at the operator's warehouse: restock as sellable, or dispose;
    returns the RMA id."""
    rma_id = cmd.rma_id
    rma = find_rma(session, scope, rma_id)
    lines = cmd.lines
    if not lines:
        raise InvalidInput("a refurbishment needs lines", errors=[{"field": "lines", "message": "empty"}])
    # one refurbishment of an RMA at a time: lock its row before reading what is pending
    session.execute(update(t.returns).where(t.returns.c.id == rma_id).values(status=t.returns.c.status))
    pending = {k: v for k, v in pending_refurbishment(session, rma_id).items() if scope.sees_warehouse(k[0])}
    expiry = {
        (s, lot): e
        for s, lot, e in session.execute(
            select(t.lots.c.sku, t.lots.c.lot, t.lots.c.expires_on).where(
                t.lots.c.seller_id == rma["seller_id"]
            )
        )
    }
    parts: dict[Outcome, list[tuple[Location, Location, str, str, int]]] = defaultdict(list)
    rows = []
    for i, ln in enumerate(lines):
        qty, sku = ln.qty, ln.sku
        try:
            outcome = Outcome(ln.outcome)
        except ValueError as exc:
            raise InvalidInput(
                f"lines.{i}.outcome must be restock or dispose",
                errors=[{"field": f"lines.{i}.outcome", "message": "restock|dispose"}],
            ) from exc
        if qty <= 0:
            raise InvalidInput(
                f"lines.{i}.qty must be positive",
                errors=[{"field": f"lines.{i}.qty", "message": "must be > 0"}],
            )
        matching = (
            k
            for k in pending
            if k[1] == sku and (ln.warehouse in (None, k[0])) and (ln.lot is None or k[2] == ln.lot)
        )
        takes, left = take_from_pending(pending, matching, qty)
        for (w, s, lot), q in takes:
            if outcome is Outcome.RESTOCK and is_expired(expiry.get((s, lot)), now.date()):
                raise InvalidInput(
                    f"lines.{i}: lot {lot} of {s} has expired; it can only be disposed",
                    errors=[{"field": f"lines.{i}.outcome", "message": "expired lot: dispose"}],
                )
            target = (
                Location.at(w, Zone.PICK) if outcome is Outcome.RESTOCK else Location.virtual(Virtual.SCRAP)
            )
            parts[outcome].append((Location.at(w, Zone.REFURBISH), target, s, lot, q))
            rows.append(
                {
                    "rma_id": rma_id,
                    "warehouse": w,
                    "sku": s,
                    "lot": lot,
                    "qty": q,
                    "outcome": outcome.value,
                    "created_at": now,
                }
            )
        if left:
            raise InvalidInput(
                f"lines.{i}: {qty} {sku} to finish but only {qty - left} wait for refurbishment here",
                errors=[{"field": f"lines.{i}.qty", "message": "more than waits for refurbishment"}],
            )
    for _outcome, ps in sorted(parts.items()):
        apply_move(session, move(rma["seller_id"], MoveKind.REFURBISHED, rma_id, ps), now)
    session.execute(t.refurbishments.insert(), rows)
    return rma_id
