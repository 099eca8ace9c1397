"""Inbound: advance shipping notices, arrival at the warehouse and receipt against the count.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.db import dialect_insert
from kernel.errors import InvalidInput, WrongState
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.catalog import check_qty, find_warehouse, seller_skus
from warehouse.counting import CountLine, counted_quantities, match_counts
from warehouse.domain import (
    Location,
    MoveKind,
    Virtual,
    Zone,
    move,
)
from warehouse.ledger import apply_move, touched
from warehouse.ports import EtaLookup
from warehouse.scope import Scope, find_inbound


def _lot_for(sku_row: Mapping[str, Any], lot: str | None, field: str) -> str:
    lot = (lot or "").strip()
    if sku_row["lot_tracked"] and not lot:
        raise InvalidInput(
            f"SKU {sku_row['sku']} is lot-tracked: give a lot",
            errors=[{"field": field, "message": "lot required"}],
        )
    return lot


def _register_lot(
    session: Session,
    seller_id: str,
    sku_row: Mapping[str, Any],
    lot: str,
    expires_on: date | None,
    today: date,
) -> None:
    if not lot:
        return
    if expires_on is None and sku_row["shelf_life_days"]:
        expires_on = today + timedelta(days=int(sku_row["shelf_life_days"]))
    ins = dialect_insert(session, t.lots)
    session.execute(
        ins.values(
            seller_id=seller_id, sku=sku_row["sku"], lot=lot, expires_on=expires_on
        ).on_conflict_do_nothing()
    )


@dataclass(frozen=True)
class InboundLine:
    sku: str
    qty: int
    lot: str | None = None
    expires_on: date | None = None


@dataclass(frozen=True)
class CreateInbound:
    warehouse: str
    lines: tuple[InboundLine, ...]
    waybill_no: str | None = None
    seller_id: str | None = None


@dataclass(frozen=True)
class ReceiveInbound:
    inbound_id: str
    lines: tuple[CountLine, ...]


@dataclass(frozen=True)
class Discrepancy:
    sku: str
    lot: str
    expected: int
    counted: int
    unannounced: bool = False


@dataclass(frozen=True)
class ReceivedInbound:
    inbound_id: str
    discrepancies: tuple[Discrepancy, ...]


def create_inbound(session: Session, scope: Scope, cmd: CreateInbound, now: datetime, eta: EtaLookup) -> str:
    """An advance shipping notice: the goods show as in transit to the warehouse until received."""
    seller_id = scope.seller_for_write(cmd.seller_id)
    wh = find_warehouse(session, cmd.warehouse)
    lines = cmd.lines
    if not lines:
        raise InvalidInput("an inbound notice needs lines", errors=[{"field": "lines", "message": "empty"}])
    catalog = seller_skus(session, seller_id, (ln.sku for ln in lines))
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for i, ln in enumerate(lines):
        check_qty(ln.qty, f"lines.{i}.qty")
        lot = _lot_for(catalog[ln.sku], ln.lot, f"lines.{i}.lot")
        key = (ln.sku, lot)
        entry = merged.setdefault(key, {"sku": ln.sku, "lot": lot, "expires_on": ln.expires_on, "qty": 0})
        entry["qty"] += ln.qty
    inbound_id = new_id("asn")
    waybill = cmd.waybill_no
    expected_at = eta.eta(waybill) if waybill else None
    session.execute(
        t.inbound.insert().values(
            id=inbound_id,
            seller_id=seller_id,
            warehouse=wh["code"],
            waybill_no=waybill,
            status="IN_TRANSIT",
            expected_at=expected_at,
            created_at=now,
        )
    )
    for (sku, lot), entry in sorted(merged.items()):
        _register_lot(session, seller_id, catalog[sku], lot, entry["expires_on"], now.date())
    session.execute(
        t.inbound_lines.insert(),
        [
            {
                "inbound_id": inbound_id,
                "sku": e["sku"],
                "lot": e["lot"],
                "expires_on": e["expires_on"],
                "qty_expected": e["qty"],
            }
            for _, e in sorted(merged.items())
        ],
    )
    apply_move(
        session,
        move(
            seller_id,
            MoveKind.INBOUND_SHIPPED,
            inbound_id,
            [
                (
                    Location.virtual(Virtual.SUPPLIER),
                    Location.at(wh["code"], Zone.TRANSIT),
                    e["sku"],
                    e["lot"],
                    e["qty"],
                )
                for _, e in sorted(merged.items())
            ],
        ),
        now,
    )
    return inbound_id


def on_shipment_arrived(session: Session, waybill_no: str, warehouse_code: str, at: datetime) -> None:
    """Logistics reports a waybill at a warehouse: its inbound notices and transfers are now expected."""
    session.execute(
        update(t.inbound)
        .where(
            t.inbound.c.waybill_no == waybill_no,
            t.inbound.c.warehouse == warehouse_code,
            t.inbound.c.status == "IN_TRANSIT",
        )
        .values(status="ARRIVED", arrived_at=at)
    )
    session.execute(
        update(t.transfers)
        .where(
            t.transfers.c.waybill_no == waybill_no,
            t.transfers.c.to_warehouse == warehouse_code,
            t.transfers.c.status == "IN_TRANSIT",
        )
        .values(status="ARRIVED", arrived_at=at)
    )


def receive_inbound(session: Session, scope: Scope, cmd: ReceiveInbound, now: datetime) -> ReceivedInbound:
    """Book what was counted: up to the notice into pick stock, the shortfall written off as lost
    (the discrepancy is kept), surplus and unannounced goods into quarantine."""
    inbound_id = cmd.inbound_id
    asn = find_inbound(session, scope, inbound_id)
    seller_id, code = asn["seller_id"], asn["warehouse"]
    done = touched(
        session.execute(
            update(t.inbound)
            .where(t.inbound.c.id == inbound_id, t.inbound.c.status.in_(("IN_TRANSIT", "ARRIVED")))
            .values(status="RECEIVED", received_at=now)
        )
    )
    if done != 1:
        raise WrongState(f"inbound {inbound_id} is {asn['status']}: received already")
    catalog = seller_skus(session, seller_id, (ln.sku for ln in cmd.lines))
    counted = counted_quantities(cmd.lines)
    for (sku, lot), _q in counted.items():
        if lot:
            _register_lot(session, seller_id, catalog[sku], lot, None, now.date())
    transit, pick, quarantine = (Location.at(code, z) for z in (Zone.TRANSIT, Zone.PICK, Zone.QUARANTINE))
    parts: list[tuple[Location, Location, str, str, int]] = []
    shortage: list[tuple[Location, Location, str, str, int]] = []
    surplus: list[tuple[Location, Location, str, str, int]] = []
    discrepancies: list[Discrepancy] = []
    rows = (
        session.execute(
            select(t.inbound_lines)
            .where(t.inbound_lines.c.inbound_id == inbound_id)
            .order_by(t.inbound_lines.c.id)
        )
        .mappings()
        .all()
    )
    matched, unannounced = match_counts([(ln["sku"], ln["lot"], ln["qty_expected"]) for ln in rows], counted)
    for ln, got in zip(rows, matched, strict=True):
        exp = ln["qty_expected"]
        received, short, extra = min(got, exp), max(0, exp - got), max(0, got - exp)
        if received:
            parts.append((transit, pick, ln["sku"], ln["lot"], received))
        if short:
            shortage.append((transit, Location.virtual(Virtual.LOST), ln["sku"], ln["lot"], short))
        if extra:
            surplus.append((Location.virtual(Virtual.SUPPLIER), quarantine, ln["sku"], ln["lot"], extra))
        if short or extra:
            discrepancies.append(Discrepancy(ln["sku"], ln["lot"], exp, got))
        session.execute(
            update(t.inbound_lines)
            .where(t.inbound_lines.c.id == ln["id"])
            .values(qty_received=received, qty_short=short, qty_surplus=extra)
        )
    for (sku, lot), got in unannounced.items():
        if got:
            surplus.append((Location.virtual(Virtual.SUPPLIER), quarantine, sku, lot, got))
            discrepancies.append(Discrepancy(sku, lot, 0, got, unannounced=True))
            session.execute(
                t.inbound_lines.insert().values(
                    inbound_id=inbound_id, sku=sku, lot=lot, qty_expected=0, qty_received=0, qty_surplus=got
                )
            )
    for kind, ps in (
        (MoveKind.RECEIPT, parts),
        (MoveKind.RECEIPT_SHORTAGE, shortage),
        (MoveKind.RECEIPT_SURPLUS, surplus),
    ):
        if ps:
            apply_move(session, move(seller_id, kind, inbound_id, ps), now)
    return ReceivedInbound(inbound_id, tuple(discrepancies))
