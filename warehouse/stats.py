"""Volumes per warehouse and month, and current stock by zone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from warehouse import tables as t
from warehouse.domain import (
    ReservationStatus,
    Zone,
)
from warehouse.scope import Scope


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
    # operators: their warehouses are kept below, one check for both queries
    q = scope.filter(q, t.orders.c.seller_id)
    b = t.balances.c
    sq = scope.filter(
        select(b.warehouse, b.zone, func.sum(b.on_hand)).group_by(b.warehouse, b.zone), b.seller_id
    )
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


def inbound_waybills(session: Session, scope: Scope) -> list[str]:
    """Waybills named by the inbound notices this scope sees (a seller's own, an operator's warehouses')."""
    i = t.inbound.c
    q = scope.filter(
        select(i.waybill_no).where(i.waybill_no.is_not(None)).distinct(), i.seller_id, i.warehouse
    )
    return sorted(str(n) for n in session.execute(q).scalars())
