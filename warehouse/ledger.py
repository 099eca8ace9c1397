"""The inventory ledger: every stock change is a movement with lines, written with the balances it moves.

Concurrency rules (PostgreSQL, READ COMMITTED), stated once for every writer of the warehouse package
(`catalog`, `inbound`, `orders`, `order_store`, `picking_service`, `stock`, `transfers`, `returns`,
`refurbishment`, `expiry`, `delivery_runs`):
- a balance changes only through a conditional UPDATE (`... WHERE on_hand - reserved >= :q`), so two
  transactions can never both take the last unit: the second re-checks the row after the first commits;
- the balances one transaction touches are locked and updated in balance-id order, so (A, B) and (B, A)
  orders queue instead of deadlocking; an order locks its candidate balances up front
  (`SELECT ... ORDER BY id FOR NO KEY UPDATE`) and plans on what it holds, so it never plans twice;
- an order changes status only by `UPDATE ... WHERE status = 'ALLOCATED'`: cancel racing ship has one winner.
SQLite serialises writers (`BEGIN IMMEDIATE`), which gives the same outcomes.
Each writer is given a `Session` (one transaction, opened and committed by the caller), the time, its ports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.db import dialect_insert
from kernel.errors import Conflict, NotFound, WrongState
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.domain import (
    InsufficientStock,
    Location,
    MoveKind,
    MoveLine,
    StockKey,
    StockMove,
    Zone,
)
from warehouse.scope import Scope


def touched(result: Any) -> int:
    """Rows an UPDATE / INSERT touched (a CursorResult's rowcount)."""
    return int(result.rowcount)


def lot_out(lot: str) -> str | None:
    """A lot as the API shows it: None for goods without one."""
    return lot or None


def ensure_balances(session: Session, keys: Sequence[StockKey]) -> None:
    """Create the missing balances of `keys` at zero (existing ones are left alone)."""
    if not keys:
        return
    ins = dialect_insert(session, t.balances)
    session.execute(
        ins.values(
            [
                {
                    "seller_id": k.seller_id,
                    "warehouse": k.warehouse,
                    "zone": k.zone,
                    "sku": k.sku,
                    "lot": k.lot,
                    "on_hand": 0,
                    "reserved": 0,
                }
                for k in keys
            ]
        ).on_conflict_do_nothing()
    )


def write_ledger(session: Session, mv: StockMove, now: datetime, reverses: str | None = None) -> str:
    """Append a movement and its lines to the ledger (balances are the caller's business)."""
    movement_id = new_id("mv")
    session.execute(
        t.movements.insert().values(
            id=movement_id,
            seller_id=mv.seller_id,
            kind=mv.kind.value,
            reference=mv.reference,
            reverses=reverses,
            created_at=now,
        )
    )
    session.execute(
        t.ledger.insert(),
        [
            {
                "movement_id": movement_id,
                "seller_id": mv.seller_id,
                "warehouse": ln.location.warehouse,
                "zone": ln.location.zone,
                "sku": ln.sku,
                "lot": ln.lot,
                "qty": ln.qty,
            }
            for ln in mv.lines
        ],
    )
    add_to_monthly(session, mv, now)
    return movement_id


def add_to_monthly(session: Session, mv: StockMove, now: datetime) -> None:
    """Add a movement's lines at warehouses (outside transit) to `wh_stock_monthly`, in its transaction."""
    net: dict[tuple[str, str], int] = defaultdict(int)
    for ln in mv.lines:
        if ln.location.warehouse is not None and ln.location.zone != Zone.TRANSIT:
            net[(ln.location.warehouse, ln.sku)] += ln.qty
    rows = [
        {
            "seller_id": mv.seller_id,
            "warehouse": w,
            "sku": sku,
            "month": now.strftime("%Y-%m"),
            "kind": mv.kind.value,
            "qty": q,
        }
        for (w, sku), q in sorted(net.items())
        if q != 0  # a move between zones of one warehouse changes nothing here
    ]
    if not rows:
        return
    ins = dialect_insert(session, t.stock_monthly).values(rows)
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["seller_id", "warehouse", "sku", "month", "kind"],
            set_={"qty": t.stock_monthly.c.qty + ins.excluded.qty},
        )
    )


