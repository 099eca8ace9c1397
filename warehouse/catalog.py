"""The network's catalogue: warehouses and the sellers' SKUs, and the lookups every command checks against.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import AlreadyExists, InvalidInput
from kernel.identity import tenants
from kernel.ids import new_id
from warehouse import tables as t
from warehouse.scope import Scope


@dataclass(frozen=True)
class CreateWarehouse:
    code: str
    name: str
    country: str
    lat: Decimal
    lon: Decimal
    node_id: str | None = None
    handling_cost: Decimal = Decimal("0")
    currency: str = "USD"


def create_warehouse(session: Session, cmd: CreateWarehouse, now: datetime) -> str:
    """Register a warehouse of the shared network; returns its code."""
    code = cmd.code.strip().upper()
    if not code or len(code) > 12:
        raise InvalidInput(
            "warehouse code must be 1 to 12 characters", errors=[{"field": "code", "message": "invalid"}]
        )
    if session.execute(select(t.warehouses.c.code).where(t.warehouses.c.code == code)).first():
        raise AlreadyExists(f"warehouse {code} exists already")
    session.execute(
        t.warehouses.insert().values(
            code=code,
            name=cmd.name,
            country=cmd.country.upper(),
            lat=cmd.lat,
            lon=cmd.lon,
            node_id=cmd.node_id,
            handling_cost=cmd.handling_cost,
            currency=cmd.currency or "USD",
            created_at=now,
        )
    )
    return code


def find_warehouse(
    session: Session, code: str, scope: Scope | None = None, field: str = "warehouse"
) -> dict[str, Any]:
    """The warehouse's row; an unknown one (or one outside `scope`) is invalid input on `field`."""
    row = session.execute(select(t.warehouses).where(t.warehouses.c.code == code)).mappings().first()
    if row is None or (scope is not None and not scope.sees_warehouse(code)):
        raise InvalidInput(
            f"unknown warehouse {code}", errors=[{"field": field, "message": "no such warehouse"}]
        )
    return dict(row)


@dataclass(frozen=True)
class CreateSku:
    seller_id: str
    sku: str
    name: str
    weight_kg: Decimal
    volume_m3: Decimal
    lot_tracked: bool = False
    shelf_life_days: int | None = None
    dangerous_goods: bool = False
    unit_value: Decimal | None = None


def create_sku(session: Session, cmd: CreateSku, now: datetime) -> str:
    """Register one of the seller's SKUs; returns its id."""
    sku, seller_id = cmd.sku.strip(), cmd.seller_id
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
        raise AlreadyExists(f"SKU {sku} exists already for this seller")
    sku_id = new_id("sku")
    session.execute(
        t.skus.insert().values(
            id=sku_id,
            seller_id=seller_id,
            sku=sku,
            name=cmd.name,
            weight_kg=cmd.weight_kg,
            volume_m3=cmd.volume_m3,
            lot_tracked=cmd.lot_tracked,
            shelf_life_days=cmd.shelf_life_days,
            dangerous_goods=cmd.dangerous_goods,
            unit_value=cmd.unit_value,
            created_at=now,
        )
    )
    return sku_id


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
    """Refuse a quantity that is not positive, naming the field."""
    if qty <= 0:
        raise InvalidInput(
            f"{field}: quantity must be positive", errors=[{"field": field, "message": "must be > 0"}]
        )
