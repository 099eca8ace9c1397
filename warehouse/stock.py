"""Stock: inventory, available to promise, the sellable-stock query the allocation locks, cycle counts.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import WrongState
from kernel.identity import tenants
from warehouse import tables as t
from warehouse.catalog import find_warehouse, seller_skus
from warehouse.counting import CountLine, counted_quantities
from warehouse.domain import (
    Location,
    MoveKind,
    SellableLot,
    Site,
    StockKey,
    Virtual,
    Zone,
    fefo,
    is_expired,
    move,
)
from warehouse.ledger import apply_move, balance_ids, ensure_balances, lot_out
from warehouse.ports import EtaLookup
from warehouse.scope import Scope


def _sellable_with_sites(
    session: Session, seller_id: str, skus: Iterable[str]
) -> tuple[list[SellableLot], dict[tuple[str, str, str], int], dict[str, Site]]:
    """One seller's unreserved pick stock of some SKUs, the balance ids, and the warehouses holding it."""
    rows = session.execute(_SELLABLE, {"seller_id": seller_id, "skus": sorted(set(skus))}).all()
    return stock_of(rows)


def stock_of(
    rows: Sequence[Any],
) -> tuple[list[SellableLot], dict[tuple[str, str, str], int], dict[str, Site]]:
    """Sellable lots, their balance ids and the warehouses holding them, from sellable-stock rows."""
    lots = [SellableLot(r.warehouse, r.sku, r.lot, int(r.available), r.expires_on) for r in rows]
    ids = {(r.warehouse, r.sku, r.lot): int(r.id) for r in rows}
    sites: dict[str, Site] = {}
    for r in rows:
        if r.warehouse not in sites:
            sites[r.warehouse] = Site(
                r.warehouse, r.country, float(r.lat), float(r.lon), Decimal(r.handling_cost)
            )
    return lots, ids, sites


def sellable(
    session: Session, seller_id: str, skus: Iterable[str]
) -> tuple[list[SellableLot], dict[tuple[str, str, str], int]]:
    """One seller's unreserved pick stock of some SKUs and the balance ids holding it."""
    lots, ids, _ = _sellable_with_sites(session, seller_id, skus)
    return lots, ids


def _sellable_query() -> Any:
    """Unreserved pick stock of one seller's SKUs with the warehouses holding it (bind: seller_id, skus)."""
    b, w, lt = t.balances.c, t.warehouses.c, t.lots.c
    return (
        select(
            b.id,
            b.warehouse,
            b.sku,
            b.lot,
            (b.on_hand - b.reserved).label("available"),
            lt.expires_on,
            w.country,
            w.lat,
            w.lon,
            w.handling_cost,
        )
        .select_from(
            t.balances.join(t.warehouses, w.code == b.warehouse).outerjoin(
                t.lots, and_(lt.seller_id == b.seller_id, lt.sku == b.sku, lt.lot == b.lot)
            )
        )
        .where(
            b.seller_id == bindparam("seller_id"),
            b.zone == Zone.PICK.value,
            b.sku.in_(bindparam("skus", expanding=True)),
            b.on_hand > b.reserved,
        )
    )


# Built once: the statements of the order hot path are compiled once per process and cached.
_SELLABLE = _sellable_query()


# The same rows locked in balance-id order, the order every balance writer locks in (no deadlocks).
# NO KEY UPDATE, the lock an UPDATE of non-key columns takes: reservations referencing a locked
# balance (foreign key checks take KEY SHARE) are not held up. A row another order changed while we
# waited is re-read, and dropped if it has nothing left (READ COMMITTED re-check); SQLite has no row
# locks and needs none (one writer at a time).
SELLABLE_LOCKED = _SELLABLE.order_by(t.balances.c.id).with_for_update(of=t.balances, key_share=True)


