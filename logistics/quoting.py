"""Quotes and bookings: plan, hold capacity atomically, create the waybill with its planned milestones.

Commands in, typed results out: `quote(RequestQuote) -> Quote`, `book_shipment(BookShipment) -> Booking`,
`cancel_booking(CancelBooking) -> Cancellation`. Drivers shape a response once through the matching view
(`quote_view`, `booking_view`, `cancellation_view`). A quote keeps its request and options as the JSON
documents of the public contract: a booking is made from the option exactly as the forwarder saw it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.clock import parse_time, rfc3339
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.identity import Principal
from kernel.ids import document_number, new_id
from logistics import events, shipment_facts
from logistics.capacity import capacity_left, hold_capacity, release_capacity
from logistics.disruption_records import active
from logistics.itinerary import build_itinerary, option_json, planned_milestones
from logistics.network_state import NetworkState
from logistics.tables import bookings, quotes, waybills
from routing import errors as routing_errors
from routing.planner import Cargo, Option, QuoteRequest, plan

__all__ = [
    "QUOTE_VALIDITY",
    "READY_AT_GRACE",
    "BookShipment",
    "DepartureLeft",
    "QuoteExpired",
    "Booking",
    "CancelBooking",
    "Cancellation",
    "Quote",
    "RequestQuote",
    "book_shipment",
    "booking_view",
    "cancel_booking",
    "cancellation_view",
    "get_quote",
    "quote",
    "quote_view",
]

QUOTE_VALIDITY = timedelta(hours=48)
# A ready_at this little before the service clock is "now": the client's clock and the request's own time.
# The request's delay is real time, so under XB_CLOCK_SPEED it is that many times longer in service time (at
# 30,000x a tenth of a second is 50 minutes): the grace is the larger of an hour and 30 real seconds.
READY_AT_GRACE = timedelta(hours=1)
READY_AT_GRACE_REAL_SECONDS = 30.0


class QuoteExpired(Conflict):
    """409: the quote (or the option's rate validity) ran out in service time; quote again."""

    title = "Quote expired"
    slug = "quote-expired"


class DepartureLeft(Conflict):
    """409: a departure of the option has passed its cut-off or left; quote again."""

    title = "Departure left"
    slug = "departure-left"


# ------------------------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class RequestQuote:
    """Plan options for one cargo between two places (node ids, UN/LOCODEs or (lat, lon)) and keep them."""

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


# The command's earlier name; same fields in the same order, so positional callers keep working.


@dataclass(frozen=True)
class BookShipment:
    """Book one option of a quote for the shipper and consignee."""

    quote_id: str
    option_id: str
    shipper: Mapping[str, Any] = field(default_factory=dict)
    consignee: Mapping[str, Any] = field(default_factory=dict)
    references: Sequence[Any] = ()


@dataclass(frozen=True)
class CancelBooking:
    """Cancel a booking whose shipment has not been picked up."""

    booking_id: str


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Quote:
    """A stored quote: its request and its options as the contract's JSON documents."""

    id: str
    tenant_id: str
    request: Mapping[str, Any]
    options: Sequence[Mapping[str, Any]]
    expires_at: datetime

    def option(self, option_id: str) -> Mapping[str, Any] | None:
        """The option with this id, if the quote has it."""
        return next((o for o in self.options if o["id"] == option_id), None)


@dataclass(frozen=True)
class Booking:
    """A booked option: its waybill, and what it costs."""

    id: str
    waybill_no: str
    status: str
    quote_id: str
    option_id: str
    cost: Decimal
    currency: str


@dataclass(frozen=True)
class Cancellation:
    """A cancelled booking (cancelling twice gives the same answer)."""

    booking_id: str
    waybill_no: str


# ------------------------------------------------------------------------------------------ views


def quote_view(q: Quote) -> dict[str, Any]:
    """POST /v1/quotes and GET /v1/quotes/{id}."""
    return {
        "id": q.id,
        "expires_at": q.expires_at.isoformat(),
        "request": dict(q.request),
        "options": [dict(o) for o in q.options],
    }


def booking_view(b: Booking) -> dict[str, Any]:
    """POST /v1/bookings."""
    return {
        "id": b.id,
        "waybill_no": b.waybill_no,
        "status": b.status,
        "quote_id": b.quote_id,
        "option_id": b.option_id,
        "cost": {"amount": f"{b.cost:.2f}", "currency": b.currency},
    }


def cancellation_view(c: Cancellation) -> dict[str, Any]:
    """POST /v1/bookings/{id}/cancel."""
    return {"id": c.booking_id, "waybill_no": c.waybill_no, "status": "CANCELLED"}


# ------------------------------------------------------------------------------------------ handlers


def _routing_error(exc: routing_errors.RoutingError) -> InvalidInput:
    extra: dict[str, Any] = {}
    suggestion = getattr(exc, "suggestion", None)
    if suggestion:
        extra["suggestion"] = suggestion
    field_name = getattr(exc, "field", None)
    errors = [{"field": field_name, "message": exc.detail}] if field_name else None
    return InvalidInput(exc.detail, errors=errors, constraint=type(exc).__name__, **extra)


def _place_json(p: str | tuple[float, float]) -> str | dict[str, float]:
    return p if isinstance(p, str) else {"lat": p[0], "lon": p[1]}


def _request_json(cmd: RequestQuote, cargo: Cargo) -> dict[str, Any]:
    """The request as the quote stores it (bookings read the cargo and the customs mode from it)."""
    return {
        "origin": _place_json(cmd.origin),
        "destination": _place_json(cmd.destination),
        "ready_at": cmd.ready_at.isoformat(),
        "deliver_by": cmd.deliver_by.isoformat() if cmd.deliver_by else None,
        "cargo": {
            "weight_kg": cmd.weight_kg,
            "volume_m3": cmd.volume_m3,
            "equipment": cmd.equipment,
            "dangerous_goods": cmd.dangerous_goods,
            "temperature": list(cmd.temperature) if cmd.temperature else None,
            "teu": cargo.teu(),
        },
        "customs_mode": cmd.customs_mode,
    }


def quote(
    session: Session,
    state: NetworkState,
    principal: Principal,
    cmd: RequestQuote,
    now: datetime,
    clock_speed: float = 1.0,
) -> Quote:
    """Plan a Pareto set of options and store them as a quote of the calling tenant."""
    grace = max(READY_AT_GRACE, timedelta(seconds=READY_AT_GRACE_REAL_SECONDS * clock_speed))
    if cmd.ready_at < now - grace:
        raise InvalidInput(
            f"ready_at {cmd.ready_at.isoformat()} is before the service clock ({now.isoformat()}); "
            "quote from now or later",
            errors=[{"field": "ready_at", "message": "is in the past"}],
            constraint="ReadyAtInPast",
        )
    if cmd.deliver_by is not None and cmd.deliver_by <= cmd.ready_at:
        raise InvalidInput(
            "deliver_by must be after ready_at",
            errors=[{"field": "deliver_by", "message": "is not after ready_at"}],
        )
    state.sync(session)
    timetable = state.timetable(min(now, cmd.ready_at), active(session))
    cargo = Cargo(
        weight_kg=cmd.weight_kg,
        volume_m3=cmd.volume_m3,
        equipment=cmd.equipment,
        dangerous_goods=cmd.dangerous_goods,
        temperature=cmd.temperature,
    )
    request = QuoteRequest(
        origin=cmd.origin,
        destination=cmd.destination,
        ready_at=cmd.ready_at,
        deliver_by=cmd.deliver_by,
        cargo=cargo,
        customs_mode=cmd.customs_mode,
        max_options=cmd.max_options,
    )
    try:
        teu_left, kg_left = capacity_left(session, cmd.ready_at)
        # priced with the rate table's rows valid on ready_at: constant within the quote (planner bounds)
        options = plan(state.priced(cmd.ready_at, cargo.equipment), timetable, request, teu_left, kg_left)
    except routing_errors.RoutingError as exc:
        raise _routing_error(exc) from exc
    if not options:
        raise InvalidInput("no feasible route for this cargo and these dates", constraint="NoRoute")
    expires_at = now + QUOTE_VALIDITY
    stored = Quote(
        id=new_id("qt"),
        tenant_id=principal.tenant_id,
        request=_request_json(cmd, cargo),
        options=[{**option_json(o), "expires_at": rfc3339(option_expiry(o, expires_at))} for o in options],
        expires_at=expires_at,
    )
    session.execute(
        quotes.insert().values(
            id=stored.id,
            tenant_id=stored.tenant_id,
            request=stored.request,
            options=stored.options,
            created_at=now,
            expires_at=stored.expires_at,
        )
    )
    return stored


def option_expiry(option: Option, quote_expires_at: datetime) -> datetime:
    """Until when an option can be booked: the quote's validity, or its first leg's cut-off if sooner.

    The plan booked is the plan quoted: a first leg that is a scheduled departure closes at its cut-off, an
    on-demand pickup at its planned time. Later than that the option is another plan; quote again.
    """
    first = option.legs[0]
    return min(quote_expires_at, first.cutoff or first.departure)


def _tenant_filter(principal: Principal, column: Any) -> Any:
    return True if principal.is_admin else column == principal.tenant_id


def _requote_body(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The stored request as a new quote body, ready no earlier than now."""
    body = {k: v for k, v in request.items() if k != "cargo"}
    body["cargo"] = {k: v for k, v in request["cargo"].items() if k != "teu"}
    if parse_time(request["ready_at"]) < now:
        body["ready_at"] = rfc3339(now)
    return body


def get_quote(session: Session, principal: Principal, quote_id: str) -> Quote:
    """The quote, if the caller's tenant owns it (an admin sees every quote)."""
    row = (
        session.execute(
            select(quotes).where(quotes.c.id == quote_id, _tenant_filter(principal, quotes.c.tenant_id))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"quote {quote_id} does not exist")
    return Quote(row["id"], row["tenant_id"], row["request"], row["options"], row["expires_at"])


def book_shipment(
    session: Session, state: NetworkState, principal: Principal, cmd: BookShipment, now: datetime
) -> Booking:
    """Book one option of a quote: hold capacity, create the booking and its waybill with PLN milestones."""
    q = get_quote(session, principal, cmd.quote_id)
    option = q.option(cmd.option_id)
    if option is None:
        raise NotFound(f"option {cmd.option_id} is not part of quote {cmd.quote_id}")
    requote = {"method": "POST", "href": "/v1/quotes", "body": _requote_body(q.request, now)}
    if q.expires_at < now:
        raise QuoteExpired(
            f"quote {q.id} expired at {rfc3339(q.expires_at)}; ask for a new quote", requote=requote
        )
    first_departure = parse_time(option["legs"][0]["departure"])
    if first_departure < now:
        raise DepartureLeft(
            f"the option's first departure left at {rfc3339(first_departure)}; ask for a new quote",
            requote=requote,
        )
    expires = option.get("expires_at")
    if expires is not None and parse_time(expires) < now:
        raise DepartureLeft(
            f"the option's first scheduled departure closed for cargo at {expires}; ask for a new quote",
            requote=requote,
        )
    cargo = q.request["cargo"]
    booked = Booking(
        id=new_id("bk"),
        waybill_no=document_number("XB"),
        status="BOOKED",
        quote_id=q.id,
        option_id=cmd.option_id,
        cost=Decimal(option["cost"]["amount"]),
        currency=option["cost"]["currency"],
    )
    itinerary = build_itinerary(state.network, option)
    session.execute(
        bookings.insert().values(
            id=booked.id,
            tenant_id=q.tenant_id,
            quote_id=q.id,
            option_id=booked.option_id,
            waybill_no=booked.waybill_no,
            status=booked.status,
            shipper=dict(cmd.shipper),
            consignee=dict(cmd.consignee),
            references=list(cmd.references),
            cost_amount=booked.cost,
            currency=booked.currency,
            created_at=now,
        )
    )
    timetable = state.timetable(now, active(session))
    for leg in option["legs"]:
        dep = leg.get("departure_id")
        if dep and dep in timetable and timetable.get(dep).status == "suspended":
            raise Conflict(f"departure {dep} has been suspended since the quote; ask for a new one")
    hold_capacity(session, timetable, booked.id, option["legs"], cargo["teu"], cargo["weight_kg"])
    deliver_by = q.request.get("deliver_by")
    session.execute(
        waybills.insert().values(
            waybill_no=booked.waybill_no,
            tenant_id=q.tenant_id,
            booking_id=booked.id,
            kind="shipment",
            status="BOOKED",
            customs_mode=q.request["customs_mode"],
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
            booked.waybill_no,
            kind="milestone",
            code=m["code"],
            classifier="PLN",
            node_id=m["node_id"],
            event_time=parse_time(m["time"]),
            recorded_time=now,
        )
    events.append(session, booked.waybill_no, kind="status", code="BOOKED", event_time=now, recorded_time=now)
    shipment_facts.refresh(session, [booked.waybill_no])
    return booked


def cancel_booking(session: Session, principal: Principal, cmd: CancelBooking, now: datetime) -> Cancellation:
    """Cancel a booking that has not been picked up; releases its capacity."""
    booking_id = cmd.booking_id
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
    cancelled = Cancellation(booking_id, row["waybill_no"])
    if row["status"] == "CANCELLED":
        return cancelled
    wb = session.execute(
        select(waybills.c.status).where(waybills.c.waybill_no == row["waybill_no"]).with_for_update()
    ).scalar_one()
    if wb != "BOOKED":
        raise Conflict(f"waybill {row['waybill_no']} is {wb}; only a BOOKED shipment can be cancelled")
    release_capacity(session, booking_id, now)
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
    shipment_facts.refresh(session, [row["waybill_no"]])
    return cancelled
