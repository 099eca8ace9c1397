"""The warehouse service layer: one function per command or query, each given a `Session` (one transaction,
opened and committed by the caller), the time `now` and the ports it needs.

Concurrency rules (PostgreSQL, READ COMMITTED):
- a balance changes only through a conditional UPDATE (`... WHERE on_hand - reserved >= :q`), so two
  transactions can never both take the last unit: the second re-checks the row after the first commits;
- the balances one transaction touches are locked and updated in balance-id order, so (A, B) and (B, A)
  orders queue instead of deadlocking; an order locks its candidate balances up front
  (`SELECT ... ORDER BY id FOR NO KEY UPDATE`) and plans on what it holds, so it never plans twice;
- an order changes status only by `UPDATE ... WHERE status = 'ALLOCATED'`: cancel racing ship has one winner.
SQLite serialises writers (`BEGIN IMMEDIATE`), which gives the same outcomes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import String, and_, bindparam, case, cast, func, select, update
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.db import dialect_insert
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.identity import Principal, Role, tenants
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.counting import match_counts
from warehouse.domain import (
    NO_LOT,
    Disposition,
    Grade,
    InsufficientStock,
    Location,
    MoveKind,
    OrderStatus,
    ReservationStatus,
    SellableLot,
    ShipTo,
    Site,
    StockKey,
    StockMove,
    Virtual,
    Zone,
    disposition_for,
    disposition_target,
    fefo,
    is_expired,
    move,
    plan_allocation,
    refund_amount,
    split_return_receipt,
)
from warehouse.order_store import NewOrder, write_allocation
from warehouse.ports import Cargo, EtaLookup, ShipmentBooker, TransitTimes, arrival

ORIGIN_NODE = "YIB"  # Yibin: where return_to_origin goes and replenishment ships from


# --- scope ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Who may see what: a seller its own objects, an operator its warehouses, an admin everything."""

    tenant_id: str
    role: Role
    warehouses: tuple[str, ...] = ()

    @staticmethod
    def of(principal: Principal) -> Scope:
        return Scope(principal.tenant_id, principal.role, principal.warehouses)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_seller(self) -> bool:
        return self.role is Role.SELLER

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    def seller_for_write(self, seller_id: str | None) -> str:
        """The seller a creating call acts for: a seller itself; admin and operator must name one."""
        if self.is_seller:
            if seller_id not in (None, self.tenant_id):
                raise NotFound(f"seller {seller_id} does not exist")
            return self.tenant_id
        if not seller_id:
            raise InvalidInput(
                "name the seller_id this call acts for",
                errors=[{"field": "seller_id", "message": "required"}],
            )
        return seller_id

    def sees_seller(self, seller_id: str) -> bool:
        return not self.is_seller or seller_id == self.tenant_id

    def sees_warehouse(self, code: str) -> bool:
        return not self.is_operator or code in self.warehouses

    def check_warehouse(self, code: str) -> None:
        if not self.sees_warehouse(code):
            raise NotFound(f"warehouse {code} does not exist")


def _rows(result: Any) -> int:
    """Rows an UPDATE / INSERT touched (a CursorResult's rowcount)."""
    return int(result.rowcount)


def _lot_out(lot: str) -> str | None:
    return lot or None


# --- warehouses and SKUs ----------------------------------------------------------------------------


def create_warehouse(session: Session, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Register a warehouse of the shared network."""
    code = str(body["code"]).strip().upper()
    if not code or len(code) > 12:
        raise InvalidInput(
            "warehouse code must be 1 to 12 characters", errors=[{"field": "code", "message": "invalid"}]
        )
    if session.execute(select(t.warehouses.c.code).where(t.warehouses.c.code == code)).first():
        raise Conflict(f"warehouse {code} exists already")
    row = {
        "code": code,
        "name": body["name"],
        "country": str(body["country"]).upper(),
        "lat": Decimal(str(body["lat"])),
        "lon": Decimal(str(body["lon"])),
        "node_id": body.get("node_id"),
        "handling_cost": Decimal(str(body.get("handling_cost") or "0")),
        "currency": body.get("currency") or "USD",
        "created_at": now,
    }
    session.execute(t.warehouses.insert().values(**row))
    return _warehouse_out(row)


def _warehouse_out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "country": row["country"],
        "lat": float(row["lat"]),
        "lon": float(row["lon"]),
        "node_id": row["node_id"],
        "handling_cost": {"amount": f"{Decimal(row['handling_cost']):.2f}", "currency": row["currency"]},
    }


def list_warehouses(session: Session, scope: Scope) -> list[dict[str, Any]]:
    rows = session.execute(select(t.warehouses).order_by(t.warehouses.c.code)).mappings()
    return [_warehouse_out(dict(r)) for r in rows if scope.sees_warehouse(r["code"])]


def _warehouse(
    session: Session, code: str, scope: Scope | None = None, field: str = "warehouse"
) -> dict[str, Any]:
    row = session.execute(select(t.warehouses).where(t.warehouses.c.code == code)).mappings().first()
    if row is None or (scope is not None and not scope.sees_warehouse(code)):
        raise InvalidInput(
            f"unknown warehouse {code}", errors=[{"field": field, "message": "no such warehouse"}]
        )
    return dict(row)


def create_sku(session: Session, seller_id: str, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Register one of the seller's SKUs."""
    sku = str(body["sku"]).strip()
    if not session.execute(select(tenants.c.id).where(tenants.c.id == seller_id)).first():
        raise InvalidInput(
            f"unknown seller {seller_id}", errors=[{"field": "seller_id", "message": "no such tenant"}]
        )
    if not sku:
        raise InvalidInput("sku must not be empty", errors=[{"field": "sku", "message": "empty"}])
    exists = session.execute(
        select(t.skus.c.id).where(t.skus.c.seller_id == seller_id, t.skus.c.sku == sku)
    ).first()
    if exists:
        raise Conflict(f"SKU {sku} exists already for this seller")
    row = {
        "id": new_id("sku"),
        "seller_id": seller_id,
        "sku": sku,
        "name": body["name"],
        "weight_kg": Decimal(str(body["weight_kg"])),
        "volume_m3": Decimal(str(body["volume_m3"])),
        "lot_tracked": bool(body.get("lot_tracked", False)),
        "shelf_life_days": body.get("shelf_life_days"),
        "dangerous_goods": bool(body.get("dangerous_goods", False)),
        "unit_value": Decimal(str(body["unit_value"])) if body.get("unit_value") is not None else None,
        "created_at": now,
    }
    session.execute(t.skus.insert().values(**row))
    return _sku_out(row)


def _sku_out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "seller_id": row["seller_id"],
        "sku": row["sku"],
        "name": row["name"],
        "weight_kg": float(row["weight_kg"]),
        "volume_m3": float(row["volume_m3"]),
        "lot_tracked": bool(row["lot_tracked"]),
        "shelf_life_days": row["shelf_life_days"],
        "dangerous_goods": bool(row["dangerous_goods"]),
        "unit_value": None if row["unit_value"] is None else f"{Decimal(row['unit_value']):.2f}",
    }


