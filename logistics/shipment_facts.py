"""One row of statistical facts per booked shipment, recomputed from the waybill and its event log.

Contract: `shipment_facts` is a pure function of the stored facts (the `waybills` row and its
non-superseded `waybill_events`), never a counter. Every writer that changes a shipment's waybill or appends
to its log calls `refresh(session, [waybill_no, ...])` in the same transaction, and `refresh` recomputes the
whole row from those facts (it never adds to what is there), so a row cannot drift: a missed call is put
right by the next one, and `rebuild(session)` recomputes every row (the migration's backfill; the tests
compare the table with a brute-force recount after generated histories).

What a row holds, and where it comes from:
- fixed at booking: `booked_at` (and `month`, its "YYYY-MM" in UTC) and `booked_arrival`, the arrival
  promised at booking: the first PLN ARRI at the destination (a re-plan supersedes it but keeps it in the log,
  so on-time is measured against what was sold);
- from the waybill as it is now: tenant, customs mode, origin node, destination country (the destination
  stop's UN/LOCODE country), main corridor (the corridor of the longest non-road leg), TEU and gross kg
  of the cargo, CO2e of the current itinerary, status;
- from ACT milestones: `departed_at`, the earliest actual GTOT/DEPA; `arrived_at`, the earliest actual
  ARRI/GTIN/DROP at the destination node or the first status that means the goods are there (ARRIVED,
  AT_WAREHOUSE, OUT_FOR_DELIVERY, DELIVERED); `replans`, the number of REPLANNED plan events;
- from the customs data of the booking: parcels and declared value (`customs_figures`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from kernel.db import dialect_insert
from logistics.customs.tables import customs_declarations
from logistics.tables import shipment_facts, waybill_events, waybills

DEPARTURE_CODES = ("GTOT", "DEPA")
ARRIVAL_CODES = ("ARRI", "GTIN", "DROP")
THERE_STATUSES = ("ARRIVED", "AT_WAREHOUSE", "OUT_FOR_DELIVERY", "DELIVERED")


@dataclass(frozen=True)
class CustomsFigures:
    """What a booking's customs data says for statistics: parcels (9610) and the declared goods value."""

    parcels: int
    declared_value: Decimal | None
    currency: str | None


NO_CUSTOMS_DATA = CustomsFigures(parcels=0, declared_value=None, currency=None)


def customs_figures(session: Session, waybill_nos: Sequence[str]) -> dict[str, CustomsFigures]:
    """Parcels and declared value per waybill, from the booking's customs data (`customs_declarations`).

    Parcels: the 9610 consolidation's parcels (0 under the B2B and bonded modes, which declare no parcels).
    Declared value: the goods lines' values summed (under 9610 the parcels' goods, where parcels are listed),
    in their currency; a declaration whose lines name several currencies gets no single value (it is counted
    in `declared_value_missing`), nor does a booking without customs data. The customs writers
    (`logistics.customs.filing`: declare, correct) refresh the row in their transaction."""
    found: dict[str, CustomsFigures] = {no: NO_CUSTOMS_DATA for no in waybill_nos}
    if not waybill_nos:
        return found
    rows = session.execute(
        select(customs_declarations.c.waybill_no, customs_declarations.c.data).where(
            customs_declarations.c.waybill_no.in_(list(waybill_nos))
        )
    )
    for waybill_no, data in rows:
        parcels = list(data.get("parcels") or [])
        if parcels:
            lines = [g for parcel in parcels for g in parcel.get("goods") or []]
        else:
            lines = list(data.get("goods") or [])
        currencies = {str(g["value"]["currency"]) for g in lines}
        if len(currencies) == 1:
            value: Decimal | None = sum((Decimal(str(g["value"]["amount"])) for g in lines), Decimal("0"))
            currency: str | None = currencies.pop()
        else:
            value, currency = None, None
        found[waybill_no] = CustomsFigures(parcels=len(parcels), declared_value=value, currency=currency)
    return found


def main_corridor(itinerary: Mapping[str, Any]) -> str:
    """The corridor of the itinerary's longest non-road leg (a road-only trip is "road")."""
    best: tuple[float, str] | None = None
    for leg in itinerary.get("legs") or []:
        if leg.get("mode") == "road":
            continue
        hours = (_t(leg["arrival"]) - _t(leg["departure"])).total_seconds()
        corridor = str(leg.get("corridor") or leg.get("mode") or "unknown")
        if best is None or hours > best[0]:
            best = (hours, corridor)
    return best[1] if best else "road"


def destination_country(itinerary: Mapping[str, Any], destination: str) -> str:
    """The destination's country: its UN/LOCODE's first two letters ("??" where the node has none)."""
    stops = itinerary.get("stops") or []
    code = stops[-1].get("unlocode") if stops else None
    code = code or (destination if len(destination) == 5 and destination.isalpha() else None)
    return str(code)[:2].upper() if code else "??"


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _teu(cargo: Mapping[str, Any]) -> float:
    return float(cargo.get("teu") or 0.0)


