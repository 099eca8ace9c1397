"""A forwarder's rate table: line-haul rates per lane, direction, equipment and validity period, with the
bunker (BAF) and peak season (PSS) surcharges as their own lines.

The table is a JSON file an operator can replace (`XB_RATE_TABLE`, or `PUT /v1/rates`); `parse` validates
the whole of it against the network and names every bad row and field. A quote is priced with the rows valid
on its `ready_at` (`priced`): the rates are constant within one quote, so the planner's cost lower bounds
(later departures of a service cost the same) stay valid. A service no row covers on that date keeps the
network's default rate (network.json / planning.json), and its freight line says so; the quote is not
refused, because the network's rate is a calibrated figure with its own source, and refusing would leave
lanes unquotable whenever a table row lapses.

Row fields: `lane` (a leg id of network.json), `direction` (forward: the leg's from->to, reverse: to->from),
`equipment` (ALL or an equipment code of planning.json), `unit` (FEU: per 40' equivalent, scaled by the
equipment's rate factor and used for LCL by revenue tonne; box: per container of the row's equipment; kg:
per chargeable kg, air), `amount`, `currency` (USD), `valid_from` (date, inclusive), `valid_to` (date,
exclusive; null: open), `baf_pct` and `peak_pct` (percent of the freight), `basis` (published | estimate)
and `source`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from routing.network_model import Network, Rate, Service

UNITS = ("FEU", "box", "kg")
DIRECTIONS = ("forward", "reverse")
OPERATOR_SOURCE = "operator's service edit (PATCH /v1/network/services), which stands over the rate table"
DEFAULT_SOURCE = "network default rate (no rate-table row valid on the quote's ready_at date)"


@dataclass(frozen=True)
class RateRow:
    index: int
    lane: str
    direction: str
    equipment: str
    unit: str
    amount: Decimal
    currency: str
    valid_from: date
    valid_to: date | None
    baf_pct: Decimal
    peak_pct: Decimal
    basis: str
    source: str

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def as_json(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "direction": self.direction,
            "equipment": self.equipment,
            "unit": self.unit,
            "amount": str(self.amount),
            "currency": self.currency,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "baf_pct": str(self.baf_pct),
            "peak_pct": str(self.peak_pct),
            "basis": self.basis,
            "source": self.source,
        }


@dataclass(frozen=True)
class RateTable:
    rows: tuple[RateRow, ...]
    meta: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"meta": self.meta, "rows": [r.as_json() for r in self.rows]}


class RateTableInvalid(ValueError):
    """The table was refused; `errors` lists every problem as {row, field, message}."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        listed = "; ".join(f"row {e['row']} {e['field']}: {e['message']}" for e in errors[:20])
        more = f"; and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"rate table refused, {len(errors)} error(s): {listed}{more}")
        self.errors = errors


def service_id(network: Network, lane: str, direction: str) -> str | None:
    sid = lane if direction == "forward" else f"{lane}-rev"
    return sid if sid in network.services else None


def _decimal(v: Any) -> Decimal | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _date(v: Any) -> date | None:
    if not isinstance(v, str):
        return None
    try:
        return date.fromisoformat(v)
    except ValueError:
        return None