def list_skus(session: Session, scope: Scope, seller_id: str | None = None) -> list[dict[str, Any]]:
    q = select(t.skus).order_by(t.skus.c.seller_id, t.skus.c.sku)
    if scope.is_seller:
        q = q.where(t.skus.c.seller_id == scope.tenant_id)
    elif seller_id:
        q = q.where(t.skus.c.seller_id == seller_id)
    if scope.is_operator:
        q = q.where(
            select(t.balances.c.id)
            .where(
                t.balances.c.warehouse.in_(scope.warehouses),
                t.balances.c.seller_id == t.skus.c.seller_id,
                t.balances.c.sku == t.skus.c.sku,
            )
            .exists()
        )
    return [_sku_out(dict(r)) for r in session.execute(q).mappings()]


def _seller_skus(
    session: Session, seller_id: str, codes: Iterable[str], field: str = "lines"
) -> dict[str, dict[str, Any]]:
    """The seller's SKUs by code; any code the seller does not own is unknown (never another seller's)."""
    wanted = set(codes)
    rows = session.execute(
        select(t.skus).where(t.skus.c.seller_id == seller_id, t.skus.c.sku.in_(wanted))
    ).mappings()
    found = {r["sku"]: dict(r) for r in rows}
    missing = sorted(wanted - set(found))
    if missing:
        raise InvalidInput(
            f"unknown SKU(s) for this seller: {', '.join(missing)}",
            errors=[{"field": field, "message": f"unknown sku {m}"} for m in missing],
        )
    return found


def _check_qty(qty: int, field: str) -> None:
    if qty <= 0:
        raise InvalidInput(
            f"{field}: quantity must be positive", errors=[{"field": field, "message": "must be > 0"}]
        )


# --- the ledger -------------------------------------------------------------------------------------


def _ensure_balances(session: Session, keys: Sequence[StockKey]) -> None:
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
    return movement_id


def _balance_ids(session: Session, keys: Sequence[StockKey]) -> dict[StockKey, int]:
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
    _ensure_balances(session, [k for k, d in deltas if d > 0])
    b = t.balances.c
    ids = _balance_ids(session, [k for k, _ in deltas])
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
        if _rows(session.execute(stmt)) != 1:
            raise Conflict(
                f"not enough unreserved stock of {key.sku}"
                + (f" lot {key.lot}" if key.lot else "")
                + f" at {key.warehouse} ({key.zone}) to move {-d}",
            )
    return write_ledger(session, mv, now, reverses)


def reverse_movement(session: Session, scope: Scope, movement_id: str, now: datetime) -> dict[str, Any]:
    """Correct a movement by its exact opposite; a movement is reversed at most once."""
    mrow = session.execute(select(t.movements).where(t.movements.c.id == movement_id)).mappings().first()
    if mrow is None or not scope.sees_seller(mrow["seller_id"]):
        raise NotFound(f"movement {movement_id} does not exist")
    if mrow["kind"] in (MoveKind.ORDER_SHIPPED, MoveKind.REVERSAL):
        raise Conflict(f"a {mrow['kind']} movement cannot be reversed; book a return or a new movement")
    if session.execute(select(t.movements.c.id).where(t.movements.c.reverses == movement_id)).first():
        raise Conflict(f"movement {movement_id} is reversed already")
    lines = session.execute(select(t.ledger).where(t.ledger.c.movement_id == movement_id)).mappings().all()
    if scope.is_operator and any(ln["warehouse"] and ln["warehouse"] not in scope.warehouses for ln in lines):
        raise NotFound(f"movement {movement_id} does not exist")
    from warehouse.domain import MoveLine

    original = StockMove(
        mrow["seller_id"],
        MoveKind(mrow["kind"]),
        mrow["reference"],
        tuple(
            MoveLine(Location(ln["warehouse"], ln["zone"]), ln["sku"], ln["lot"], ln["qty"]) for ln in lines
        ),
    )
    rid = apply_move(session, original.reversed(f"reversal of {movement_id}"), now, reverses=movement_id)
    return {"id": rid, "reverses": movement_id, "kind": MoveKind.REVERSAL.value}


# --- inbound ----------------------------------------------------------------------------------------


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


def create_inbound(
    session: Session, scope: Scope, body: Mapping[str, Any], now: datetime, eta: EtaLookup
) -> dict[str, Any]:
    """An advance shipping notice: the goods show as in transit to the warehouse until received."""
    seller_id = scope.seller_for_write(body.get("seller_id"))
    wh = _warehouse(session, body["warehouse"])
    lines = body["lines"]
    if not lines:
        raise InvalidInput("an inbound notice needs lines", errors=[{"field": "lines", "message": "empty"}])
    catalog = _seller_skus(session, seller_id, (ln["sku"] for ln in lines))
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for i, ln in enumerate(lines):
        _check_qty(int(ln["qty"]), f"lines.{i}.qty")
        lot = _lot_for(catalog[ln["sku"]], ln.get("lot"), f"lines.{i}.lot")
        key = (ln["sku"], lot)
        entry = merged.setdefault(
            key, {"sku": ln["sku"], "lot": lot, "expires_on": ln.get("expires_on"), "qty": 0}
        )
        entry["qty"] += int(ln["qty"])
    inbound_id = new_id("asn")
    waybill = body.get("waybill_no")
    expected_at = eta.eta(waybill, session=session) if waybill else None
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
    return get_inbound(session, scope, inbound_id)


