"""Quotes and bookings: the forwarder's HTTP face of `logistics.quoting`."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from api import idempotency
from api.bounds import Instant
from api.deps import ContainerDep, require
from kernel.identity import Principal, Role
from logistics import quoting

router = APIRouter(prefix="/v1", tags=["quotes and bookings"])
Forwarder = Annotated[Principal, Depends(require(Role.FORWARDER))]


class LatLon(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CargoIn(BaseModel):
    weight_kg: float = Field(gt=0, le=500_000, description="gross weight, kg")
    volume_m3: float = Field(gt=0, le=2_000, description="volume, m3")
    equipment: Literal["LCL", "20GP", "40GP", "40HC", "40RF", "AIR"]
    dangerous_goods: bool = False
    temperature: tuple[float, float] | None = Field(
        default=None, description="required range in degC, [min, max], for reefer cargo"
    )

    @field_validator("temperature")
    @classmethod
    def _range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and v[0] > v[1]:
            raise ValueError("temperature range must be [min, max] with min <= max")
        return v


class QuoteIn(BaseModel):
    origin: Annotated[str, Field(max_length=40)] | LatLon  # a node id or UN/LOCODE (waybills.origin: 40)
    destination: Annotated[str, Field(max_length=40)] | LatLon
    ready_at: Instant
    deliver_by: Instant | None = None
    cargo: CargoIn
    customs_mode: Literal["9610", "9710", "9810", "1210"]
    max_options: int = Field(default=8, ge=1, le=20)


def _place(p: str | LatLon) -> str | tuple[float, float]:
    return p if isinstance(p, str) else (p.lat, p.lon)


class BookingIn(BaseModel):
    quote_id: str = Field(max_length=40)
    option_id: str = Field(max_length=80)
    shipper: dict[str, Any] = Field(default_factory=dict)
    consignee: dict[str, Any] = Field(default_factory=dict)
    references: list[Any] = Field(default_factory=list)


@router.post("/quotes", status_code=201)
def post_quote(
    body: QuoteIn,
    container: ContainerDep,
    principal: Forwarder,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Plan a Pareto set of options over cost, arrival and CO2e between any two places of the network."""
    state = container.network_state
    cmd = quoting.RequestQuote(
        origin=_place(body.origin),
        destination=_place(body.destination),
        ready_at=body.ready_at,
        deliver_by=body.deliver_by,
        weight_kg=body.cargo.weight_kg,
        volume_m3=body.cargo.volume_m3,
        equipment=body.cargo.equipment,
        dangerous_goods=body.cargo.dangerous_goods,
        temperature=body.cargo.temperature,
        customs_mode=body.customs_mode,
        max_options=body.max_options,
    )

    def create(session: Session) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        try:
            speed = float(getattr(container.clock, "speed", 1.0))
            q = quoting.quote(session, state, principal, cmd, container.clock.now(), speed)
        finally:
            container.metrics.quote_seconds.observe(time.perf_counter() - started)
        return 201, quoting.quote_view(q)

    return idempotency.run(
        container, principal, idempotency_key, "quotes", body.model_dump(mode="json"), create
    )


@router.get("/quotes/{quote_id}")
def get_quote(quote_id: str, container: ContainerDep, principal: Forwarder) -> dict[str, Any]:
    with container.db.read_session() as session:
        q = quoting.get_quote(session, principal, quote_id)
    return quoting.quote_view(q)


@router.post("/bookings", status_code=201)
def post_booking(
    body: BookingIn,
    container: ContainerDep,
    principal: Forwarder,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Book one option of a quote; consumes capacity on its departures (409 when one is full)."""
    state = container.network_state
    cmd = quoting.BookShipment(
        quote_id=body.quote_id,
        option_id=body.option_id,
        shipper=body.shipper,
        consignee=body.consignee,
        references=body.references,
    )

    def create(session: Session) -> tuple[int, dict[str, Any]]:
        booked = quoting.book_shipment(session, state, principal, cmd, container.clock.now())
        return 201, quoting.booking_view(booked)

    return idempotency.run(
        container, principal, idempotency_key, "bookings", body.model_dump(mode="json"), create
    )


@router.post("/bookings/{booking_id}/cancel")
def cancel_booking(booking_id: str, container: ContainerDep, principal: Forwarder) -> dict[str, Any]:
    with container.db.session() as session:
        cancelled = quoting.cancel_booking(
            session, principal, quoting.CancelBooking(booking_id), container.clock.now()
        )
    return quoting.cancellation_view(cancelled)