def derive(
    row: Mapping[Any, Any], evts: Iterable[Mapping[Any, Any]], customs: CustomsFigures
) -> dict[str, Any]:
    """The fact row of one waybill from its stored row and its non-superseded events (pure)."""
    itinerary = row["itinerary"] or {}
    departed: datetime | None = None
    arrived: datetime | None = None
    replans = 0
    promised: tuple[int, datetime] | None = None
    for e in evts:
        kind, code, at = e["kind"], e["code"], e["event_time"]
        if kind == "milestone" and e["classifier"] == "PLN":
            if (
                code == "ARRI"
                and e["node_id"] == row["destination"]
                and (promised is None or e["id"] < promised[0])
            ):
                promised = (int(e["id"]), at)
            continue
        if e["superseded_by"] is not None:
            continue
        if kind == "milestone" and e["classifier"] == "ACT":
            if code in DEPARTURE_CODES and (departed is None or at < departed):
                departed = at
            if (
                code in ARRIVAL_CODES
                and e["node_id"] == row["destination"]
                and (arrived is None or at < arrived)
            ):
                arrived = at
        elif kind == "status" and code in THERE_STATUSES and (arrived is None or at < arrived):
            arrived = at
        elif kind == "plan" and code == "REPLANNED":
            replans += 1
    created: datetime = row["created_at"]
    return {
        "waybill_no": row["waybill_no"],
        "tenant_id": row["tenant_id"],
        "customs_mode": row["customs_mode"],
        "corridor": main_corridor(itinerary),
        "origin": row["origin"],
        "destination_country": destination_country(itinerary, row["destination"]),
        "booked_at": created,
        "month": created.strftime("%Y-%m"),
        "booked_arrival": promised[1] if promised else row["planned_arrival"],
        "status": row["status"],
        "teu": _teu(row["cargo"] or {}),
        "gross_kg": float((row["cargo"] or {}).get("weight_kg") or 0.0),
        "co2e_kg": float(itinerary.get("co2e_kg") or 0.0),
        "parcels": customs.parcels,
        "declared_value": customs.declared_value,
        "declared_currency": customs.currency,
        "departed_at": departed,
        "arrived_at": arrived,
        "replans": replans,
    }


def refresh(session: Session, waybill_nos: Iterable[str]) -> None:
    """Recompute the fact rows of these waybills (shipments only) from their stored facts."""
    nos = sorted(set(waybill_nos))
    for i in range(0, len(nos), 500):
        _refresh_chunk(session, nos[i : i + 500])


def _refresh_chunk(session: Session, nos: list[str]) -> None:
    w = waybills.c
    rows = (
        session.execute(
            select(
                w.waybill_no,
                w.tenant_id,
                w.customs_mode,
                w.origin,
                w.destination,
                w.itinerary,
                w.cargo,
                w.status,
                w.planned_arrival,
                w.created_at,
            ).where(w.waybill_no.in_(nos), w.kind == "shipment", w.booking_id.is_not(None))
        )
        .mappings()
        .all()
    )
    if not rows:
        return
    e = waybill_events.c
    by_waybill: dict[str, list[Mapping[Any, Any]]] = {r["waybill_no"]: [] for r in rows}
    for ev in (
        session.execute(
            select(
                e.id, e.waybill_no, e.kind, e.code, e.classifier, e.node_id, e.event_time, e.superseded_by
            ).where(
                e.waybill_no.in_(list(by_waybill)),
                # only the events a fact row is made of (the ingest refreshes every batch's waybills)
                or_(
                    and_(e.kind == "milestone", e.code.in_(DEPARTURE_CODES + ARRIVAL_CODES)),
                    and_(e.kind == "status", e.code.in_(THERE_STATUSES)),
                    and_(e.kind == "plan", e.code == "REPLANNED"),
                ),
                or_(e.superseded_by.is_(None), and_(e.classifier == "PLN", e.code == "ARRI")),
            )
        )
        .mappings()
        .all()
    ):
        by_waybill[ev["waybill_no"]].append(ev)
    customs = customs_figures(session, list(by_waybill))
    facts = [derive(r, by_waybill[r["waybill_no"]], customs[r["waybill_no"]]) for r in rows]
    ins = dialect_insert(session, shipment_facts).values(facts)
    session.execute(
        ins.on_conflict_do_update(
            index_elements=[shipment_facts.c.waybill_no],
            set_={c.name: ins.excluded[c.name] for c in shipment_facts.c if c.name != "waybill_no"},
        )
    )


def rebuild(session: Session) -> int:
    """Recompute every shipment's fact row; returns how many waybills were looked at."""
    nos = [
        str(n)
        for n in session.execute(
            select(waybills.c.waybill_no).where(
                waybills.c.kind == "shipment", waybills.c.booking_id.is_not(None)
            )
        ).scalars()
    ]
    refresh(session, nos)
    return len(nos)
