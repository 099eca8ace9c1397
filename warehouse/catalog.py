"""The network's catalogue: warehouses and the sellers' SKUs, and the lookups every command checks against.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import Conflict, InvalidInput
from kernel.identity import tenants
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.scope import Scope
from warehouse.views import sku_view, warehouse_view


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
    return warehouse_view(row)


def find_warehouse(
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
    return sku_view(row)


def seller_skus(
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


def check_qty(qty: int, field: str) -> None:
    if qty <= 0:
        raise InvalidInput(
            f"{field}: quantity must be positive", errors=[{"field": field, "message": "must be > 0"}]
        )