def get_inbound(session: Session, scope: Scope, inbound_id: str) -> dict[str, Any]:
    row = session.execute(select(t.inbound).where(t.inbound.c.id == inbound_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]) or not scope.sees_warehouse(row["warehouse"]):
        raise NotFound(f"inbound {inbound_id} does not exist")
    lines = session.execute(
        select(t.inbound_lines)
        .where(t.inbound_lines.c.inbound_id == inbound_id)
        .order_by(t.inbound_lines.c.id)
    ).mappings()
    return {
        "id": row["id"],
        "seller_id": row["seller_id"],
        "warehouse": row["warehouse"],
        "waybill_no": row["waybill_no"],
        "status": row["status"],
        "expected_at": rfc3339(row["expected_at"]) if row["expected_at"] else None,
        "arrived_at": rfc3339(row["arrived_at"]) if row["arrived_at"] else None,
        "received_at": rfc3339(row["received_at"]) if row["received_at"] else None,
        "lines": [
            {
                "sku": ln["sku"],
                "lot": _lot_out(ln["lot"]),
                "expected": ln["qty_expected"],
                "received": ln["qty_received"],
                "short": ln["qty_short"],
                "surplus": ln["qty_surplus"],
            }
            for ln in lines
        ],
    }


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


def _counted(
    lines: Sequence[Mapping[str, Any]], catalog: Mapping[str, Mapping[str, Any]]
) -> dict[tuple[str, str], int]:
    counted: dict[tuple[str, str], int] = defaultdict(int)
    for i, ln in enumerate(lines):
        qty = int(ln["qty"])
        if qty < 0:
            raise InvalidInput(
                f"lines.{i}.qty: a counted quantity cannot be negative",
                errors=[{"field": f"lines.{i}.qty", "message": "must be >= 0"}],
            )
        counted[(ln["sku"], (ln.get("lot") or "").strip())] += qty
    return counted


