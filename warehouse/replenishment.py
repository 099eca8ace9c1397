"""Replenishment: when and by which corridor to ship from Yibin so stock arrives before it runs out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from warehouse import tables as t
from warehouse.domain import (
    ReservationStatus,
    Zone,
)
from warehouse.ports import ORIGIN_NODE, TransitTimes, arrival
from warehouse.scope import Scope


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
    return [replenishment_view(r) for r in out]


def replenishment_view(r: Mapping[str, Any]) -> dict[str, Any]:
    """A replenishment suggestion as the API shows it."""
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
    """The latest suggestions the caller may see, earliest ship-by first."""
    q = select(t.replenishment).order_by(t.replenishment.c.ship_by, t.replenishment.c.sku)
    q = scope.filter(q, t.replenishment.c.seller_id, t.replenishment.c.warehouse)
    return [replenishment_view(dict(r)) for r in session.execute(q).mappings()]