def inventory(
    session: Session,
    scope: Scope,
    sku: str | None,
    warehouse: str | None,
    today: date,
    seller_id: str | None = None,
) -> list[dict[str, Any]]:
    """Rows per (seller, warehouse, SKU, lot): on hand, reserved, available, quarantine, in transit."""
    b = t.balances.c
    q = (
        select(
            b.seller_id,
            b.warehouse,
            b.sku,
            b.lot,
            t.lots.c.expires_on,
            func.sum(case((b.zone == Zone.PICK.value, b.on_hand), else_=0)).label("on_hand"),
            func.sum(case((b.zone == Zone.PICK.value, b.reserved), else_=0)).label("reserved"),
            func.sum(case((b.zone == Zone.QUARANTINE.value, b.on_hand), else_=0)).label("quarantine"),
            func.sum(case((b.zone == Zone.RETURNS.value, b.on_hand), else_=0)).label("returns"),
            func.sum(case((b.zone == Zone.REFURBISH.value, b.on_hand), else_=0)).label("refurbish"),
            func.sum(case((b.zone == Zone.TRANSIT.value, b.on_hand), else_=0)).label("in_transit"),
        )
        .select_from(
            t.balances.outerjoin(
                t.lots, and_(t.lots.c.seller_id == b.seller_id, t.lots.c.sku == b.sku, t.lots.c.lot == b.lot)
            )
        )
        .group_by(b.seller_id, b.warehouse, b.sku, b.lot, t.lots.c.expires_on)
        .order_by(b.seller_id, b.warehouse, b.sku, b.lot)
    )
    q = scope.filter(q, b.seller_id, b.warehouse, seller_id)
    if sku:
        q = q.where(b.sku == sku)
    if warehouse:
        q = q.where(b.warehouse == warehouse)
    out = []
    for r in session.execute(q).mappings():
        if not any(
            (r["on_hand"], r["reserved"], r["quarantine"], r["returns"], r["refurbish"], r["in_transit"])
        ):
            continue
        expired = is_expired(r["expires_on"], today)
        on_hand, reserved = int(r["on_hand"]), int(r["reserved"])
        out.append(
            {
                "seller_id": r["seller_id"],
                "warehouse": r["warehouse"],
                "sku": r["sku"],
                "lot": lot_out(r["lot"]),
                "expires_on": r["expires_on"].isoformat() if r["expires_on"] else None,
                "expired": expired,
                "on_hand": on_hand,
                "reserved": reserved,
                "available": 0 if expired else on_hand - reserved,
                "quarantine": int(r["quarantine"]),
                "returns": int(r["returns"]),
                "refurbish": int(r["refurbish"]),
                "in_transit": int(r["in_transit"]),
            }
        )
    names = seller_names(session, {row["seller_id"] for row in out})
    for row in out:
        row["seller_name"] = names.get(row["seller_id"])
    return out


def seller_names(session: Session, seller_ids: set[str]) -> dict[str, str]:
    """The sellers' tenant names, for the people who run their stock (operators see names, not ids)."""
    if not seller_ids:
        return {}
    rows = session.execute(select(tenants.c.id, tenants.c.name).where(tenants.c.id.in_(sorted(seller_ids))))
    return {r.id: r.name for r in rows}


def _arriving_at(
    eta: EtaLookup,
    status: str,
    waybill_no: str | None,
    now: datetime,
    planned: datetime | None = None,
) -> datetime | None:
    """When goods on their way will be at the warehouse: now once arrived, else the waybill's live ETA,
    else what was planned."""
    if status == "ARRIVED":
        return now
    live = eta.eta(waybill_no) if waybill_no else None
    return live or planned


