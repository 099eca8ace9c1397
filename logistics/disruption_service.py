"""Disruptions declared by operators, and the re-planning of the bookings they hit.

A disruption (a suspended service or departure, a closed corridor or node, a delay at a border or a lock) is
stored, applied to the timetable every process plans on, and every booking that has not yet passed the
disrupted point is re-planned in one optimisation (`routing.replan`, CP-SAT): one alternative per booking
within the capacity left, fewest bookings left without a route, then least lateness against deliver-by,
then least cost. The new plan is recorded as PLN milestones with the reason; the old ones are superseded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.clock import parse_time, rfc3339
from kernel.errors import InvalidInput, NotFound
from kernel.identity import Principal
from kernel.ids import new_id
from logistics import events, shipment_facts
from logistics.capacity import capacity_left, hold_capacity, release_capacity
from logistics.customs import filing as customs_filing
from logistics.disruption_records import active, to_domain
from logistics.itinerary import build_itinerary, option_json, planned_milestones
from logistics.network_state import NetworkState
from logistics.tables import (
    bookings,
    disruptions,
    waybill_events,
    waybills,
    webhook_outbox,
    webhooks,
)
from routing import errors as routing_errors
from routing.disruptions import Disruption, itinerary_impact, validate
from routing.planner import Cargo, QuoteRequest, plan
from routing.replan import AffectedBooking, replan

OPEN = ("BOOKED", "PICKED_UP", "IN_TRANSIT", "AT_HUB", "AT_BORDER", "CUSTOMS_HOLD")


def disruption_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        **row["spec"],
        "reason": row["reason"],
        "created_at": rfc3339(row["created_at"]),
        "lifted_at": rfc3339(row["lifted_at"]) if row["lifted_at"] else None,
        "summary": row["summary"],
    }


def list_disruptions(session: Session, include_lifted: bool = False) -> list[dict[str, Any]]:
    query = select(disruptions).order_by(disruptions.c.created_at.desc())
    if not include_lifted:
        query = query.where(disruptions.c.lifted_at.is_(None))
    return [disruption_json(r) for r in session.execute(query).mappings()]


@dataclass
class ReplanResult:
    affected: list[dict[str, Any]] = field(default_factory=list)
    changed_waybills: list[str] = field(default_factory=list)


def declare(
    session: Session,
    state: NetworkState,
    principal: Principal,
    kind: str,
    spec: dict[str, Any],
    reason: str,
    now: datetime,
) -> tuple[dict[str, Any], ReplanResult]:
    """Store a disruption and re-plan every booking it hits; all in the caller's transaction."""
    if not reason.strip():
        raise InvalidInput("say why (reason)", errors=[{"field": "reason", "message": "must not be empty"}])
    disruption = to_domain(kind, spec, reason)
    try:
        validate(state.network, [disruption])
    except routing_errors.RoutingError as exc:
        raise InvalidInput(exc.detail, constraint=type(exc).__name__) from exc
    before_set = active(session)
    disruption_id = new_id("dis")
    session.execute(
        disruptions.insert().values(
            id=disruption_id,
            kind=kind,
            spec=spec,
            reason=reason,
            created_by=principal.tenant_id,
            created_at=now,
        )
    )
    result = replan_affected(session, state, before_set, before_set + (disruption,), reason, now)
    summary = {
        "affected": len(result.affected),
        "replanned": sum(1 for a in result.affected if a["replanned"]),
    }
    session.execute(update(disruptions).where(disruptions.c.id == disruption_id).values(summary=summary))
    row = session.execute(select(disruptions).where(disruptions.c.id == disruption_id)).mappings().one()
    body = disruption_json(row)
    body["bookings"] = result.affected
    return body, result


def lift(session: Session, disruption_id: str, now: datetime) -> dict[str, Any]:
    row = session.execute(select(disruptions).where(disruptions.c.id == disruption_id)).mappings().first()
    if row is None:
        raise NotFound(f"disruption {disruption_id} does not exist")
    if row["lifted_at"] is None:
        session.execute(update(disruptions).where(disruptions.c.id == disruption_id).values(lifted_at=now))
    row = session.execute(select(disruptions).where(disruptions.c.id == disruption_id)).mappings().one()
    return disruption_json(row)


def _cargo(doc: Mapping[str, Any]) -> Cargo:
    """The planner's cargo from the cargo document a waybill stores."""
    temperature = doc.get("temperature")
    return Cargo(
        weight_kg=doc["weight_kg"],
        volume_m3=doc["volume_m3"],
        equipment=doc["equipment"],
        dangerous_goods=bool(doc.get("dangerous_goods")),
        temperature=(float(temperature[0]), float(temperature[1])) if temperature else None,
    )


