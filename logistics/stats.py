"""Shipment statistics: the read side over `shipment_facts` (see shipment_facts.py for what a row holds).

Definitions, one place for every driver:
- a shipment belongs to the month (and the `from`/`to` window, half-open, UTC) of its booking;
- cancelled shipments are left out of every figure and counted apart (`cancelled`);
- `arrived` shipments have an actual arrival; `open` ones have none yet and are left out of the on-time rate
  and the transit times; `on_time_rate` = arrived no later than the arrival booked / arrived;
- `transit_days_p50` / `p90`: nearest-rank percentiles (the smallest value with at least p of the values at
  or below it; PostgreSQL's `percentile_disc`) of actual arrival - actual departure, in days, over the
  arrived shipments with an actual departure;
- `replanned`: shipments re-planned at least once;
- `declared_value_cny`: declared values converted with the rate table (`ExchangeRates`), the rates used
  listed beside the figures; shipments without a declared value are counted in `declared_value_missing`.
Suppression (the regulator): a group whose shipments come from fewer than `min_tenants` tenants is left
out, and the totals are computed over the groups that are shown, so no left-out figure can be recovered by
subtracting the shown rows from the totals.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select, tuple_
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput
from logistics.tables import shipment_facts, waybills

GROUP_KEYS = ("customs_mode", "corridor", "origin", "destination_country", "month")


@dataclass(frozen=True)
class Rate:
    currency: str
    cny_per_unit: Decimal
    as_of: date
    source: str


@dataclass(frozen=True)
class ExchangeRates:
    """CNY per unit of each currency, each with its date and source (loaded from a JSON file)."""

    rates: Mapping[str, Rate]
    source: str

    @classmethod
    def load(cls, path: str | None = None) -> ExchangeRates:
        """The rate table of `path`, or the one shipped with the package."""
        if path is None:
            text = resources.files("logistics").joinpath("exchange_rates.json").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls.parse(json.loads(text))

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> ExchangeRates:
        try:
            rates = {
                str(r["currency"]).upper(): Rate(
                    str(r["currency"]).upper(),
                    Decimal(str(r["cny_per_unit"])),
                    date.fromisoformat(str(r["as_of"])),
                    str(r.get("source") or doc["source"]),
                )
                for r in doc["rates"]
            }
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidInput(f"exchange rate table: {exc}") from exc
        rates.setdefault("CNY", Rate("CNY", Decimal(1), date(1970, 1, 1), "identity"))
        return cls(rates, str(doc.get("source", "")))


@dataclass(frozen=True)
class ShipmentStatsQuery:
    group_by: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        unknown = [k for k in self.group_by if k not in GROUP_KEYS]
        if unknown:
            raise InvalidInput(f"group_by takes {', '.join(GROUP_KEYS)}; not {', '.join(unknown)}")
        if len(set(self.group_by)) != len(self.group_by):
            raise InvalidInput("group_by names a key twice")
        if self.start and self.end and self.end <= self.start:
            raise InvalidInput("`to` must be after `from`")

    @property
    def keys(self) -> tuple[str, ...]:
        """The group keys in their fixed order of nesting."""
        return tuple(k for k in GROUP_KEYS if k in self.group_by)


@dataclass(frozen=True)
class Visibility:
    """Whose shipments are counted: one tenant's, a list of waybills', or all (None, None); and the
    smallest number of tenants a shown group must have (1: no suppression)."""

    tenant_id: str | None = None
    waybill_nos: Sequence[str] | None = None
    min_tenants: int = 1


@dataclass
class ShipmentStats:
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    rates_used: list[dict[str, Any]] = field(default_factory=list)
    suppressed_groups: int = 0


def nearest_rank(sorted_values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile of sorted values (as PostgreSQL's percentile_disc)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p * len(sorted_values)))
    return sorted_values[rank - 1]


def _where(q: ShipmentStatsQuery, vis: Visibility) -> list[Any]:
    f = shipment_facts.c
    conds: list[Any] = []
    if q.start:
        conds.append(f.booked_at >= q.start)
    if q.end:
        conds.append(f.booked_at < q.end)
    if vis.tenant_id is not None:
        conds.append(f.tenant_id == vis.tenant_id)
    if vis.waybill_nos is not None:
        conds.append(f.waybill_no.in_(list(vis.waybill_nos)) if vis.waybill_nos else False)
    return conds


def _transit_days(session: Session) -> Any:
    f = shipment_facts.c
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", f.arrived_at - f.departed_at) / 86400.0
    return func.julianday(f.arrived_at) - func.julianday(f.departed_at)


def _measures(session: Session) -> list[Any]:
    f = shipment_facts.c
    live = f.status != "CANCELLED"
    arrived = and_(live, f.arrived_at.is_not(None))
    on_time = and_(arrived, f.booked_arrival.is_not(None), f.arrived_at <= f.booked_arrival)

    def n(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    def total(cond: Any, col: Any) -> Any:
        return func.sum(case((cond, col), else_=0))

    return [
        n(live).label("shipments"),
        n(not_(live)).label("cancelled"),
        total(live, f.parcels).label("parcels"),
        total(live, f.teu).label("teu"),
        total(live, f.gross_kg).label("gross_kg"),
        total(live, f.co2e_kg).label("co2e_kg"),
        n(arrived).label("arrived"),
        n(on_time).label("on_time"),
        n(and_(live, f.arrived_at.is_(None))).label("open"),
        n(and_(live, f.replans > 0)).label("replanned"),
        n(and_(live, f.declared_value.is_(None))).label("declared_value_missing"),
        func.count(func.distinct(f.tenant_id)).label("tenants"),
        func.count(f.declared_value).label("valued"),
    ]


def _percentiles(
    session: Session, cols: list[Any], conds: list[Any]
) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    f = shipment_facts.c
    days = _transit_days(session)
    usable = [*conds, f.status != "CANCELLED", f.arrived_at.is_not(None), f.departed_at.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        stmt = select(
            *cols,
            func.percentile_disc(0.5).within_group(days).label("p50"),
            func.percentile_disc(0.9).within_group(days).label("p90"),
        ).where(*usable)
        if cols:
            stmt = stmt.group_by(*cols)
        return {tuple(r[: len(cols)]): (r.p50, r.p90) for r in session.execute(stmt)}
    values: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for r in session.execute(select(*cols, days.label("d")).where(*usable)):
        values[tuple(r[: len(cols)])].append(float(r.d))
    out: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    for key, vs in values.items():
        vs.sort()
        out[key] = (nearest_rank(vs, 0.5), nearest_rank(vs, 0.9))
    return out


class _Row:
    """Attribute access to a mapping of measures."""

    def __init__(self, m: Mapping[str, Any]) -> None:
        self.__dict__.update(m)

    def __getattr__(self, name: str) -> Any:
        return None


def _days(v: Any) -> float | None:
    return None if v is None else round(float(v), 2)


def _shape(keys: Sequence[str], r: Any, pct: tuple[Any, Any] | None, value: Decimal | None) -> dict[str, Any]:
    r = _Row(r)
    arrived = int(r.arrived or 0)
    row: dict[str, Any] = {k: getattr(r, k) for k in keys}
    row.update(
        shipments=int(r.shipments or 0),
        parcels=int(r.parcels or 0),
        teu=round(float(r.teu or 0), 3),
        gross_kg=round(float(r.gross_kg or 0), 3),
        declared_value_cny=None if value is None else str(value.quantize(Decimal("0.01"))),
        declared_value_missing=int(r.declared_value_missing or 0),
        arrived=arrived,
        on_time=int(r.on_time or 0),
        open=int(r.open or 0),
        on_time_rate=None if arrived == 0 else round(int(r.on_time or 0) / arrived, 4),
        transit_days_p50=_days(pct[0]) if pct else None,
        transit_days_p90=_days(pct[1]) if pct else None,
        co2e_kg=round(float(r.co2e_kg or 0), 3),
        replanned=int(r.replanned or 0),
        cancelled=int(r.cancelled or 0),
    )
    return row


def _values(
    session: Session, cols: list[Any], conds: list[Any], rates: ExchangeRates, used: dict[str, Rate]
) -> dict[tuple[Any, ...], Decimal]:
    """Declared value in CNY per group: summed per currency in the database, converted here."""
    f = shipment_facts.c
    stmt = select(*cols, f.declared_currency, func.sum(f.declared_value)).where(
        *conds, f.status != "CANCELLED", f.declared_value.is_not(None)
    )
    stmt = stmt.group_by(*cols, f.declared_currency)
    out: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    for r in session.execute(stmt):
        currency = str(r[len(cols)] or "CNY").upper()
        rate = rates.rates.get(currency)
        if rate is None:
            raise InvalidInput(f"no exchange rate to CNY for {currency}: load one into the rate table")
        used[currency] = rate
        out[tuple(r[: len(cols)])] += Decimal(str(r[len(cols) + 1])) * rate.cny_per_unit
    return out


def _usable_days(session: Session) -> Any:
    """Transit days of a shipment that counts for the percentiles, else NULL (which they skip)."""
    f = shipment_facts.c
    usable = and_(f.status != "CANCELLED", f.arrived_at.is_not(None), f.departed_at.is_not(None))
    return case((usable, _transit_days(session)), else_=None)


def _aggregate(
    session: Session, cols: list[Any], conds: list[Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Measures and percentiles per group and over everything: on PostgreSQL one scan (GROUPING SETS with
    percentile_disc), elsewhere the measures in the database and the percentiles counted here."""
    n = len(cols)
    if session.get_bind().dialect.name == "postgresql":
        days = _usable_days(session)
        pct = [
            func.percentile_disc(0.5).within_group(days).label("p50"),
            func.percentile_disc(0.9).within_group(days).label("p90"),
        ]
        if not cols:
            row = session.execute(select(*_measures(session), *pct).where(*conds)).one()
            return [], dict(row._mapping)
        stmt = (
            select(*cols, *_measures(session), *pct, func.grouping(*cols).label("grouped_away"))
            .where(*conds)
            .group_by(func.grouping_sets(tuple_(*cols), tuple_()))
        )
        groups: list[dict[str, Any]] = []
        total: dict[str, Any] = {}
        for r in session.execute(stmt):
            if r.grouped_away:
                total = dict(r._mapping)
            else:
                groups.append(dict(r._mapping))
        groups.sort(key=lambda g: tuple(str(g[c.name]) for c in cols))
        return groups, total or _empty(session, conds)
    stmt = select(*cols, *_measures(session)).where(*conds)
    if cols:
        stmt = stmt.group_by(*cols)
    percentiles = _percentiles(session, cols, conds)
    groups = []
    for r in session.execute(stmt):
        p = percentiles.get(tuple(r[:n]), (None, None))
        groups.append({**r._mapping, "p50": p[0], "p90": p[1]})
    groups.sort(key=lambda g: tuple(str(g[c.name]) for c in cols))
    if not cols:
        return [], groups[0]
    total_row = session.execute(select(*_measures(session)).where(*conds)).one()
    p = _percentiles(session, [], conds).get((), (None, None))
    return groups, {**total_row._mapping, "p50": p[0], "p90": p[1]}


