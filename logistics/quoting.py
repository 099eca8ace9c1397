"""Quotes and bookings: plan, hold capacity atomically, create the waybill with its planned milestones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from kernel.clock import parse_time
from kernel.db import dialect_insert
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.identity import Principal
from kernel.ids import document_number, new_id
from logistics import events
from logistics.disruption_records import active
from logistics.itinerary import build_itinerary, option_json, planned_milestones
from logistics.network_state import NetworkState
from logistics.tables import bookings, capacity_holds, departure_loads, quotes, waybills
from routing import errors as routing_errors
from routing.planner import Cargo, QuoteRequest, plan
from routing.timetable import Timetable

QUOTE_VALIDITY = timedelta(hours=48)


@dataclass(frozen=True)
class QuoteInput:
    origin: str | tuple[float, float]
    destination: str | tuple[float, float]
    ready_at: datetime
    deliver_by: datetime | None
    weight_kg: float
    volume_m3: float
    equipment: str
    dangerous_goods: bool
    temperature: tuple[float, float] | None
    customs_mode: str
    max_options: int


def _routing_error(exc: routing_errors.RoutingError) -> InvalidInput:
    extra: dict[str, Any] = {}
    suggestion = getattr(exc, "suggestion", None)
    if suggestion:
        extra["suggestion"] = suggestion
    field = getattr(exc, "field", None)
    errors = [{"field": field, "message": exc.detail}] if field else None
    return InvalidInput(exc.detail, errors=errors, constraint=type(exc).__name__, **extra)


def capacity_left(session: Session, start: datetime) -> tuple[dict[str, float], dict[str, float]]:
    """TEU and kg still free on every departure from `start` on that has bookings (others are empty)."""
    rows = session.execute(
        select(
            departure_loads.c.departure_id,
            departure_loads.c.capacity_teu,
            departure_loads.c.booked_teu,
            departure_loads.c.capacity_kg,
            departure_loads.c.booked_kg,
        ).where(departure_loads.c.departure >= start)
    ).all()
    teu = {r.departure_id: max(0.0, r.capacity_teu - r.booked_teu) for r in rows}
    kg = {r.departure_id: max(0.0, r.capacity_kg - r.booked_kg) for r in rows}
    return teu, kg


def request_quote(
    session: Session, state: NetworkState, principal: Principal, q: QuoteInput, now: datetime
) -> dict[str, Any]:
    """Plan a Pareto set of options and store them as a quote of the calling tenant."""
    if q.deliver_by is not None and q.deliver_by <= q.ready_at:
        raise InvalidInput(
            "deliver_by must be after ready_at",
            errors=[{"field": "deliver_by", "message": "is not after ready_at"}],
        )
    state.sync(session)
    timetable = state.timetable(min(now, q.ready_at), active(session))
    cargo = Cargo(
        weight_kg=q.weight_kg,
        volume_m3=q.volume_m3,
        equipment=q.equipment,
        dangerous_goods=q.dangerous_goods,
        temperature=q.temperature,
    )
    request = QuoteRequest(
        origin=q.origin,
        destination=q.destination,
        ready_at=q.ready_at,
        deliver_by=q.deliver_by,
        cargo=cargo,
        customs_mode=q.customs_mode,
        max_options=q.max_options,
    )
    try:
        teu_left, kg_left = capacity_left(session, q.ready_at)
        options = plan(state.network, timetable, request, teu_left, kg_left)
    except routing_errors.RoutingError as exc:
        raise _routing_error(exc) from exc
    if not options:
        raise InvalidInput("no feasible route for this cargo and these dates", constraint="NoRoute")
    quote_id = new_id("qt")
    payload = [option_json(o) for o in options]
    request_json = {
        "origin": q.origin if isinstance(q.origin, str) else {"lat": q.origin[0], "lon": q.origin[1]},
        "destination": q.destination
        if isinstance(q.destination, str)
        else {"lat": q.destination[0], "lon": q.destination[1]},
        "ready_at": q.ready_at.isoformat(),
        "deliver_by": q.deliver_by.isoformat() if q.deliver_by else None,
        "cargo": {
            "weight_kg": q.weight_kg,
            "volume_m3": q.volume_m3,
            "equipment": q.equipment,
            "dangerous_goods": q.dangerous_goods,
            "temperature": list(q.temperature) if q.temperature else None,
            "teu": cargo.teu(),
        },
        "customs_mode": q.customs_mode,
    }
    expires = now + QUOTE_VALIDITY
    session.execute(
        quotes.insert().values(
            id=quote_id,
            tenant_id=principal.tenant_id,
            request=request_json,
            options=payload,
            created_at=now,
            expires_at=expires,
        )
    )
    return {"id": quote_id, "expires_at": expires.isoformat(), "request": request_json, "options": payload}


def _tenant_filter(principal: Principal, column: Any) -> Any:
    return True if principal.is_admin else column == principal.tenant_id


def get_quote(session: Session, principal: Principal, quote_id: str) -> dict[str, Any]:
    row = (
        session.execute(
            select(quotes).where(quotes.c.id == quote_id, _tenant_filter(principal, quotes.c.tenant_id))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"quote {quote_id} does not exist")
    return dict(row)


def _ensure_load_rows(session: Session, timetable: Timetable, departure_ids: list[str]) -> None:
    for dep_id in departure_ids:
        try:
            dep = timetable.get(dep_id)
        except KeyError as exc:
            raise Conflict(f"departure {dep_id} is no longer in the timetable; ask for a new quote") from exc
        stmt = dialect_insert(session, departure_loads).values(
            departure_id=dep.id,
            service_id=dep.service_id,
            departure=dep.departure,
            capacity_teu=dep.capacity_teu,
            booked_teu=0.0,
            capacity_kg=dep.capacity_kg,
            booked_kg=0.0,
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["departure_id"]))


def hold_capacity(
    session: Session, timetable: Timetable, booking_id: str, legs: list[dict[str, Any]], teu: float, kg: float
) -> None:
    """Consume capacity on every timetabled departure of the legs, all or nothing.

    Each hold is one conditional UPDATE (`booked + need <= capacity`): under concurrency PostgreSQL
    serialises the row and re-checks the condition, so the last slot goes to exactly one booking.
    Departures are taken in id order so that two bookings never wait on each other.
    """
    dep_ids = sorted({leg["departure_id"] for leg in legs if leg.get("departure_id")})
    _ensure_load_rows(session, timetable, dep_ids)
    for dep_id in dep_ids:
        result = session.execute(
            update(departure_loads)
            .where(
                and_(
                    departure_loads.c.departure_id == dep_id,
                    departure_loads.c.booked_teu + teu <= departure_loads.c.capacity_teu + 1e-9,
                    departure_loads.c.booked_kg + kg <= departure_loads.c.capacity_kg + 1e-6,
                )
            )
            .values(booked_teu=departure_loads.c.booked_teu + teu, booked_kg=departure_loads.c.booked_kg + kg)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise Conflict(f"departure {dep_id} is full; ask for a new quote", departure_id=dep_id)
        session.execute(
            capacity_holds.insert().values(booking_id=booking_id, departure_id=dep_id, teu=teu, kg=kg)
        )


def book(
    session: Session,
    state: NetworkState,
    principal: Principal,
    quote_id: str,
    option_id: str,
    shipper: dict[str, Any],
    consignee: dict[str, Any],
    references: list[Any],
    now: datetime,
) -> dict[str, Any]:
    """Book one option of a quote: hold capacity, create the booking and its waybill with PLN milestones."""
    quote = get_quote(session, principal, quote_id)
    option = next((o for o in quote["options"] if o["id"] == option_id), None)
    if option is None:
        raise NotFound(f"option {option_id} is not part of quote {quote_id}")
    if quote["expires_at"] < now:
        raise Conflict(f"quote {quote_id} expired at {quote['expires_at'].isoformat()}; ask for a new one")
    first_departure = parse_time(option["legs"][0]["departure"])
    if first_departure < now:
        raise Conflict("the option's first departure has already left; ask for a new quote")
    cargo = quote["request"]["cargo"]
    booking_id = new_id("bk")
    waybill_no = document_number("XB")
    itinerary = build_itinerary(state.network, option)
    session.execute(
        bookings.insert().values(
            id=booking_id,
            tenant_id=quote["tenant_id"],
            quote_id=quote_id,
            option_id=option_id,
            waybill_no=waybill_no,
            status="BOOKED",
            shipper=shipper,
            consignee=consignee,
            references=references,
            cost_amount=Decimal(option["cost"]["amount"]),
            currency=option["cost"]["currency"],
            created_at=now,
        )
    )
    timetable = state.timetable(now, active(session))
    for leg in option["legs"]:
        dep = leg.get("departure_id")
        if dep and dep in timetable and timetable.get(dep).status == "suspended":
            raise Conflict(f"departure {dep} has been suspended since the quote; ask for a new one")
    hold_capacity(session, timetable, booking_id, option["legs"], cargo["teu"], cargo["weight_kg"])
    deliver_by = quote["request"].get("deliver_by")
    session.execute(
        waybills.insert().values(
            waybill_no=waybill_no,
            tenant_id=quote["tenant_id"],
            booking_id=booking_id,
            kind="shipment",
            status="BOOKED",
            customs_mode=quote["request"]["customs_mode"],
            origin=option["legs"][0]["origin"],
            destination=option["legs"][-1]["destination"],
            itinerary=itinerary,
            cargo=cargo,
            deliver_by=datetime.fromisoformat(deliver_by) if deliver_by else None,
            eta=parse_time(option["arrival"]),
            planned_arrival=parse_time(option["arrival"]),
            position=None,
            last_milestone=None,
            alarms=[],
            created_at=now,
            updated_at=now,
        )
    )
    for m in planned_milestones(itinerary):
        events.append(
            session,
            waybill_no,
            kind="milestone",
            code=m["code"],
            classifier="PLN",
            node_id=m["node_id"],
            event_time=parse_time(m["time"]),
            recorded_time=now,
        )
    events.append(session, waybill_no, kind="status", code="BOOKED", event_time=now, recorded_time=now)
    return {
        "id": booking_id,
        "waybill_no": waybill_no,
        "status": "BOOKED",
        "quote_id": quote_id,
        "option_id": option_id,
        "cost": option["cost"],
    }


def cancel_booking(session: Session, principal: Principal, booking_id: str, now: datetime) -> dict[str, Any]:
    """Cancel a booking that has not been picked up; releases its capacity."""
    row = (
        session.execute(
            select(bookings)
            .where(bookings.c.id == booking_id, _tenant_filter(principal, bookings.c.tenant_id))
            .with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"booking {booking_id} does not exist")
    if row["status"] == "CANCELLED":
        return {"id": booking_id, "waybill_no": row["waybill_no"], "status": "CANCELLED"}
    wb = session.execute(
        select(waybills.c.status).where(waybills.c.waybill_no == row["waybill_no"]).with_for_update()
    ).scalar_one()
    if wb != "BOOKED":
        raise Conflict(f"waybill {row['waybill_no']} is {wb}; only a BOOKED shipment can be cancelled")
    holds = (
        session.execute(
            select(capacity_holds).where(
                capacity_holds.c.booking_id == booking_id, capacity_holds.c.released_at.is_(None)
            )
        )
        .mappings()
        .all()
    )
    for h in holds:
        session.execute(
            update(departure_loads)
            .where(departure_loads.c.departure_id == h["departure_id"])
            .values(
                booked_teu=departure_loads.c.booked_teu - h["teu"],
                booked_kg=departure_loads.c.booked_kg - h["kg"],
            )
        )
        session.execute(update(capacity_holds).where(capacity_holds.c.id == h["id"]).values(released_at=now))
    session.execute(
        update(bookings).where(bookings.c.id == booking_id).values(status="CANCELLED", cancelled_at=now)
    )
    session.execute(
        update(waybills)
        .where(waybills.c.waybill_no == row["waybill_no"])
        .values(status="CANCELLED", updated_at=now)
    )
    events.append(
        session, row["waybill_no"], kind="status", code="CANCELLED", event_time=now, recorded_time=now
    )
    return {"id": booking_id, "waybill_no": row["waybill_no"], "status": "CANCELLED"}