def balance_ids(session: Session, keys: Sequence[StockKey]) -> dict[StockKey, int]:
    """Ids of existing balances (no lock taken)."""
    if not keys:
        return {}
    b = t.balances.c
    sellers = {k.seller_id for k in keys}
    whs = {k.warehouse for k in keys}
    skus = {k.sku for k in keys}
    rows = session.execute(
        select(b.id, b.seller_id, b.warehouse, b.zone, b.sku, b.lot).where(
            b.seller_id.in_(sellers), b.warehouse.in_(whs), b.sku.in_(skus)
        )
    ).all()
    wanted = set(keys)
    found = {StockKey(r.seller_id, r.warehouse, r.zone, r.sku, r.lot): int(r.id) for r in rows}
    return {k: v for k, v in found.items() if k in wanted}


def apply_move(session: Session, mv: StockMove, now: datetime, reverses: str | None = None) -> str:
    """Write a movement to the ledger and to the balances in the same transaction.

    Outgoing quantities may take only unreserved units; a shortfall raises Conflict (and the caller's
    transaction rolls back, so nothing is half-written).
    """
    deltas = mv.real_deltas()
    ensure_balances(session, [k for k, d in deltas if d > 0])
    b = t.balances.c
    ids = balance_ids(session, [k for k, _ in deltas])
    # balance id order = the lock order every writer uses (orders, ship, cancel, counts): no deadlocks
    for key, d in sorted(deltas, key=lambda kd: ids.get(kd[0], 0)):
        stmt = (
            update(t.balances).where(b.id == ids[key])
            if key in ids
            else update(t.balances).where(b.id.is_(None))
        )
        stmt = stmt.values(on_hand=b.on_hand + d)
        if d < 0:
            stmt = stmt.where(b.on_hand - b.reserved >= -d)
        if touched(session.execute(stmt)) != 1:
            raise InsufficientStock(
                f"not enough unreserved stock of {key.sku}"
                + (f" lot {key.lot}" if key.lot else "")
                + f" at {key.warehouse} ({key.zone}) to move {-d}",
            )
    return write_ledger(session, mv, now, reverses)


@dataclass(frozen=True)
class ReverseMovement:
    movement_id: str


def reverse_movement(session: Session, scope: Scope, cmd: ReverseMovement, now: datetime) -> str:
    """Correct a movement by its exact opposite (a movement is reversed at most once); returns the
    reversal's movement id."""
    movement_id = cmd.movement_id
    mrow = session.execute(select(t.movements).where(t.movements.c.id == movement_id)).mappings().first()
    if mrow is None or not scope.sees_seller(mrow["seller_id"]):
        raise NotFound(f"movement {movement_id} does not exist")
    if mrow["kind"] in (MoveKind.ORDER_SHIPPED, MoveKind.REVERSAL):
        raise Conflict(f"a {mrow['kind']} movement cannot be reversed; book a return or a new movement")
    if session.execute(select(t.movements.c.id).where(t.movements.c.reverses == movement_id)).first():
        raise WrongState(f"movement {movement_id} is reversed already")
    lines = session.execute(select(t.ledger).where(t.ledger.c.movement_id == movement_id)).mappings().all()
    if scope.is_operator and any(ln["warehouse"] and ln["warehouse"] not in scope.warehouses for ln in lines):
        raise NotFound(f"movement {movement_id} does not exist")

    original = StockMove(
        mrow["seller_id"],
        MoveKind(mrow["kind"]),
        mrow["reference"],
        tuple(
            MoveLine(Location(ln["warehouse"], ln["zone"]), ln["sku"], ln["lot"], ln["qty"]) for ln in lines
        ),
    )
    return apply_move(session, original.reversed(f"reversal of {movement_id}"), now, reverses=movement_id)