def replan_affected(
    session: Session,
    state: NetworkState,
    before_set: tuple[Disruption, ...],
    after_set: tuple[Disruption, ...],
    reason: str,
    now: datetime,
) -> ReplanResult:
    result = ReplanResult()
    before = state.timetable(now, before_set)
    after = state.timetable(now, after_set)
    rows = (
        session.execute(
            select(waybills, bookings.c.id.label("bk_id"))
            .join(bookings, bookings.c.waybill_no == waybills.c.waybill_no)
            .where(waybills.c.status.in_(OPEN), bookings.c.status != "CANCELLED")
            .order_by(waybills.c.waybill_no)
            .with_for_update(of=waybills)
        )
        .mappings()
        .all()
    )
    candidates: list[tuple[Any, int, list[Any]]] = []
    for row in rows:
        legs = row["itinerary"]["legs"]
        dep_ids = [
            leg["departure_id"] for leg in legs if leg.get("departure_id") and leg["departure_id"] in before
        ]
        if not dep_ids:
            continue
        impacts = itinerary_impact(state.network, dep_ids, before, after, now)
        if not impacts:
            continue
        hit = {i.departure_id for i in impacts}
        first = next(i for i, leg in enumerate(legs) if leg.get("departure_id") in hit)
        candidates.append((row, first, impacts))
    if not candidates:
        return result

    # Release what the affected legs hold, so alternatives may reuse it (a delayed departure may stay best).
    for row, first, _ in candidates:
        dropped = {leg["departure_id"] for leg in row["itinerary"]["legs"][first:] if leg.get("departure_id")}
        release_capacity(session, row["bk_id"], now, dropped)

    teu_left, kg_left = capacity_left(session, now - timedelta(days=1))
    affected: list[AffectedBooking] = []
    context: dict[str, tuple[Any, int, list[Any]]] = {}
    for row, first, impacts in candidates:
        legs = row["itinerary"]["legs"]
        cargo = row["cargo"]
        ready = max(now, parse_time(legs[first - 1]["arrival"]) if first > 0 else now)
        request = QuoteRequest(
            origin=legs[first]["origin"],
            destination=legs[-1]["destination"],
            ready_at=ready,
            deliver_by=row["deliver_by"] if row["deliver_by"] and row["deliver_by"] > ready else None,
            cargo=_cargo(cargo),
            customs_mode=row["customs_mode"],
            max_options=8,
        )
        try:
            options = plan(state.network, after, request, teu_left, kg_left)
        except routing_errors.RoutingError:
            options = []
        affected.append(
            AffectedBooking(
                row["bk_id"],
                float(cargo["teu"]),
                row["deliver_by"],
                options,
                float(cargo["weight_kg"]),
                booked_arrival=row["planned_arrival"],  # as booked: a re-plan never moves it
            )
        )
        context[row["bk_id"]] = (row, first, impacts)

    outcome = replan(affected, teu_left, kg_left)
    for assignment in outcome.assignments:
        row, first, impacts = context[assignment.booking_id]
        entry: dict[str, Any] = {
            "booking_id": assignment.booking_id,
            "waybill_no": row["waybill_no"],
            "impacts": [
                {"departure_id": i.departure_id, "kind": i.kind, "detail": i.detail} for i in impacts
            ],
            "replanned": assignment.option is not None,
            "reason": assignment.reason,
            "lateness_hours": assignment.lateness_hours,
            "slip_hours": assignment.slip_hours,
            "booked_arrival": rfc3339(row["planned_arrival"]) if row["planned_arrival"] else None,
        }
        if assignment.option is not None:
            _apply_new_plan(session, state, row, first, option_json(assignment.option), reason, now)
            entry["arrival"] = rfc3339(assignment.option.arrival())
        else:
            _needs_attention(session, row, reason, assignment.reason, now)
        result.affected.append(entry)
        result.changed_waybills.append(row["waybill_no"])
    return result


