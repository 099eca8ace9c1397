"""Quotes and bookings: the forwarder's HTTP face of `logistics.quoting`."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from api import idempotency
from api.bounds import Instant
from api.deps import ContainerDep, require
from api.places import name_places
from kernel.identity import Principal, Role
from logistics import quoting
from logistics.customs.declaration import CustomsData

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


class EnterpriseIn(BaseModel):
    code: str = Field(max_length=18, description="customs registration code (10) or USCC (18)")
    name: str = Field(min_length=1, max_length=100)


class MoneyIn(BaseModel):
    amount: Decimal = Field(gt=0, le=Decimal("1e12"), max_digits=17, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217: CNY, USD, EUR, GBP, JPY, HKD")


class GoodsLineIn(BaseModel):
    hs_code: str = Field(max_length=10, description="10-digit China tariff code, e.g. 0902109000")
    description: str = Field(min_length=1, max_length=100)
    quantity: Decimal = Field(gt=0, le=Decimal("1e9"), max_digits=14, decimal_places=4)
    unit: str = Field(min_length=1, max_length=10, description="unit of quantity, e.g. kg, pcs")
    value: MoneyIn = Field(description="declared value with its currency")


class ParcelIn(BaseModel):
    logistics_no: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    gross_weight_kg: Decimal = Field(gt=0, le=Decimal("100000"), max_digits=14, decimal_places=5)
    packages: int = Field(default=1, ge=1, le=100_000)
    goods: list[GoodsLineIn] = Field(min_length=1, max_length=100)


class CustomsIn(BaseModel):
    """What the customs declarations of the booking need (omit it: nothing is filed for the waybill)."""

    ecommerce_enterprise: EnterpriseIn
    platform: EnterpriseIn | None = None
    logistics_enterprise: EnterpriseIn
    declaration_customs: str = Field(max_length=4, description="customs office of declaration, 4 digits")
    exit_customs: str = Field(max_length=4, description="customs office of the exit point, 4 digits")
    supervision_site: str | None = Field(default=None, max_length=10, description="supervised site code")
    consignee_country: str = Field(min_length=2, max_length=2, description="ISO 3166 alpha-2")
    gross_weight_kg: Decimal = Field(gt=0, le=Decimal("500000"), max_digits=14, decimal_places=5)
    net_weight_kg: Decimal = Field(gt=0, le=Decimal("500000"), max_digits=14, decimal_places=5)
    packages: int = Field(ge=1, le=1_000_000)
    goods: list[GoodsLineIn] = Field(default_factory=list, max_length=100)
    vehicle: str | None = Field(default=None, max_length=100, description="train, vessel or flight")
    voyage: str | None = Field(default=None, max_length=32)
    # A consolidation's parcels: its arrival and departure lists go out in messages of 100 rows each; 1000
    # bounds a request (each parcel files a waybill message of its own).
    parcels: list[ParcelIn] = Field(
        default_factory=list, max_length=1000, description="9610 only; lists of more than 100 are split"
    )


class BookingIn(BaseModel):
    quote_id: str = Field(max_length=40)
    option_id: str = Field(max_length=80)
    shipper: dict[str, Any] = Field(default_factory=dict)
    consignee: dict[str, Any] = Field(default_factory=dict)
    references: list[Any] = Field(default_factory=list)
    customs: CustomsIn | None = None


@router.post("/quotes", summary="Quote routes out of Yibin", status_code=201)
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
        return 201, name_places(quoting.quote_view(q), state.network.nodes)

    return idempotency.run(
        container, principal, idempotency_key, "quotes", body.model_dump(mode="json"), create
    )


@router.get(
    "/quotes/{quote_id}",
    summary="Get a quote",
    description="A quote and its options, as `POST /v1/quotes` answered it, with `expires_at`.",
)
def get_quote(quote_id: str, container: ContainerDep, principal: Forwarder) -> dict[str, Any]:
    with container.db.read_session() as session:
        q = quoting.get_quote(session, principal, quote_id)
    return name_places(quoting.quote_view(q), container.network_state.network.nodes)


@router.post("/bookings", summary="Book a quoted option", status_code=201)
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
        now = container.clock.now()
        booked = quoting.book_shipment(session, state, principal, cmd, now)
        if container.customs is not None and body.customs is not None:
            customs = CustomsData.from_json(body.customs.model_dump(mode="json"))
            container.customs.declare(session, booked.waybill_no, customs, now)
        return 201, quoting.booking_view(booked)

    return idempotency.run(
        container, principal, idempotency_key, "bookings", body.model_dump(mode="json"), create
    )


@router.post(
    "/bookings/{booking_id}/cancel",
    summary="Cancel a booking",
    description=(
        "Only a shipment still `BOOKED` can be cancelled; its capacity on the departures is released."
    ),
)
def cancel_booking(booking_id: str, container: ContainerDep, principal: Forwarder) -> dict[str, Any]:
    with container.db.session() as session:
        now = container.clock.now()
        cancelled = quoting.cancel_booking(session, principal, quoting.CancelBooking(booking_id), now)
        if container.customs is not None:
            container.customs.cancel(session, cancelled.waybill_no, now)
    return quoting.cancellation_view(cancelled)