def _empty(session: Session, conds: list[Any]) -> dict[str, Any]:
    row = session.execute(select(*_measures(session)).where(*conds)).one()
    return {**row._mapping, "p50": None, "p90": None}


def shipment_stats(
    session: Session, q: ShipmentStatsQuery, vis: Visibility, rates: ExchangeRates
) -> ShipmentStats:
    """Rows per group (in the order of the keys) and totals, over the shipments `vis` lets the caller see."""
    f = shipment_facts.c
    keys = q.keys
    cols = [getattr(f, k) for k in keys]
    conds = _where(q, vis)
    groups, total = _aggregate(session, cols, conds)
    hidden = [g for g in groups if int(g["tenants"]) < vis.min_tenants]
    if hidden:
        # the totals are those of the groups shown (suppression that subtraction cannot undo)
        conds = [
            *conds,
            not_(or_(*[and_(*[c == g[k] for c, k in zip(cols, keys, strict=True)]) for g in hidden])),
        ]
        total = _aggregate(session, [], conds)[1]
    used: dict[str, Rate] = {}
    valued = int(total["valued"] or 0) > 0
    values = _values(session, cols, conds, rates, used) if valued and cols else {}
    total_value = _values(session, [], conds, rates, used).get(()) if valued else None
    rows = [
        _shape(keys, g, (g["p50"], g["p90"]), values.get(tuple(g[k] for k in keys)))
        for g in groups
        if int(g["tenants"]) >= vis.min_tenants
    ]
    totals = _shape((), total, (total["p50"], total["p90"]), total_value)
    if int(total["tenants"] or 0) < vis.min_tenants and int(total["shipments"] or 0) + int(
        total["cancelled"] or 0
    ):
        totals = {"suppressed": True}
        rows = []
    if not keys:
        rows = (
            []
            if "suppressed" in totals or not int(total["shipments"] or 0) + int(total["cancelled"] or 0)
            else [dict(totals)]
        )
    rates_used = [
        {
            "currency": r.currency,
            "cny_per_unit": str(r.cny_per_unit),
            "as_of": r.as_of.isoformat(),
            "source": r.source,
        }
        for r in sorted(used.values(), key=lambda r: r.currency)
    ]
    return ShipmentStats(rows, totals, rates_used, len(hidden))


def shipment_stats_json(stats: ShipmentStats) -> dict[str, Any]:
    return {
        "rows": stats.rows,
        "totals": stats.totals,
        "exchange_rates": stats.rates_used,
        "suppressed_groups": stats.suppressed_groups,
    }


def customs_modes(session: Session, waybill_nos: Sequence[str]) -> dict[str, str]:
    """The customs mode of each of these waybills (those that exist)."""
    out: dict[str, str] = {}
    nos = sorted(set(waybill_nos))
    for i in range(0, len(nos), 1000):
        stmt = select(waybills.c.waybill_no, waybills.c.customs_mode).where(
            waybills.c.waybill_no.in_(nos[i : i + 1000])
        )
        out.update({str(n): str(m) for n, m in session.execute(stmt)})
    return out
