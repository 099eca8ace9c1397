"""Transfers between warehouses: shipped out with a booked waybill (phase one), counted in (phase two).

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput, WrongState
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.catalog import check_qty, find_warehouse, seller_skus
from warehouse.counting import CountLine, counted_quantities, match_counts
from warehouse.domain import (
    InsufficientStock,
    Location,
    MoveKind,
    Virtual,
    Zone,
    fefo,
    move,
)
from warehouse.ledger import apply_move, touched
from warehouse.ports import Cargo, ShipmentBooker
from warehouse.scope import Scope, find_transfer
from warehouse.stock import sellable


def cargo_of(catalog: Mapping[str, Mapping[str, Any]], qty_by_sku: Mapping[str, int], what: str) -> Cargo:
    """What the route planner needs to book: weight, volume, dangerous goods and pieces of these SKUs."""
    return Cargo(
        weight_kg=sum((Decimal(catalog[s]["weight_kg"]) * q for s, q in qty_by_sku.items()), Decimal("0")),
        volume_m3=sum((Decimal(catalog[s]["volume_m3"]) * q for s, q in qty_by_sku.items()), Decimal("0")),
        dangerous_goods=any(bool(catalog[s]["dangerous_goods"]) for s in qty_by_sku),
        pieces=sum(qty_by_sku.values()),
        description=what,
    )


@dataclass(frozen=True)
class TransferLine:
    sku: str
    qty: int
    lot: str | None = None


@dataclass(frozen=True)
class CreateTransfer:
    from_warehouse: str
    to_warehouse: str
    lines: tuple[TransferLine, ...]
    seller_id: str | None = None


@dataclass(frozen=True)
class ReceiveTransfer:
    transfer_id: str
    lines: tuple[CountLine, ...]


def create_transfer(
    session: Session, scope: Scope, cmd: CreateTransfer, now: datetime, booker: ShipmentBooker
) -> str:
    """Ship stock between two warehouses (phase one): out of pick stock, in transit to the destination,
    with a waybill booked through the route planner."""
    seller_id = scope.seller_for_write(cmd.seller_id)
    src = find_warehouse(session, cmd.from_warehouse, field="from_warehouse")
    dst = find_warehouse(session, cmd.to_warehouse, field="to_warehouse")
    scope.check_warehouse(src["code"])
    if src["code"] == dst["code"]:
        raise InvalidInput(
            "a transfer needs two different warehouses",
            errors=[{"field": "to_warehouse", "message": "same as from"}],
        )
    lines = cmd.lines
    if not lines:
        raise InvalidInput("a transfer needs lines", errors=[{"field": "lines", "message": "empty"}])
    need: dict[str, int] = defaultdict(int)
    for i, ln in enumerate(lines):
        check_qty(ln.qty, f"lines.{i}.qty")
        need[ln.sku] += ln.qty
    catalog = seller_skus(session, seller_id, need)
    stock, _ = sellable(session, seller_id, need)
    transfer_id = new_id("trf")
    parts = []
    picked: list[tuple[str, str, int]] = []
    for sku, qty in sorted(need.items()):
        left = qty
        explicit = {ln.lot for ln in lines if ln.sku == sku and ln.lot}
        pool = fefo([s for s in stock if s.warehouse == src["code"] and s.sku == sku], now.date())
        if explicit:
            pool = [s for s in pool if s.lot in explicit]
        for lt in pool:
            q = min(lt.available, left)
            if q:
                parts.append(
                    (
                        Location.at(src["code"], Zone.PICK),
                        Location.at(dst["code"], Zone.TRANSIT),
                        sku,
                        lt.lot,
                        q,
                    )
                )
                picked.append((sku, lt.lot, q))
                left -= q
            if not left:
                break
        if left:
            raise InsufficientStock(
                f"not enough sellable {sku} at {src['code']} for the transfer; nothing was moved",
                shortages=[{"sku": sku, "missing": left}],
            )
    apply_move(session, move(seller_id, MoveKind.TRANSFER_SHIPPED, transfer_id, parts), now)
    waybill = booker.book_transfer(
        src["node_id"] or src["code"],
        dst["node_id"] or dst["code"],
        cargo_of(catalog, need, f"transfer {transfer_id}"),
        now,
        transfer_id,
    )
    session.execute(
        t.transfers.insert().values(
            id=transfer_id,
            seller_id=seller_id,
            from_warehouse=src["code"],
            to_warehouse=dst["code"],
            waybill_no=waybill,
            status="IN_TRANSIT",
            created_at=now,
        )
    )
    session.execute(
        t.transfer_lines.insert(),
        [{"transfer_id": transfer_id, "sku": s, "lot": lot, "qty_shipped": q} for s, lot, q in picked],
    )
    return transfer_id


def receive_transfer(session: Session, scope: Scope, cmd: ReceiveTransfer, now: datetime) -> str:
    """Phase two: the destination counts what arrived; shortfalls are written off, extras quarantined."""
    transfer_id = cmd.transfer_id
    tr = find_transfer(session, scope, transfer_id)
    scope.check_warehouse(tr["to_warehouse"])
    done = touched(
        session.execute(
            update(t.transfers)
            .where(t.transfers.c.id == transfer_id, t.transfers.c.status.in_(("IN_TRANSIT", "ARRIVED")))
            .values(status="RECEIVED", received_at=now)
        )
    )
    if done != 1:
        raise WrongState(f"transfer {transfer_id} is {tr['status']}: received already")
    seller_skus(session, tr["seller_id"], (ln.sku for ln in cmd.lines))  # unknown SKUs are a 422
    counted = counted_quantities(cmd.lines)
    code = tr["to_warehouse"]
    parts, lost, extra = [], [], []
    rows = (
        session.execute(
            select(t.transfer_lines)
            .where(t.transfer_lines.c.transfer_id == transfer_id)
            .order_by(t.transfer_lines.c.id)
        )
        .mappings()
        .all()
    )
    matched, leftovers = match_counts([(ln["sku"], ln["lot"], ln["qty_shipped"]) for ln in rows], counted)
    for ln, got in zip(rows, matched, strict=True):
        rec = min(got, ln["qty_shipped"])
        if got > rec:
            extra.append(
                (
                    Location.virtual(Virtual.ADJUSTMENT),
                    Location.at(code, Zone.QUARANTINE),
                    ln["sku"],
                    ln["lot"],
                    got - rec,
                )
            )
        if rec:
            parts.append(
                (Location.at(code, Zone.TRANSIT), Location.at(code, Zone.PICK), ln["sku"], ln["lot"], rec)
            )
        if ln["qty_shipped"] - rec:
            lost.append(
                (
                    Location.at(code, Zone.TRANSIT),
                    Location.virtual(Virtual.LOST),
                    ln["sku"],
                    ln["lot"],
                    ln["qty_shipped"] - rec,
                )
            )
        session.execute(
            update(t.transfer_lines)
            .where(t.transfer_lines.c.id == ln["id"])
            .values(qty_received=rec, qty_lost=ln["qty_shipped"] - rec)
        )
    for (sku, lot), q in leftovers.items():
        extra.append((Location.virtual(Virtual.ADJUSTMENT), Location.at(code, Zone.QUARANTINE), sku, lot, q))
    for kind, ps in (
        (MoveKind.TRANSFER_RECEIVED, parts),
        (MoveKind.RECEIPT_SHORTAGE, lost),
        (MoveKind.RECEIPT_SURPLUS, extra),
    ):
        if ps:
            apply_move(session, move(tr["seller_id"], kind, transfer_id, ps), now)
    return transfer_id
