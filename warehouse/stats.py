"""Volumes per warehouse and month, and current stock by zone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, String, bindparam, case, cast, column, func, select
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput
from warehouse import tables as t
from warehouse.domain import (
    MoveKind,
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


GROUP_KEYS = ("warehouse", "seller", "customs_mode", "month")
RECEIVED = (MoveKind.RECEIPT.value, MoveKind.RECEIPT_SURPLUS.value)
NO_WAYBILL = "none"  # stock that came with no inbound shipment naming a waybill (counted in, moved in)
MIXED = "mixed"  # a SKU brought to a warehouse under several customs modes


@dataclass(frozen=True)
class FlowQuery:
    """Warehouse flows per group of `group_by` (in GROUP_KEYS' order) over the months of [start, end)."""

    group_by: tuple[str, ...]
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        unknown = [k for k in self.group_by if k not in GROUP_KEYS]
        if unknown:
            raise InvalidInput(f"group_by takes {', '.join(GROUP_KEYS)}; not {', '.join(unknown)}")
        if self.start and self.end and self.end <= self.start:
            raise InvalidInput("`to` must be after `from`")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k in GROUP_KEYS if k in self.group_by)


def sku_waybills(session: Session, scope: Scope) -> list[tuple[str, str, str, str]]:
    """(seller, warehouse, SKU, waybill) of every inbound notice that names the shipment that brought it."""
    i, ln = t.inbound.c, t.inbound_lines.c
    q = (
        select(i.seller_id, i.warehouse, ln.sku, i.waybill_no)
        .join(t.inbound_lines, ln.inbound_id == i.id)
        .where(i.waybill_no.is_not(None))
        .distinct()
    )
    q = scope.filter(q, i.seller_id, i.warehouse)
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in session.execute(q)]


def origin_modes(
    sku_waybill: list[tuple[str, str, str, str]], mode_of_waybill: Mapping[str, str]
) -> dict[tuple[str, str, str], str]:
    """The customs mode each (seller, warehouse, SKU) came under: one mode, or MIXED (pure)."""
    modes: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for seller, wh, sku, waybill in sku_waybill:
        modes[(seller, wh, sku)].add(mode_of_waybill.get(waybill, NO_WAYBILL))
    return {k: (next(iter(v)) if len(v) == 1 else MIXED) for k, v in modes.items()}


def _month(at: datetime) -> str:
    return at.strftime("%Y-%m")


def _days_in(month: str) -> int:
    y, m = int(month[:4]), int(month[5:])
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return (nxt - date(y, m, 1)).days


