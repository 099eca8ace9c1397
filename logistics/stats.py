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

from sqlalchemy import Numeric, and_, case, cast, func, not_, select
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


def nearest_rank(histogram: Mapping[Decimal, int], p: float) -> Decimal | None:
    """The nearest-rank percentile (PostgreSQL's percentile_disc) of values given as value -> count."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank, seen = max(1, math.ceil(p * n)), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover - seen reaches n


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
    """Actual arrival - actual departure in days, rounded half up to 0.01 (what the figures show).

    Rounding is monotonic, so the nearest-rank percentile of the rounded values is the rounded percentile:
    the percentiles are exact to the figures' precision while the database counts values (a hash
    aggregate, in parallel) instead of sorting every shipment (a sort: 1 s at 200,000 shipments)."""
    f = shipment_facts.c
    if session.get_bind().dialect.name == "postgresql":  # NUMERIC all the way: exact
        return func.round(cast(func.extract("epoch", f.arrived_at - f.departed_at), Numeric) / 86400, 2)
    # whole seconds, exact in a double: no tie is lost to binary fractions
    seconds = func.strftime("%s", f.arrived_at) - func.strftime("%s", f.departed_at)
    return func.round(seconds / 86400.0, 2)


MEASURES = (
    "shipments",
    "cancelled",
    "parcels",
    "teu",
    "gross_kg",
    "co2e_kg",
    "arrived",
    "on_time",
    "open",
    "replanned",
    "declared_value_missing",
    "valued",
)


def _measures() -> list[Any]:
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
        n(and_(live, f.declared_value.is_not(None))).label("valued"),
    ]


@dataclass
class _Group:
    """One group's measures, tenants and transit-days histogram, added up from partial rows."""

    measures: dict[str, float] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0.0))
    tenants: set[str] = field(default_factory=set)
    days: dict[Decimal, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: _Group) -> None:
        for k, v in other.measures.items():
            self.measures[k] += v
        self.tenants |= other.tenants
        for d, c in other.days.items():
            self.days[d] += c


def _groups(session: Session, cols: list[Any], conds: list[Any]) -> dict[tuple[Any, ...], _Group]:
    """Per group: the measures summed per tenant in the database and added up here (so the tenants of a
    group are known without a COUNT(DISTINCT), which sorts), and the histogram of transit days."""
    f = shipment_facts.c
    n = len(cols)
    out: dict[tuple[Any, ...], _Group] = defaultdict(_Group)
    stmt = select(*cols, f.tenant_id, *_measures()).where(*conds).group_by(*cols, f.tenant_id)
    for r in session.execute(stmt):
        g = out[tuple(r[:n])]
        g.tenants.add(str(r[n]))
        for k, v in zip(MEASURES, r[n + 1 :], strict=True):
            g.measures[k] += float(v or 0)
    days = _transit_days(session).label("d")
    usable = [*conds, f.status != "CANCELLED", f.arrived_at.is_not(None), f.departed_at.is_not(None)]
    stmt2 = select(*cols, days, func.count()).where(*usable).group_by(*cols, days)
    for r in session.execute(stmt2):
        out[tuple(r[:n])].days[Decimal(str(r[n])).quantize(Decimal("0.01"))] += int(r[n + 1])
    return out


def _shape(keys: Sequence[str], key: tuple[Any, ...], g: _Group, value: Decimal | None) -> dict[str, Any]:
    m = g.measures
    arrived = int(m["arrived"])
    p50, p90 = nearest_rank(g.days, 0.5), nearest_rank(g.days, 0.9)
    row: dict[str, Any] = dict(zip(keys, key, strict=True))
    row.update(
        shipments=int(m["shipments"]),
        parcels=int(m["parcels"]),
        teu=round(m["teu"], 3),
        gross_kg=round(m["gross_kg"], 3),
        declared_value_cny=None if value is None else str(value.quantize(Decimal("0.01"))),
        declared_value_missing=int(m["declared_value_missing"]),
        arrived=arrived,
        on_time=int(m["on_time"]),
        open=int(m["open"]),
        on_time_rate=None if arrived == 0 else round(int(m["on_time"]) / arrived, 4),
        transit_days_p50=None if p50 is None else float(p50),
        transit_days_p90=None if p90 is None else float(p90),
        co2e_kg=round(m["co2e_kg"], 3),
        replanned=int(m["replanned"]),
        cancelled=int(m["cancelled"]),
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


def shipment_stats(
    session: Session, q: ShipmentStatsQuery, vis: Visibility, rates: ExchangeRates
) -> ShipmentStats:
    """Rows per group (in the order of the keys) and totals, over the shipments `vis` lets the caller see."""
    f = shipment_facts.c
    keys = q.keys
    cols = [getattr(f, k) for k in keys]
    conds = _where(q, vis)
    groups = _groups(session, cols, conds)
    shown = sorted(
        (k for k, g in groups.items() if len(g.tenants) >= vis.min_tenants), key=lambda k: tuple(map(str, k))
    )
    hidden = len(groups) - len(shown)
    total = _Group()
    for k in shown:
        total.add(groups[k])
    used: dict[str, Rate] = {}
    values: dict[tuple[Any, ...], Decimal] = {}
    if any(groups[k].measures["valued"] for k in shown):
        values = _values(session, cols, conds, rates, used)
    total_value = sum((values[k] for k in shown if k in values), Decimal(0)) if values else None
    rows = [_shape(keys, k, groups[k], values.get(k)) for k in shown]
    totals = _shape((), (), total, total_value)
    if keys == () and hidden:
        totals = {"suppressed": True}
    rates_used = [
        {
            "currency": r.currency,
            "cny_per_unit": str(r.cny_per_unit),
            "as_of": r.as_of.isoformat(),
            "source": r.source,
        }
        for r in sorted(used.values(), key=lambda r: r.currency)
    ]
    return ShipmentStats(rows, totals, rates_used, hidden)


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