def parse(raw: Any, network: Network) -> RateTable:
    """The table in `raw` (a JSON document) checked against `network`; RateTableInvalid lists every error."""
    errors: list[dict[str, Any]] = []

    def err(row: int | None, fld: str, message: str) -> None:
        errors.append({"row": row, "field": fld, "message": message})

    if not isinstance(raw, dict) or not isinstance(raw.get("rows"), list):
        raise RateTableInvalid([{"row": None, "field": "rows", "message": "the table needs a list 'rows'"}])
    meta_raw = raw.get("meta")
    meta: dict[str, Any] = dict(meta_raw) if isinstance(meta_raw, dict) else {}
    equipment = set(network.planning.equipment)
    rows: list[RateRow] = []
    for i, r in enumerate(raw["rows"]):
        if not isinstance(r, dict):
            err(i, "", "a row is an object")
            continue
        n = len(errors)
        lane, direction = r.get("lane"), r.get("direction", "forward")
        if direction not in DIRECTIONS:
            err(i, "direction", f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
        svc: Service | None = None
        if not isinstance(lane, str) or not lane:
            err(i, "lane", "lane is required: a leg id of the network")
        elif direction in DIRECTIONS:
            sid = service_id(network, lane, direction)
            if sid is None:
                known = lane in network.services
                err(
                    i,
                    "lane",
                    f"lane {lane!r} has no {direction} service in the network"
                    if known
                    else f"unknown lane {lane!r}: not a leg id of the network",
                )
            else:
                svc = network.services[sid]
        eq = r.get("equipment", "ALL")
        if eq != "ALL" and eq not in equipment:
            err(i, "equipment", f"equipment {eq!r} is not ALL or one of {', '.join(sorted(equipment))}")
        unit = r.get("unit")
        if unit not in UNITS:
            err(i, "unit", f"unit {unit!r} is not one of {', '.join(UNITS)}")
        elif svc is not None:
            if (svc.mode == "air") != (unit == "kg"):
                err(i, "unit", f"unit {unit} does not fit the {svc.mode} lane (air: kg; others: FEU or box)")
            if unit == "box" and eq in ("ALL", "LCL", "AIR"):
                err(i, "unit", "unit box needs one container equipment (e.g. 40GP), not ALL, LCL or AIR")
        amount = _decimal(r.get("amount"))
        if amount is None:
            err(i, "amount", f"amount {r.get('amount')!r} is not a number")
        elif amount <= 0:
            err(i, "amount", f"amount {amount} must be positive")
        pcts: dict[str, Decimal] = {}
        for fld in ("baf_pct", "peak_pct"):
            v = _decimal(r.get(fld, 0))
            if v is None:
                err(i, fld, f"{fld} {r.get(fld)!r} is not a number")
            elif v < 0 or v > 300:
                err(i, fld, f"{fld} {v} must be between 0 and 300 (percent of the freight)")
            else:
                pcts[fld] = v
        currency = r.get("currency")
        if currency != "USD":
            err(i, "currency", f"currency {currency!r}: only USD rates are supported")
        start = _date(r.get("valid_from"))
        if start is None:
            err(i, "valid_from", f"valid_from {r.get('valid_from')!r} is not a date (YYYY-MM-DD)")
        end = None
        if r.get("valid_to") is not None:
            end = _date(r.get("valid_to"))
            if end is None:
                err(i, "valid_to", f"valid_to {r.get('valid_to')!r} is not a date (YYYY-MM-DD) or null")
            elif start is not None and end <= start:
                err(i, "valid_to", f"valid_to {end} is not after valid_from {start}")
        basis = r.get("basis", "estimate")
        if basis not in ("published", "estimate"):
            err(i, "basis", f"basis {basis!r} is not published or estimate")
        source = r.get("source")
        if not isinstance(source, str) or not source.strip():
            err(i, "source", "source is required: where the rate comes from, or why it is an estimate")
        if len(errors) == n:
            assert amount is not None and start is not None and isinstance(lane, str)
            rows.append(
                RateRow(
                    i, lane, str(direction), str(eq), str(unit), amount, "USD", start, end,
                    pcts["baf_pct"], pcts["peak_pct"], str(basis), str(source),
                )
            )  # fmt: skip
    by_key: dict[tuple[str, str, str], list[RateRow]] = {}
    for row in rows:
        by_key.setdefault((row.lane, row.direction, row.equipment), []).append(row)
    for same in by_key.values():
        same.sort(key=lambda x: x.valid_from)
        for a, b in zip(same, same[1:], strict=False):
            if a.valid_to is None or b.valid_from < a.valid_to:
                err(
                    b.index,
                    "valid_from",
                    f"validity overlaps row {a.index} for lane {b.lane} {b.direction} {b.equipment}",
                )
    if errors:
        errors.sort(key=lambda e: (e["row"] is not None, e["row"] or 0))
        raise RateTableInvalid(errors)
    return RateTable(tuple(rows), meta)


def rate_for(table: RateTable, network: Network, svc: Service, equipment: str, day: date) -> Rate:
    """The service's rate on `day` for `equipment`: the equipment's own row before an ALL row, else the
    network's default rate, marked as such."""
    if svc.rate.basis == "operator":
        return replace(svc.rate, source=OPERATOR_SOURCE)  # an operator's service edit is newer than the table
    lane = svc.leg_id or svc.id.removesuffix("-rev")
    direction = "reverse" if svc.id.endswith("-rev") else "forward"
    found: RateRow | None = None
    for row in _index(table).get((lane, direction), ()):
        if row.covers(day) and (row.equipment == equipment or (row.equipment == "ALL" and found is None)):
            found = row
    if found is None:
        return replace(svc.rate, source=DEFAULT_SOURCE)
    pct = Decimal(100)
    return Rate(
        per_feu=found.amount if found.unit == "FEU" else (svc.rate.per_feu if found.unit == "box" else None),
        per_kg=found.amount if found.unit == "kg" else None,
        currency="USD",
        basis=found.basis,
        per_box=found.amount if found.unit == "box" else None,
        baf=found.baf_pct / pct,
        peak=found.peak_pct / pct,
        source=f"rate table row {found.index}: {found.source}",
    )


def _index(table: RateTable) -> dict[tuple[str, str], tuple[RateRow, ...]]:
    idx: dict[tuple[str, str], tuple[RateRow, ...]] | None = table.__dict__.get("_idx")
    if idx is None:
        acc: dict[tuple[str, str], list[RateRow]] = {}
        for r in table.rows:
            acc.setdefault((r.lane, r.direction), []).append(r)
        idx = {k: tuple(v) for k, v in acc.items()}
        object.__setattr__(table, "_idx", idx)
    return idx


def priced(
    table: RateTable, network: Network, equipment: str, ready_at: datetime, memo: dict[Any, Network]
) -> Network:
    """The network with every service's rate as the table has it on ready_at's (UTC) date, for `equipment`.

    Worked out once per (network, date, equipment with rows of its own) in `memo`; networks that come out the
    same share one object, so the planner's per-network caches are reused.
    """
    day = ready_at.astimezone(UTC).date()
    own = equipment if equipment in _equipments(table) else "ALL"
    day_key = ("day", id(network), day, own)
    found = memo.get(day_key)
    if found is not None:
        return found
    rates = {sid: rate_for(table, network, s, equipment, day) for sid, s in network.services.items()}
    key = ("rates", id(network), tuple(rates.values()))
    found = memo.get(key)
    if found is None:
        if len(memo) > 512:
            memo.clear()
        services = {sid: replace(s, rate=rates[sid]) for sid, s in network.services.items()}
        found = memo[key] = Network(network.nodes, services, network.planning, network.sources, network.raw)
    memo[day_key] = found
    return found


def _equipments(table: RateTable) -> frozenset[str]:
    found: frozenset[str] | None = table.__dict__.get("_equipments")
    if found is None:
        found = frozenset(r.equipment for r in table.rows) - {"ALL"}
        object.__setattr__(table, "_equipments", found)
    return found