def warehouse_flows(
    session: Session,
    q: FlowQuery,
    scope: Scope,
    origins: Mapping[tuple[str, str, str], str],
    min_sellers: int = 1,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Units received (and their value), sold, returned, transferred, on hand at the end of each month (or
    of the window) and days of cover, per group; groups of fewer than `min_sellers` sellers are left out.

    Months come from `wh_stock_monthly` (the ledger summed); the customs mode of a unit is the mode of the
    inbound shipments that brought its SKU to that warehouse (`origin_modes`): so the 9810 rows' `sold` are
    the 9810 exports sold from the overseas warehouse."""
    s = t.stock_monthly.c
    first = _month(q.start) if q.start else None
    # the window's last month: the one `end` falls in, unless `end` is its first instant
    last = None
    if q.end:
        last = _month(q.end - timedelta(microseconds=1))
    by_mode = "customs_mode" in q.keys
    # the SKUs' origins joined in the database (PostgreSQL: one JSON parameter read as a table; a VALUES
    # list of 1,600 rows took 0.6 s to compile), else mapped here per SKU
    in_db = by_mode and bool(origins) and session.get_bind().dialect.name == "postgresql"
    origin = (
        func.json_to_recordset(
            cast(
                bindparam(
                    "origins",
                    [{"s": k[0], "w": k[1], "k": k[2], "m": m} for k, m in sorted(origins.items())],
                    type_=JSON,
                ),
                JSON,
            )
        )
        .table_valued(column("s", String), column("w", String), column("k", String), column("m", String))
        .render_derived(name="origin", with_types=True)
        if in_db
        else None
    )
    cols: list[Any] = [s.seller_id, s.warehouse, s.month]
    if origin is not None:
        cols.append(func.coalesce(origin.c.m, NO_WAYBILL).label("sku"))
    elif by_mode:
        cols.append(s.sku)
    value = func.sum(case((s.kind.in_(RECEIVED), s.qty * t.skus.c.unit_value), else_=0))
    source = t.stock_monthly.outerjoin(t.skus, (t.skus.c.seller_id == s.seller_id) & (t.skus.c.sku == s.sku))
    if origin is not None:
        source = source.outerjoin(
            origin,
            (origin.c.s == s.seller_id) & (origin.c.w == s.warehouse) & (origin.c.k == s.sku),
        )
    stmt = (
        select(
            *cols,
            *[func.sum(case((s.kind == k, s.qty), else_=0)).label(k) for k in _KINDS],
            func.sum(s.qty).label("net"),
            value.label("value"),
        )
        .select_from(source)
        .group_by(*cols)
    )
    if last:
        stmt = stmt.where(s.month <= last)
    stmt = scope.filter(stmt, s.seller_id, s.warehouse)
    end_month = last or _month(now or datetime.now(UTC))
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    on_hand: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in session.execute(stmt).mappings():
        if in_db:
            mode = r["sku"]  # the origin's mode, computed in the query
        else:
            mode = origins.get((r["seller_id"], r["warehouse"], r["sku"]), NO_WAYBILL) if by_mode else None
        attrs = {"warehouse": r["warehouse"], "seller": r["seller_id"], "customs_mode": mode}
        base = tuple(attrs[k] for k in q.keys if k != "month")
        # on hand is cumulative: every month up to the one reported counts, whatever the window's start
        on_hand[base][r["month"]] += int(r["net"] or 0)
        if first and r["month"] < first:
            continue
        key = base + ((r["month"],) if "month" in q.keys else ())
        g = groups.setdefault(
            key, {"sellers": set(), "months": set(), "value": Decimal(0), **{k: 0 for k in _KINDS}}
        )
        g["sellers"].add(r["seller_id"])
        g["months"].add(r["month"])
        g["value"] += Decimal(str(r["value"] or 0))
        for k in _KINDS:
            g[k] += int(r[k] or 0)
    rows: list[dict[str, Any]] = []
    hidden = 0
    for key in sorted(groups, key=lambda k: tuple(str(x) for x in k)):
        g = groups[key]
        if len(g["sellers"]) < min_sellers:
            hidden += 1
            continue
        base = key[: len(key) - ("month" in q.keys)]
        upto = key[-1] if "month" in q.keys else end_month
        stock = sum(v for m, v in on_hand[base].items() if m <= upto)
        if "month" in q.keys:
            days = _days_in(key[-1])
        elif q.start and q.end:
            days = max(1, (q.end - q.start).days)
        else:  # no window: the months with movements
            days = sum(_days_in(m) for m in g["months"])
        sold = -g[MoveKind.ORDER_SHIPPED.value]
        row = dict(zip(q.keys, key, strict=True))
        row.update(
            received=g[MoveKind.RECEIPT.value] + g[MoveKind.RECEIPT_SURPLUS.value],
            received_value=str(g["value"].quantize(Decimal("0.01"))),
            sold=sold,
            returned=g[MoveKind.RETURN_RECEIVED.value],
            transferred_in=g[MoveKind.TRANSFER_RECEIVED.value],
            transferred_out=-g[MoveKind.TRANSFER_SHIPPED.value],
            on_hand=stock,
            days_of_cover=None if sold <= 0 or days == 0 else round(stock / (sold / days), 1),
        )
        rows.append(row)
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("received", "sold", "returned", "transferred_in", "transferred_out")
    }
    totals["received_value"] = str(sum((Decimal(r["received_value"]) for r in rows), Decimal(0)))
    return {"rows": rows, "totals": totals, "suppressed_groups": hidden}


_KINDS = [
    MoveKind.RECEIPT.value,
    MoveKind.RECEIPT_SURPLUS.value,
    MoveKind.ORDER_SHIPPED.value,
    MoveKind.RETURN_RECEIVED.value,
    MoveKind.TRANSFER_RECEIVED.value,
    MoveKind.TRANSFER_SHIPPED.value,
]