def receive_inbound(
    session: Session, scope: Scope, inbound_id: str, body: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Book what was counted: up to the notice into pick stock, the shortfall written off as lost
    (the discrepancy is kept), surplus and unannounced goods into quarantine."""
    asn = get_inbound(session, scope, inbound_id)
    seller_id, code = asn["seller_id"], asn["warehouse"]
    done = _rows(
        session.execute(
            update(t.inbound)
            .where(t.inbound.c.id == inbound_id, t.inbound.c.status.in_(("IN_TRANSIT", "ARRIVED")))
            .values(status="RECEIVED", received_at=now)
        )
    )
    if done != 1:
        raise Conflict(f"inbound {inbound_id} is {asn['status']}: received already")
    catalog = _seller_skus(session, seller_id, (ln["sku"] for ln in body["lines"]))
    counted = _counted(body["lines"], catalog)
    for (sku, lot), _q in counted.items():
        if lot:
            _register_lot(session, seller_id, catalog[sku], lot, None, now.date())
    transit, pick, quarantine = (Location.at(code, z) for z in (Zone.TRANSIT, Zone.PICK, Zone.QUARANTINE))
    parts: list[tuple[Location, Location, str, str, int]] = []
    shortage: list[tuple[Location, Location, str, str, int]] = []
    surplus: list[tuple[Location, Location, str, str, int]] = []
    discrepancies = []
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
            discrepancies.append(
                {"sku": ln["sku"], "lot": _lot_out(ln["lot"]), "expected": exp, "counted": got}
            )
        session.execute(
            update(t.inbound_lines)
            .where(t.inbound_lines.c.id == ln["id"])
            .values(qty_received=received, qty_short=short, qty_surplus=extra)
        )
    for (sku, lot), got in unannounced.items():
        if got:
            surplus.append((Location.virtual(Virtual.SUPPLIER), quarantine, sku, lot, got))
            discrepancies.append(
                {"sku": sku, "lot": _lot_out(lot), "expected": 0, "counted": got, "unannounced": True}
            )
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
    out = get_inbound(session, scope, inbound_id)
    out["discrepancies"] = discrepancies
    return out


# --- inventory --------------------------------------------------------------------------------------


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
    if scope.is_seller:
        q = q.where(b.seller_id == scope.tenant_id)
    elif seller_id:
        q = q.where(b.seller_id == seller_id)
    if scope.is_operator:
        q = q.where(b.warehouse.in_(scope.warehouses))
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
                "lot": _lot_out(r["lot"]),
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
    return out


# --- orders -----------------------------------------------------------------------------------------


def _sellable_with_sites(
    session: Session, seller_id: str, skus: Iterable[str]
) -> tuple[list[SellableLot], dict[tuple[str, str, str], int], dict[str, Site]]:
    """One seller's unreserved pick stock of some SKUs, the balance ids, and the warehouses holding it."""
    rows = session.execute(_SELLABLE, {"seller_id": seller_id, "skus": sorted(set(skus))}).all()
    return _stock_of(rows)


def _stock_of(
    rows: Sequence[Any],
) -> tuple[list[SellableLot], dict[tuple[str, str, str], int], dict[str, Site]]:
    lots = [SellableLot(r.warehouse, r.sku, r.lot, int(r.available), r.expires_on) for r in rows]
    ids = {(r.warehouse, r.sku, r.lot): int(r.id) for r in rows}
    sites: dict[str, Site] = {}
    for r in rows:
        if r.warehouse not in sites:
            sites[r.warehouse] = Site(
                r.warehouse, r.country, float(r.lat), float(r.lon), Decimal(r.handling_cost)
            )
    return lots, ids, sites


def _sellable(
    session: Session, seller_id: str, skus: Iterable[str]
) -> tuple[list[SellableLot], dict[tuple[str, str, str], int]]:
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
_SELLABLE_LOCKED = _SELLABLE.order_by(t.balances.c.id).with_for_update(of=t.balances, key_share=True)


def allocate_order(session: Session, scope: Scope, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Create an order and reserve its stock atomically: all lines or nothing (409).

    On PostgreSQL two statements whatever the order's size: lock the candidate balances (in balance-id
    order), then write the order, its lines, reservations and reserved units (`order_store`); the plan
    between them is pure (`plan_allocation`).
    """
    seller_id = scope.seller_for_write(body.get("seller_id"))
    lines = body["lines"]
    if not lines:
        raise InvalidInput("an order needs lines", errors=[{"field": "lines", "message": "empty"}])
    for i, ln in enumerate(lines):
        _check_qty(int(ln["qty"]), f"lines.{i}.qty")
    st = body["ship_to"]
    ship_to = ShipTo(str(st["country"]).upper(), st.get("lat"), st.get("lon"), st.get("postcode"))
    req = [(str(ln["sku"]), int(ln["qty"])) for ln in lines]
    conn = session.connection()  # Core on the session's transaction: no ORM work on the hot path
    rows = conn.execute(_SELLABLE_LOCKED, {"seller_id": seller_id, "skus": sorted({s for s, _ in req})}).all()
    stock, ids, sites = _stock_of(rows)
    unstocked = {s for s, _ in req} - {lt.sku for lt in stock}
    if unstocked:  # an unknown SKU has no stock: tell it apart from a sold-out one (422, not 409)
        _seller_skus(session, seller_id, unstocked)
    plan = plan_allocation(req, ship_to, sites, stock, now.date())
    order_id = new_id("ord")
    new_order = NewOrder(
        id=order_id,
        seller_id=seller_id,
        order_ref=body["order_ref"],
        ship_to={k: v for k, v in st.items() if v is not None},
        explanation=plan.explanation,
        currency=body.get("currency") or "USD",
        created_at=now,
        lines=[
            (
                str(ln["sku"]),
                int(ln["qty"]),
                None if ln.get("unit_price") is None else Decimal(str(ln["unit_price"])),
            )
            for ln in lines
        ],
    )
    written = write_allocation(conn, new_order, plan.picks, ids)
    # a duplicate order_ref (even a concurrent one: its insert waits for the first) rolls back
    if not written.order:
        raise Conflict(f"order {body['order_ref']} exists already for this seller")
    if written.balances != len({ids[(p.warehouse, p.sku, p.lot)] for p in plan.picks}):
        # the balances are locked: only a broken invariant gets here, and nothing is kept
        raise Conflict("stock changed under a lock while reserving; nothing was reserved")
    return {
        "id": order_id,
        "order_ref": body["order_ref"],
        "seller_id": seller_id,
        "status": OrderStatus.ALLOCATED.value,
        "allocations": [
            {
                "warehouse": p.warehouse,
                "sku": p.sku,
                "qty": p.qty,
                "lot": _lot_out(p.lot),
                "line_no": p.line_no,
            }
            for p in plan.picks
        ],
        "explanation": plan.explanation,
    }


def _order_row(session: Session, scope: Scope, order_id: str) -> dict[str, Any]:
    row = session.execute(select(t.orders).where(t.orders.c.id == order_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]):
        raise NotFound(f"order {order_id} does not exist")
    if scope.is_operator:
        whs = set(
            session.execute(
                select(t.reservations.c.warehouse).where(t.reservations.c.order_id == order_id)
            ).scalars()
        )
        if not whs or not whs <= set(scope.warehouses):
            raise NotFound(f"order {order_id} does not exist")
    return dict(row)


def get_order(session: Session, scope: Scope, order_id: str) -> dict[str, Any]:
    row = _order_row(session, scope, order_id)
    res = session.execute(
        select(t.reservations).where(t.reservations.c.order_id == order_id).order_by(t.reservations.c.id)
    ).mappings()
    lines = session.execute(
        select(t.order_lines).where(t.order_lines.c.order_id == order_id).order_by(t.order_lines.c.line_no)
    ).mappings()
    return {
        "id": row["id"],
        "order_ref": row["order_ref"],
        "seller_id": row["seller_id"],
        "status": row["status"],
        "ship_to": row["ship_to"],
        "lines": [
            {
                "line_no": ln["line_no"],
                "sku": ln["sku"],
                "qty": ln["qty"],
                "unit_price": None if ln["unit_price"] is None else f"{Decimal(ln['unit_price']):.2f}",
            }
            for ln in lines
        ],
        "allocations": [
            {
                "warehouse": r["warehouse"],
                "sku": r["sku"],
                "qty": r["qty"],
                "lot": _lot_out(r["lot"]),
                "line_no": r["line_no"],
                "status": r["status"],
            }
            for r in res
        ],
        "explanation": row["explanation"],
        "created_at": rfc3339(row["created_at"]),
        "cancelled_at": rfc3339(row["cancelled_at"]) if row["cancelled_at"] else None,
        "shipped_at": rfc3339(row["shipped_at"]) if row["shipped_at"] else None,
    }


def list_orders(
    session: Session, scope: Scope, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    q = select(t.orders.c.id).order_by(t.orders.c.created_at.desc(), t.orders.c.id.desc()).limit(limit)
    if scope.is_seller:
        q = q.where(t.orders.c.seller_id == scope.tenant_id)
    if scope.is_operator:
        q = q.where(
            select(t.reservations.c.id)
            .where(
                t.reservations.c.order_id == t.orders.c.id, t.reservations.c.warehouse.in_(scope.warehouses)
            )
            .exists()
        )
    if status:
        q = q.where(t.orders.c.status == status)
    return [get_order(session, scope, oid) for oid in session.execute(q).scalars()]


def _transition(session: Session, order_id: str, to: OrderStatus, stamp: str, now: datetime) -> None:
    won = _rows(
        session.execute(
            update(t.orders)
            .where(t.orders.c.id == order_id, t.orders.c.status == OrderStatus.ALLOCATED.value)
            .values(status=to.value, **{stamp: now})
        )
    )
    if won != 1:
        current = session.execute(select(t.orders.c.status).where(t.orders.c.id == order_id)).scalar_one()
        raise Conflict(
            f"order {order_id} is {current}; only an ALLOCATED order can be {to.value.lower()}",
            current_status=current,
        )


def cancel_order(session: Session, scope: Scope, order_id: str, now: datetime) -> dict[str, Any]:
    """Cancel an allocated order and release its reservations."""
    _order_row(session, scope, order_id)
    _transition(session, order_id, OrderStatus.CANCELLED, "cancelled_at", now)
    res = (
        session.execute(
            select(t.reservations)
            .where(
                t.reservations.c.order_id == order_id,
                t.reservations.c.status == ReservationStatus.ACTIVE.value,
            )
            .order_by(t.reservations.c.balance_id)
        )
        .mappings()
        .all()
    )
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
    return get_order(session, scope, order_id)


def ship_order(session: Session, scope: Scope, order_id: str, now: datetime) -> dict[str, Any]:
    """Ship an allocated order: its reserved units leave the warehouse for the customer."""
    order = _order_row(session, scope, order_id)
    _transition(session, order_id, OrderStatus.SHIPPED, "shipped_at", now)
    res = (
        session.execute(
            select(t.reservations)
            .where(
                t.reservations.c.order_id == order_id,
                t.reservations.c.status == ReservationStatus.ACTIVE.value,
            )
            .order_by(t.reservations.c.balance_id)
        )
        .mappings()
        .all()
    )
    b = t.balances.c
    for r in res:
        ok = _rows(
            session.execute(
                update(t.balances)
                .where(b.id == r["balance_id"], b.reserved >= r["qty"])
                .values(on_hand=b.on_hand - r["qty"], reserved=b.reserved - r["qty"])
            )
        )
        if ok != 1:  # cannot happen while reservations and balances agree; refuse rather than drift
            raise Conflict(f"reservation {r['id']} does not match its balance; order not shipped")
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
    return get_order(session, scope, order_id)


# --- available to promise ---------------------------------------------------------------------------


def _arriving_at(
    session: Session,
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
    live = eta.eta(waybill_no, session=session) if waybill_no else None
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
    _seller_skus(session, seller, [sku], field="sku")
    stock, _ = _sellable(session, seller, [sku])
    breakdown: list[dict[str, Any]] = []
    # a lot that expires before the promised date cannot be promised
    for lt in fefo(stock, by.date()):
        breakdown.append(
            {"warehouse": lt.warehouse, "qty": lt.available, "source": "shelf", "lot": _lot_out(lt.lot)}
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
        when = _arriving_at(session, eta, r.status, r.waybill_no, now, r.expected_at)
        if when is not None and when <= by:
            breakdown.append(
                {
                    "warehouse": r.warehouse,
                    "qty": int(r.qty_expected),
                    "source": "inbound",
                    "waybill_no": r.waybill_no,
                    "eta": rfc3339(when),
                    "lot": _lot_out(r.lot),
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
        when = _arriving_at(session, eta, r2.status, r2.waybill_no, now)
        if when is not None and when <= by:
            breakdown.append(
                {
                    "warehouse": r2.to_warehouse,
                    "qty": int(r2.qty_shipped),
                    "source": "transfer",
                    "waybill_no": r2.waybill_no,
                    "eta": rfc3339(when),
                    "lot": _lot_out(r2.lot),
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


# --- transfers --------------------------------------------------------------------------------------


def _cargo(catalog: Mapping[str, Mapping[str, Any]], qty_by_sku: Mapping[str, int], what: str) -> Cargo:
    return Cargo(
        weight_kg=sum((Decimal(catalog[s]["weight_kg"]) * q for s, q in qty_by_sku.items()), Decimal("0")),
        volume_m3=sum((Decimal(catalog[s]["volume_m3"]) * q for s, q in qty_by_sku.items()), Decimal("0")),
        dangerous_goods=any(bool(catalog[s]["dangerous_goods"]) for s in qty_by_sku),
        pieces=sum(qty_by_sku.values()),
        description=what,
    )


def create_transfer(
    session: Session, scope: Scope, body: Mapping[str, Any], now: datetime, booker: ShipmentBooker
) -> dict[str, Any]:
    """Ship stock between two warehouses (phase one): out of pick stock, in transit to the destination,
    with a waybill booked through the route planner."""
    seller_id = scope.seller_for_write(body.get("seller_id"))
    src = _warehouse(session, body["from_warehouse"], field="from_warehouse")
    dst = _warehouse(session, body["to_warehouse"], field="to_warehouse")
    scope.check_warehouse(src["code"])
    if src["code"] == dst["code"]:
        raise InvalidInput(
            "a transfer needs two different warehouses",
            errors=[{"field": "to_warehouse", "message": "same as from"}],
        )
    lines = body["lines"]
    if not lines:
        raise InvalidInput("a transfer needs lines", errors=[{"field": "lines", "message": "empty"}])
    need: dict[str, int] = defaultdict(int)
    for i, ln in enumerate(lines):
        _check_qty(int(ln["qty"]), f"lines.{i}.qty")
        need[ln["sku"]] += int(ln["qty"])
    catalog = _seller_skus(session, seller_id, need)
    stock, _ = _sellable(session, seller_id, need)
    transfer_id = new_id("trf")
    parts = []
    picked: list[tuple[str, str, int]] = []
    for sku, qty in sorted(need.items()):
        left = qty
        explicit = [ln for ln in lines if ln["sku"] == sku and ln.get("lot")]
        pool = fefo([s for s in stock if s.warehouse == src["code"] and s.sku == sku], now.date())
        if explicit:
            pool = [s for s in pool if s.lot in {ln["lot"] for ln in explicit}]
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
        _cargo(catalog, need, f"transfer {transfer_id}"),
        now,
        transfer_id,
        session=session,
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
    return get_transfer(session, scope, transfer_id)


def get_transfer(session: Session, scope: Scope, transfer_id: str) -> dict[str, Any]:
    row = session.execute(select(t.transfers).where(t.transfers.c.id == transfer_id)).mappings().first()
    if (
        row is None
        or not scope.sees_seller(row["seller_id"])
        or (scope.is_operator and not {row["from_warehouse"], row["to_warehouse"]} & set(scope.warehouses))
    ):
        raise NotFound(f"transfer {transfer_id} does not exist")
    lines = session.execute(
        select(t.transfer_lines)
        .where(t.transfer_lines.c.transfer_id == transfer_id)
        .order_by(t.transfer_lines.c.id)
    ).mappings()
    return {
        "id": row["id"],
        "seller_id": row["seller_id"],
        "from_warehouse": row["from_warehouse"],
        "to_warehouse": row["to_warehouse"],
        "waybill_no": row["waybill_no"],
        "status": row["status"],
        "created_at": rfc3339(row["created_at"]),
        "received_at": rfc3339(row["received_at"]) if row["received_at"] else None,
        "lines": [
            {
                "sku": ln["sku"],
                "lot": _lot_out(ln["lot"]),
                "qty": ln["qty_shipped"],
                "received": ln["qty_received"],
                "lost": ln["qty_lost"],
            }
            for ln in lines
        ],
    }


def receive_transfer(
    session: Session, scope: Scope, transfer_id: str, body: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Phase two: the destination counts what arrived; shortfalls are written off, extras quarantined."""
    tr = get_transfer(session, scope, transfer_id)
    scope.check_warehouse(tr["to_warehouse"])
    done = _rows(
        session.execute(
            update(t.transfers)
            .where(t.transfers.c.id == transfer_id, t.transfers.c.status.in_(("IN_TRANSIT", "ARRIVED")))
            .values(status="RECEIVED", received_at=now)
        )
    )
    if done != 1:
        raise Conflict(f"transfer {transfer_id} is {tr['status']}: received already")
    catalog = _seller_skus(session, tr["seller_id"], (ln["sku"] for ln in body["lines"]))
    counted = _counted(body["lines"], catalog)
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
    return get_transfer(session, scope, transfer_id)


# --- returns ----------------------------------------------------------------------------------------


def _shipped_by_sku(session: Session, order_id: str) -> dict[str, int]:
    rows = session.execute(
        select(t.reservations.c.sku, func.sum(t.reservations.c.qty))
        .where(
            t.reservations.c.order_id == order_id, t.reservations.c.status == ReservationStatus.SHIPPED.value
        )
        .group_by(t.reservations.c.sku)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def authorise_return(
    session: Session, scope: Scope, body: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """A return authorisation (RMA) against a shipped order, for at most what was shipped."""
    order = _order_row(session, scope, body["order_id"])
    if order["status"] not in (OrderStatus.SHIPPED.value, OrderStatus.PARTLY_SHIPPED.value):
        raise Conflict(f"order {order['id']} is {order['status']}: only a shipped order can be returned")
    lines = body["lines"]
    if not lines:
        raise InvalidInput("a return needs lines", errors=[{"field": "lines", "message": "empty"}])
    want: dict[str, int] = defaultdict(int)
    reasons: dict[str, str] = {}
    for i, ln in enumerate(lines):
        _check_qty(int(ln["qty"]), f"lines.{i}.qty")
        want[ln["sku"]] += int(ln["qty"])
        reasons.setdefault(ln["sku"], str(ln.get("reason") or ""))
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
    return get_return(session, scope, rma_id)


def _rma(session: Session, scope: Scope, rma_id: str, receiving: bool = False) -> dict[str, Any]:
    """An RMA the caller may see. An operator sees those shipped from or received at its warehouses, and
    any RMA whose parcel turns up at its dock (`receiving`): returns may come back anywhere."""
    row = session.execute(select(t.returns).where(t.returns.c.id == rma_id)).mappings().first()
    if row is None or not scope.sees_seller(row["seller_id"]):
        raise NotFound(f"return {rma_id} does not exist")
    if scope.is_operator and not receiving:
        mine = set(scope.warehouses)
        shipped_from = set(
            session.execute(
                select(t.reservations.c.warehouse).where(t.reservations.c.order_id == row["order_id"])
            ).scalars()
        )
        received_at = set(
            session.execute(
                select(t.return_receipts.c.warehouse).where(t.return_receipts.c.rma_id == rma_id)
            ).scalars()
        )
        if not (shipped_from | received_at) & mine:
            raise NotFound(f"return {rma_id} does not exist")
    return dict(row)


def get_return(session: Session, scope: Scope, rma_id: str) -> dict[str, Any]:
    row = _rma(session, scope, rma_id)
    lines = (
        session.execute(
            select(t.return_lines).where(t.return_lines.c.rma_id == rma_id).order_by(t.return_lines.c.sku)
        )
        .mappings()
        .all()
    )
    receipts = (
        session.execute(
            select(t.return_receipts)
            .where(t.return_receipts.c.rma_id == rma_id)
            .order_by(t.return_receipts.c.id)
        )
        .mappings()
        .all()
    )
    disp = (
        session.execute(
            select(t.return_dispositions)
            .where(t.return_dispositions.c.rma_id == rma_id)
            .order_by(t.return_dispositions.c.id)
        )
        .mappings()
        .all()
    )
    refund = session.execute(select(t.refunds).where(t.refunds.c.rma_id == rma_id)).mappings().first()
    received: dict[str, int] = defaultdict(int)
    unexpected: dict[str, int] = defaultdict(int)
    for r in receipts:
        (unexpected if r["unexpected"] else received)[r["sku"]] += r["qty"]
    done: dict[str, int] = defaultdict(int)
    for d in disp:
        done[d["sku"]] += d["qty"]
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "seller_id": row["seller_id"],
        "status": row["status"],
        "lines": [
            {
                "sku": ln["sku"],
                "reason": ln["reason"],
                "authorised": ln["qty_authorised"],
                "received": received.get(ln["sku"], 0),
                "dispositioned": done.get(ln["sku"], 0),
            }
            for ln in lines
        ],
        "unexpected": [
            {
                "sku": r["sku"],
                "qty": r["qty"],
                "warehouse": r["warehouse"],
                "lot": _lot_out(r["lot"]),
                "flag": "unexpected",
            }
            for r in receipts
            if r["unexpected"]
        ],
        "receipts": [
            {
                "warehouse": r["warehouse"],
                "sku": r["sku"],
                "lot": _lot_out(r["lot"]),
                "qty": r["qty"],
                "unexpected": bool(r["unexpected"]),
                "received_at": rfc3339(r["received_at"]),
            }
            for r in receipts
        ],
        "dispositions": [
            {
                "warehouse": d["warehouse"],
                "sku": d["sku"],
                "lot": _lot_out(d["lot"]),
                "qty": d["qty"],
                "grade": d["grade"],
                "disposition": d["disposition"],
                "waybill_no": d["waybill_no"],
            }
            for d in disp
        ],
        "refund": None
        if refund is None
        else {
            "amount": f"{Decimal(refund['amount']):.2f}",
            "currency": refund["currency"],
            "created_at": rfc3339(refund["created_at"]),
        },
    }


def receive_return(
    session: Session, scope: Scope, rma_id: str, body: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Goods back from the customer at any warehouse of the network: what the RMA covers waits for
    inspection, anything more or other goes to quarantine flagged `unexpected`."""
    rma = _rma(session, scope, rma_id, receiving=True)
    wh = _warehouse(session, body["warehouse"])
    scope.check_warehouse(wh["code"])
    if rma["status"] == "CLOSED":
        raise Conflict(f"return {rma_id} is closed")
    lines = body["lines"]
    if not lines:
        raise InvalidInput("a receipt needs lines", errors=[{"field": "lines", "message": "empty"}])
    for i, ln in enumerate(lines):
        _check_qty(int(ln["qty"]), f"lines.{i}.qty")
    _seller_skus(session, rma["seller_id"], (ln["sku"] for ln in lines))
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
        counted[ln["sku"]] += int(ln["qty"])
        lot_of.setdefault(ln["sku"], (ln.get("lot") or shipped_lots.get(ln["sku"]) or NO_LOT))
    split = split_return_receipt(authorised, {k: int(v) for k, v in prior.items()}, counted)
    parts = []
    cust = Location.virtual(Virtual.CUSTOMER)
    for sku, q in sorted(split.expected.items()):
        parts.append((cust, Location.at(wh["code"], Zone.RETURNS), sku, lot_of[sku], q))
        session.execute(
            t.return_receipts.insert().values(
                rma_id=rma_id,
                warehouse=wh["code"],
                sku=sku,
                lot=lot_of[sku],
                qty=q,
                unexpected=False,
                received_at=now,
            )
        )
    for sku, q in sorted(split.unexpected.items()):
        parts.append((cust, Location.at(wh["code"], Zone.QUARANTINE), sku, lot_of[sku], q))
        session.execute(
            t.return_receipts.insert().values(
                rma_id=rma_id,
                warehouse=wh["code"],
                sku=sku,
                lot=lot_of[sku],
                qty=q,
                unexpected=True,
                received_at=now,
            )
        )
    apply_move(session, move(rma["seller_id"], MoveKind.RETURN_RECEIVED, rma_id, parts), now)
    return get_return(session, scope, rma_id)


def _policy(session: Session, seller_id: str) -> dict[Grade, Disposition]:
    rows = session.execute(
        select(t.return_policies).where(t.return_policies.c.seller_id == seller_id)
    ).mappings()
    return {Grade(r["grade"]): Disposition(r["disposition"]) for r in rows}


def get_return_policy(session: Session, scope: Scope, seller_id: str | None = None) -> dict[str, Any]:
    seller = scope.seller_for_write(seller_id)
    from warehouse.domain import DEFAULT_DISPOSITIONS

    table = {**DEFAULT_DISPOSITIONS, **_policy(session, seller)}
    return {"seller_id": seller, "grades": {g.value: d.value for g, d in sorted(table.items())}}


def set_return_policy(
    session: Session, scope: Scope, grades: Mapping[str, str], seller_id: str | None = None
) -> dict[str, Any]:
    """The seller's disposition table: which grade goes where."""
    seller = scope.seller_for_write(seller_id)
    for g, d in grades.items():
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
    return get_return_policy(session, scope, seller)


def inspect_return(
    session: Session,
    scope: Scope,
    rma_id: str,
    body: Mapping[str, Any],
    now: datetime,
    booker: ShipmentBooker,
) -> dict[str, Any]:
    """Grade received returns and disposition them by the seller's table; restock happens only here."""
    rma = _rma(session, scope, rma_id)
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
    policy = _policy(session, rma["seller_id"])
    expiry = dict(
        ((s, lot), e)
        for s, lot, e in session.execute(
            select(t.lots.c.sku, t.lots.c.lot, t.lots.c.expires_on).where(
                t.lots.c.seller_id == rma["seller_id"]
            )
        )
    )
    lines = body["lines"]
    if not lines:
        raise InvalidInput("an inspection needs lines", errors=[{"field": "lines", "message": "empty"}])
    parts_by: dict[Disposition, list[tuple[Location, Location, str, str, int]]] = defaultdict(list)
    origin: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i, ln in enumerate(lines):
        qty = int(ln["qty"])
        _check_qty(qty, f"lines.{i}.qty")
        try:
            grade = Grade(ln["grade"])
        except ValueError as exc:
            raise InvalidInput(
                f"lines.{i}.grade must be A, B, C or D",
                errors=[{"field": f"lines.{i}.grade", "message": "A|B|C|D"}],
            ) from exc
        left = qty
        for key in sorted(
            k for k in pending if k[1] == ln["sku"] and (not ln.get("lot") or k[2] == ln["lot"])
        ):
            q = min(left, pending[key])
            if not q:
                continue
            w, s, lot = key
            pending[key] -= q
            left -= q
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
            if not left:
                break
        if left:
            raise InvalidInput(
                f"lines.{i}: {qty} {ln['sku']} to inspect but only {qty - left} received and not yet graded",
                errors=[{"field": f"lines.{i}.qty", "message": "more than received and pending inspection"}],
            )
    for _disp, ps in sorted(parts_by.items()):
        apply_move(session, move(rma["seller_id"], MoveKind.DISPOSITION, rma_id, ps), now)
    if origin:
        catalog = _seller_skus(session, rma["seller_id"], {s for m in origin.values() for s in m})
        for w, qty_by_sku in sorted(origin.items()):
            node = _warehouse(session, w)["node_id"] or w
            waybill = booker.book_transfer(
                node,
                ORIGIN_NODE,
                _cargo(catalog, qty_by_sku, f"return to origin {rma_id}"),
                now,
                rma_id,
                session=session,
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
    return get_return(session, scope, rma_id)


def refund_return(session: Session, scope: Scope, rma_id: str, now: datetime) -> tuple[bool, dict[str, Any]]:
    """Refund an RMA exactly once, for what was received of what was authorised, at the price paid.

    Returns (created, refund); a retry finds the first refund and pays nothing more.
    """
    rma = _rma(session, scope, rma_id)
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
            raise Conflict(f"return {rma_id}: nothing received yet, nothing to refund")
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
    return created, {
        "rma_id": rma_id,
        "amount": {"amount": f"{Decimal(existing['amount']):.2f}", "currency": existing["currency"]},
        "created_at": rfc3339(existing["created_at"]),
        "already_refunded": not created,
    }


# --- cycle counts -----------------------------------------------------------------------------------


def cycle_count(session: Session, scope: Scope, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Counted pick stock; each difference is booked as an adjustment through the ledger."""
    seller_id = scope.seller_for_write(body.get("seller_id"))
    wh = _warehouse(session, body["warehouse"])
    scope.check_warehouse(wh["code"])
    catalog = _seller_skus(session, seller_id, (ln["sku"] for ln in body["lines"]))
    counted = _counted(body["lines"], catalog)
    b = t.balances.c
    keys = sorted(StockKey(seller_id, wh["code"], Zone.PICK.value, s, lot) for s, lot in counted)
    _ensure_balances(session, keys)
    out = []
    adj = Location.virtual(Virtual.ADJUSTMENT)
    pick = Location.at(wh["code"], Zone.PICK)
    parts_in, parts_out = [], []
    ids = _balance_ids(session, keys)
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
            raise Conflict(
                f"{key.sku} counted {c} but {row.reserved} are reserved for orders; "
                "cancel or re-allocate first"
            )
        diff = c - int(row.on_hand)
        if diff > 0:
            parts_in.append((adj, pick, key.sku, key.lot, diff))
        elif diff < 0:
            parts_out.append((pick, adj, key.sku, key.lot, -diff))
        out.append(
            {
                "sku": key.sku,
                "lot": _lot_out(key.lot),
                "system": int(row.on_hand),
                "counted": c,
                "adjustment": diff,
            }
        )
    moves = []
    if parts_in or parts_out:
        moves.append(
            apply_move(
                session,
                move(seller_id, MoveKind.CYCLE_COUNT, f"count {wh['code']}", parts_in + parts_out),
                now,
            )
        )
    return {"warehouse": wh["code"], "seller_id": seller_id, "lines": out, "movements": moves}


# --- replenishment ----------------------------------------------------------------------------------


def suggest_replenishment(
    session: Session,
    now: datetime,
    transit: TransitTimes,
    window_days: int = 28,
    safety_days: int = 7,
    cover_days: int = 60,
    origin_node: str = ORIGIN_NODE,
) -> list[dict[str, Any]]:
    """Per seller, warehouse and SKU with sales: when and by which corridor to ship from Yibin so the goods
    arrive before the projected stock-out (demand = units shipped over the last `window_days`)."""
    since = now - timedelta(days=window_days)
    r = t.reservations.c
    demand = session.execute(
        select(t.orders.c.seller_id, r.warehouse, r.sku, func.sum(r.qty))
        .join(t.orders, t.orders.c.id == r.order_id)
        .where(r.status == ReservationStatus.SHIPPED.value, t.orders.c.shipped_at >= since)
        .group_by(t.orders.c.seller_id, r.warehouse, r.sku)
    ).all()
    if not demand:
        return []
    b = t.balances.c
    stock = {
        (s, w, k): int(q)
        for s, w, k, q in session.execute(
            select(
                b.seller_id,
                b.warehouse,
                b.sku,
                func.sum(
                    case(
                        (b.zone == Zone.PICK.value, b.on_hand - b.reserved),
                        (b.zone == Zone.TRANSIT.value, b.on_hand),
                        else_=0,
                    )
                ),
            ).group_by(b.seller_id, b.warehouse, b.sku)
        )
    }
    nodes = {w: n or w for w, n in session.execute(select(t.warehouses.c.code, t.warehouses.c.node_id))}
    out = []
    for seller, wh, sku, shipped in sorted(demand):
        daily = Decimal(int(shipped)) / window_days
        have = stock.get((seller, wh, sku), 0)
        days_left = float(Decimal(have) / daily)
        stockout = now + timedelta(days=days_left)
        need_by = stockout - timedelta(days=safety_days)
        options = transit.hours(origin_node, nodes.get(wh, wh), now)
        qty = max(0, math.ceil(daily * cover_days) - have)
        row: dict[str, Any] = {
            "seller_id": seller,
            "warehouse": wh,
            "sku": sku,
            "computed_at": now,
            "daily_demand": daily.quantize(Decimal("0.001")),
            "stock": have,
            "stockout_at": stockout,
            "qty": qty,
            "ship_by": None,
            "corridor": None,
            "transit_hours": None,
        }
        in_time = [o for o in options if arrival(now, o) <= need_by]
        if in_time:
            best = min(in_time, key=lambda o: (o.cost, o.hours))
            row.update(
                ship_by=need_by - timedelta(hours=best.hours),
                corridor=best.corridor,
                transit_hours=Decimal(str(round(best.hours, 1))),
                note=f"cheapest corridor arriving {safety_days} days before the projected stock-out",
            )
        elif options:
            best = min(options, key=lambda o: o.hours)
            row.update(
                ship_by=now,
                corridor=best.corridor,
                transit_hours=Decimal(str(round(best.hours, 1))),
                note="no corridor arrives before the stock-out: ship now by the fastest",
            )
        else:
            row["note"] = "no route from Yibin to this warehouse"
        out.append(row)
    sellers = {r["seller_id"] for r in out}
    session.execute(t.replenishment.delete().where(t.replenishment.c.seller_id.in_(sellers)))
    session.execute(t.replenishment.insert(), out)
    return [_replenishment_out(r) for r in out]


def _replenishment_out(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "seller_id": r["seller_id"],
        "warehouse": r["warehouse"],
        "sku": r["sku"],
        "daily_demand": str(r["daily_demand"]),
        "stock": r["stock"],
        "suggested_qty": r["qty"],
        "stockout_at": rfc3339(r["stockout_at"]) if r["stockout_at"] else None,
        "ship_by": rfc3339(r["ship_by"]) if r["ship_by"] else None,
        "corridor": r["corridor"],
        "transit_hours": None if r["transit_hours"] is None else float(r["transit_hours"]),
        "note": r.get("note", ""),
        "computed_at": rfc3339(r["computed_at"]),
    }


def list_replenishment(session: Session, scope: Scope) -> list[dict[str, Any]]:
    q = select(t.replenishment).order_by(t.replenishment.c.ship_by, t.replenishment.c.sku)
    if scope.is_seller:
        q = q.where(t.replenishment.c.seller_id == scope.tenant_id)
    if scope.is_operator:
        q = q.where(t.replenishment.c.warehouse.in_(scope.warehouses))
    return [_replenishment_out(dict(r)) for r in session.execute(q).mappings()]


# --- stats ------------------------------------------------------------------------------------------


def _month_key(entry: Mapping[str, Any]) -> str:
    return str(entry["month"])


def warehouse_stats(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Volumes per warehouse and month: units and orders shipped, plus current stock."""
    r = t.reservations.c
    month = func.substr(cast(t.orders.c.shipped_at, String()), 1, 7)
    q = (
        select(r.warehouse, month.label("month"), func.sum(r.qty), func.count(func.distinct(r.order_id)))
        .join(t.orders, t.orders.c.id == r.order_id)
        .where(r.status == ReservationStatus.SHIPPED.value)
        .group_by(r.warehouse, month)
    )
    if scope.is_seller:
        q = q.where(t.orders.c.seller_id == scope.tenant_id)
    b = t.balances.c
    sq = select(b.warehouse, b.zone, func.sum(b.on_hand)).group_by(b.warehouse, b.zone)
    if scope.is_seller:
        sq = sq.where(b.seller_id == scope.tenant_id)
    stock: dict[str, dict[str, int]] = defaultdict(dict)
    for w, z, q2 in session.execute(sq):
        stock[w][z] = int(q2 or 0)
    shipped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for w, m, units, n in session.execute(q):
        shipped[w].append({"month": m, "units_shipped": int(units), "orders_shipped": int(n)})
    out: list[dict[str, Any]] = []
    for code in sorted(set(stock) | set(shipped)):
        if not scope.sees_warehouse(code):
            continue
        out.append(
            {
                "warehouse": code,
                "stock": {z.value: stock[code].get(z.value, 0) for z in Zone},
                "by_month": sorted(shipped[code], key=_month_key) if code in shipped else [],
            }
        )
    return out