def _apply_new_plan(
    session: Session,
    state: NetworkState,
    row: Any,
    first: int,
    option: dict[str, Any],
    reason: str,
    now: datetime,
) -> None:
    kept = row["itinerary"]["legs"][:first]
    merged = {
        **option,
        "id": row["itinerary"].get("option_id", option["id"]) + "+" + option["id"][:8],
        "legs": kept + option["legs"],
    }
    cargo = row["cargo"]
    hold_capacity(
        session,
        state.timetable(now, active(session)),
        row["bk_id"],
        option["legs"],
        cargo["teu"],
        cargo["weight_kg"],
    )
    itinerary = build_itinerary(state.network, merged)
    session.execute(
        update(waybill_events)
        .where(
            waybill_events.c.waybill_no == row["waybill_no"],
            waybill_events.c.classifier.in_(("PLN", "EST")),
            waybill_events.c.superseded_by.is_(None),
        )
        .values(superseded_by=-3)
    )
    for m in planned_milestones(itinerary):
        events.append(
            session,
            row["waybill_no"],
            kind="milestone",
            code=m["code"],
            classifier="PLN",
            node_id=m["node_id"],
            event_time=parse_time(m["time"]),
            recorded_time=now,
            detail={"reason": f"re-planned: {reason}"},
        )
    arrival = parse_time(itinerary["legs"][-1]["arrival"])
    events.append(
        session,
        row["waybill_no"],
        kind="plan",
        code="REPLANNED",
        event_time=now,
        recorded_time=now,
        detail={"reason": reason, "from_leg": first, "arrival": rfc3339(arrival)},
    )
    session.execute(
        update(waybills)
        .where(waybills.c.waybill_no == row["waybill_no"])
        .values(
            itinerary=itinerary,
            eta=arrival,  # planned_arrival stays the booked arrival: lateness is measured against it
            updated_at=now,
            track_state=None,  # the stops changed: the next reading re-derives against the new plan
            track_checkpoint=None,  # folded against the old stops as well
            track_since_checkpoint=None,
        )
    )
    shipment_facts.refresh(session, [row["waybill_no"]])
    per_shipment = (c for c in option["cost"].get("breakdown", ()) if c["leg"] is None)  # brokerage
    cost = sum(Decimal(leg["cost"]["amount"]) for leg in itinerary["legs"]) + sum(
        (Decimal(c["amount"]) for c in per_shipment), Decimal("0.00")
    )
    session.execute(update(bookings).where(bookings.c.id == row["bk_id"]).values(cost_amount=cost))
    customs_filing.replanned(session, _country_of(state), row["waybill_no"], now)  # CEB505 modifications
    _notify(
        session,
        row,
        "waybill.replanned",
        {"waybill_no": row["waybill_no"], "reason": reason, "eta": rfc3339(arrival)},
        now,
    )


def _country_of(state: NetworkState) -> Callable[[str], str | None]:
    def country_of(node_id: str) -> str | None:
        node = state.network.nodes.get(node_id)
        return node.country if node is not None else None

    return country_of


def _needs_attention(session: Session, row: Any, reason: str, why: str, now: datetime) -> None:
    alarms = list(row["alarms"] or [])
    alarm = {
        "kind": "replan",
        "raised_at": rfc3339(now),
        "cleared_at": None,
        "detail": f"{reason}: no alternative route fits ({why}); a person must decide",
    }
    alarms.append(alarm)
    session.execute(
        update(waybills)
        .where(waybills.c.waybill_no == row["waybill_no"])
        .values(alarms=alarms, updated_at=now)
    )
    events.append(
        session,
        row["waybill_no"],
        kind="alarm",
        code="REPLAN",
        event_time=now,
        recorded_time=now,
        detail=alarm,
    )
    _notify(session, row, "waybill.alarm", {"waybill_no": row["waybill_no"], "alarm": alarm}, now)


def _notify(session: Session, row: Any, kind: str, data: dict[str, Any], now: datetime) -> None:
    hooks = (
        session.execute(
            select(webhooks).where(webhooks.c.tenant_id == row["tenant_id"], webhooks.c.active.is_(True))
        )
        .mappings()
        .all()
    )
    for hook in hooks:
        if "*" in hook["events"] or kind in hook["events"]:
            session.execute(
                webhook_outbox.insert().values(
                    webhook_id=hook["id"],
                    event=kind,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    body=json.dumps({"event": kind, "data": data, "sent_at": rfc3339(now)}, sort_keys=True),
                )
            )


def suggest_alternatives(
    session: Session, state: NetworkState, row: Any, track: Any, now: datetime, limit: int = 3
) -> list[dict[str, Any]]:
    """Routes from the shipment's next stop that would still meet its deliver-by date (for a delay alarm)."""
    stops = row["itinerary"]["stops"]
    nxt = stops[min(len(stops) - 1, max(0, int(getattr(track, "stop_index", -1)) + 1))]
    cargo = row["cargo"]
    request = QuoteRequest(
        origin=nxt["node_id"],
        destination=stops[-1]["node_id"],
        ready_at=now,
        deliver_by=None,
        cargo=_cargo(cargo),
        customs_mode=row["customs_mode"],
        max_options=8,
    )
    if request.origin == request.destination:
        return []
    try:
        teu_left, kg_left = capacity_left(session, now - timedelta(days=1))
        options = plan(state.network, state.timetable(now, active(session)), request, teu_left, kg_left)
    except routing_errors.RoutingError:
        return []
    deliver_by = row["deliver_by"]
    ranked = sorted(options, key=lambda o: (o.arrival() > deliver_by if deliver_by else False, o.arrival()))
    return [
        {
            "from": request.origin,
            "arrival": rfc3339(o.arrival()),
            "meets_deliver_by": bool(deliver_by is None or o.arrival() <= deliver_by),
            "cost": {"amount": f"{o.cost:.2f}", "currency": o.currency},
            "corridors": list(dict.fromkeys(leg.corridor for leg in o.legs)),
        }
        for o in ranked[:limit]
    ]