def available_to_promise(
    session: Session,
    scope: Scope,
    sku: str,
    by: datetime,
    now: datetime,
    eta: EtaLookup,
    seller_id: str | None = None,
) -> dict[str, Any]:
    """What a seller can promise by a date: shelf stock plus in-transit stock arriving (live ETA) by then."""
    seller = scope.seller_for_write(seller_id)
    seller_skus(session, seller, [sku], field="sku")
    stock, _ = sellable(session, seller, [sku])
    breakdown: list[dict[str, Any]] = []
    # a lot that expires before the promised date cannot be promised
    for lt in fefo(stock, by.date()):
        breakdown.append(
            {"warehouse": lt.warehouse, "qty": lt.available, "source": "shelf", "lot": lot_out(lt.lot)}
        )
    asn = session.execute(
        select(
            t.inbound.c.id,
            t.inbound.c.warehouse,
            t.inbound.c.waybill_no,
            t.inbound.c.status,
            t.inbound.c.expected_at,
            t.inbound_lines.c.qty_expected,
            t.inbound_lines.c.lot,
            func.coalesce(t.inbound_lines.c.expires_on, t.lots.c.expires_on).label("expires_on"),
        )
        .join(t.inbound_lines, t.inbound_lines.c.inbound_id == t.inbound.c.id)
        .outerjoin(
            t.lots,
            and_(
                t.lots.c.seller_id == t.inbound.c.seller_id,
                t.lots.c.sku == t.inbound_lines.c.sku,
                t.lots.c.lot == t.inbound_lines.c.lot,
            ),
        )
        .where(
            t.inbound.c.seller_id == seller,
            t.inbound_lines.c.sku == sku,
            t.inbound.c.status.in_(("IN_TRANSIT", "ARRIVED")),
        )
    ).all()
    for r in asn:
        if is_expired(r.expires_on, by.date()):  # like the shelf: a lot expired by then cannot be promised
            continue
        when = _arriving_at(eta, r.status, r.waybill_no, now, r.expected_at)
        if when is not None and when <= by:
            breakdown.append(
                {
                    "warehouse": r.warehouse,
                    "qty": int(r.qty_expected),
                    "source": "inbound",
                    "waybill_no": r.waybill_no,
                    "eta": rfc3339(when),
                    "lot": lot_out(r.lot),
                }
            )
    tr = session.execute(
        select(
            t.transfers.c.id,
            t.transfers.c.to_warehouse,
            t.transfers.c.waybill_no,
            t.transfers.c.status,
            t.transfer_lines.c.qty_shipped,
            t.transfer_lines.c.lot,
        )
        .join(t.transfer_lines, t.transfer_lines.c.transfer_id == t.transfers.c.id)
        .where(
            t.transfers.c.seller_id == seller,
            t.transfer_lines.c.sku == sku,
            t.transfers.c.status.in_(("IN_TRANSIT", "ARRIVED")),
        )
    ).all()
    for r2 in tr:
        when = _arriving_at(eta, r2.status, r2.waybill_no, now)
        if when is not None and when <= by:
            breakdown.append(
                {
                    "warehouse": r2.to_warehouse,
                    "qty": int(r2.qty_shipped),
                    "source": "transfer",
                    "waybill_no": r2.waybill_no,
                    "eta": rfc3339(when),
                    "lot": lot_out(r2.lot),
                }
            )
    if scope.is_operator:
        breakdown = [x for x in breakdown if x["warehouse"] in scope.warehouses]
    shelf = sum(x["qty"] for x in breakdown if x["source"] == "shelf")
    return {
        "sku": sku,
        "seller_id": seller,
        "by": rfc3339(by),
        "on_shelf": shelf,
        "in_transit_by_date": sum(x["qty"] for x in breakdown) - shelf,
        "available_to_promise": sum(x["qty"] for x in breakdown),
        "breakdown": breakdown,
    }


@dataclass(frozen=True)
class CycleCount:
    warehouse: str
    lines: tuple[CountLine, ...]
    seller_id: str | None = None


@dataclass(frozen=True)
class CountedStock:
    sku: str
    lot: str
    system: int
    counted: int
    adjustment: int


@dataclass(frozen=True)
class CycleCounted:
    """A count's outcome: each line against the books, and the adjustment movement (if any)."""

    warehouse: str
    seller_id: str
    lines: tuple[CountedStock, ...]
    movements: tuple[str, ...]


def cycle_count(session: Session, scope: Scope, cmd: CycleCount, now: datetime) -> CycleCounted:
    """Counted pick stock; each difference is booked as an adjustment through the ledger."""
    seller_id = scope.seller_for_write(cmd.seller_id)
    wh = find_warehouse(session, cmd.warehouse)
    scope.check_warehouse(wh["code"])
    seller_skus(session, seller_id, (ln.sku for ln in cmd.lines))  # unknown SKUs are a 422
    counted = counted_quantities(cmd.lines)
    b = t.balances.c
    keys = sorted(StockKey(seller_id, wh["code"], Zone.PICK.value, s, lot) for s, lot in counted)
    ensure_balances(session, keys)
    out: list[CountedStock] = []
    adj = Location.virtual(Virtual.ADJUSTMENT)
    pick = Location.at(wh["code"], Zone.PICK)
    parts_in, parts_out = [], []
    ids = balance_ids(session, keys)
    locked = {
        r.id: r
        for r in session.execute(
            select(b.id, b.on_hand, b.reserved).where(b.id.in_(ids.values())).order_by(b.id).with_for_update()
        )
    }
    for key in keys:
        row = locked[ids[key]]
        c = counted[(key.sku, key.lot)]
        if c < row.reserved:
            raise WrongState(
                f"{key.sku} counted {c} but {row.reserved} are reserved for orders; "
                "cancel or re-allocate first"
            )
        diff = c - int(row.on_hand)
        if diff > 0:
            parts_in.append((adj, pick, key.sku, key.lot, diff))
        elif diff < 0:
            parts_out.append((pick, adj, key.sku, key.lot, -diff))
        out.append(CountedStock(key.sku, key.lot, int(row.on_hand), c, diff))
    moves = []
    if parts_in or parts_out:
        moves.append(
            apply_move(
                session,
                move(seller_id, MoveKind.CYCLE_COUNT, f"count {wh['code']}", parts_in + parts_out),
                now,
            )
        )
    return CycleCounted(wh["code"], seller_id, tuple(out), tuple(moves))
