"""HTTP face of inbound: advance shipping notices, their list, and receipts against the count."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.bounds import QTY_MAX
from api.deps import ContainerDep
from api.routers.warehouse_http import (
    IdemKey,
    Limit,
    Operator,
    Seller,
    SellerOrOperator,
    create,
    warehouse_ports,
)
from warehouse import inbound, incoming, listings, views
from warehouse.counting import CountLine
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouses"])


class InboundLineIn(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    lot: str | None = Field(default=None, max_length=64)
    expires_on: date | None = None


class InboundIn(BaseModel):
    warehouse: str = Field(max_length=12)
    waybill_no: str | None = Field(default=None, max_length=40)
    lines: list[InboundLineIn]
    seller_id: str | None = Field(default=None, max_length=40)


class CountLineIn(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    lot: str | None = Field(default=None, max_length=64)


class ReceiptIn(BaseModel):
    lines: list[CountLineIn]


def counted(lines: list[CountLineIn]) -> tuple[CountLine, ...]:
    """The counted lines of a receipt or count body."""
    return tuple(CountLine(ln.sku, ln.qty, ln.lot) for ln in lines)


@router.post(
    "/inbound",
    summary="Announce an inbound shipment",
    description=(
        "An advance shipping notice: what is coming to which warehouse, optionally on which waybill."
    ),
    status_code=201,
)
def post_inbound(
    body: InboundIn, container: ContainerDep, principal: Seller, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = inbound.CreateInbound(
        warehouse=body.warehouse,
        lines=tuple(inbound.InboundLine(ln.sku, ln.qty, ln.lot, ln.expires_on) for ln in body.lines),
        waybill_no=body.waybill_no,
        seller_id=body.seller_id,
    )
    return create(
        container,
        principal,
        key,
        "inbound",
        body,
        lambda s: views.get_inbound(
            s, scope, inbound.create_inbound(s, scope, cmd, now, warehouse_ports(container, s).eta)
        ),
    )


@router.get(
    "/inbound/{inbound_id}",
    summary="Get an inbound notice",
    description="The notice, its lines and what was received against them.",
)
def get_inbound(inbound_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    with container.db.read_session() as s:
        return views.get_inbound(s, Scope.of(principal), inbound_id)


@router.post(
    "/inbound/{inbound_id}/receipts",
    summary="Receive an inbound shipment",
    description=(
        "What the warehouse counted: stock is booked in, discrepancies are kept and "
        "surplus goes to quarantine."
    ),
    status_code=201,
)
def post_inbound_receipt(
    inbound_id: str, body: ReceiptIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = inbound.ReceiveInbound(inbound_id, counted(body.lines))
    return create(
        container,
        principal,
        key,
        f"inbound/{inbound_id}/receipts",
        body,
        lambda s: views.inbound_receipt_view(s, scope, inbound.receive_inbound(s, scope, cmd, now)),
    )


@router.get("/inbound", summary="List inbound notices")
def get_inbound_list(
    container: ContainerDep,
    principal: SellerOrOperator,
    status: str | None = None,
    warehouse: str | None = None,
    waybill_no: str | None = None,
    seller_id: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Advance shipping notices the caller may see, newest first: `{"items", "next"}`."""
    with container.db.read_session() as s:
        return listings.list_inbound(
            s,
            Scope.of(principal),
            status=status,
            warehouse=warehouse,
            waybill_no=waybill_no,
            seller_id=seller_id,
            limit=limit,
            cursor=cursor,
        )


@router.get("/warehouses/{code}/incoming", summary="Containers heading to a warehouse")
def get_incoming(code: str, container: ContainerDep, principal: Operator) -> dict[str, Any]:
    """Containers heading to the warehouse: its open inbound notices and transfers, each with the shipment's
    status, live ETA and last position (no more of the shipper's waybill), soonest first."""
    with container.db.read_session() as session:
        ports = warehouse_ports(container, session)
        return incoming.incoming(session, Scope.of(principal), code, ports.eta)
