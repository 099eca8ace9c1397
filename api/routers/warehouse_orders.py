"""HTTP face of orders: allocation, picks, shipment (whole or partial) and cancellation."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.bounds import INT32_MAX, MONEY_MAX, QTY_MAX
from api.deps import ContainerDep
from api.routers.warehouse_http import IdemKey, Operator, Seller, SellerOrOperator, create
from warehouse import listings, orders, picking_service, views
from warehouse.picking import PickRequest
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouses"])


class ShipToIn(BaseModel):
    country: str = Field(min_length=2, max_length=2)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    postcode: str | None = Field(default=None, max_length=32)
    city: str | None = Field(
        default=None, min_length=1, max_length=80, description="places the address for delivery runs"
    )


class OrderLineIn(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    unit_price: Decimal | None = Field(default=None, ge=0, le=MONEY_MAX)


class OrderIn(BaseModel):
    order_ref: str = Field(min_length=1, max_length=80)
    ship_to: ShipToIn
    lines: list[OrderLineIn]
    currency: str = Field(default="USD", max_length=3)
    seller_id: str | None = Field(default=None, max_length=40)


class PickLine(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    warehouse: str | None = Field(default=None, max_length=12)
    line_no: int | None = Field(default=None, ge=1, le=INT32_MAX)


class PickIn(BaseModel):
    lines: list[PickLine]


def allocate_command(body: OrderIn) -> orders.AllocateOrder:
    """The allocation command of an order body."""
    st = body.ship_to
    return orders.AllocateOrder(
        order_ref=body.order_ref,
        ship_to=orders.OrderAddress(st.country, st.lat, st.lon, st.postcode, st.city),
        lines=tuple(orders.OrderLine(ln.sku, ln.qty, ln.unit_price) for ln in body.lines),
        currency=body.currency,
        seller_id=body.seller_id,
    )


@router.post(
    "/orders",
    summary="Place an order",
    description=(
        "Allocates the order to the best warehouses and reserves the stock, or answers "
        "409 `insufficient-stock` and reserves nothing."
    ),
    status_code=201,
)
def post_order(
    body: OrderIn, container: ContainerDep, principal: Seller, key: IdemKey = None
) -> JSONResponse:
    scope, now, cmd = Scope.of(principal), container.clock.now(), allocate_command(body)
    return create(
        container,
        principal,
        key,
        "orders",
        body,
        lambda s: views.allocated_order_view(orders.allocate_order(s, scope, cmd, now)),
    )


@router.get("/orders", summary="List orders")
def get_orders(
    container: ContainerDep,
    principal: SellerOrOperator,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """`{"items": [...], "next": cursor | null}`: pass `next` as `cursor` for the following page."""
    with container.db.read_session() as s:
        return listings.list_orders(s, Scope.of(principal), status=status, limit=limit, cursor=cursor)


@router.get(
    "/orders/{order_id}",
    summary="Get an order",
    description=("The order, its lines and allocations, and the explanation of where it was allocated."),
)
def get_order(order_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    with container.db.read_session() as s:
        return views.get_order(s, Scope.of(principal), order_id)


@router.post("/orders/{order_id}/cancel", summary="Cancel an order")
def post_cancel(order_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    """Cancel what has not shipped: the whole order, or the rest of a picked or partly shipped one."""
    scope = Scope.of(principal)
    with container.db.session() as s:
        cancelled = orders.cancel_order(s, scope, orders.CancelOrder(order_id), container.clock.now())
        return views.get_order(s, scope, cancelled)


@router.post("/orders/{order_id}/ship", summary="Ship an order")
def post_ship(order_id: str, container: ContainerDep, principal: Operator) -> dict[str, Any]:
    """Ship the whole order, or, once picks are recorded, exactly the picked units (a partial shipment).

    The floor's work: only the warehouse's operator ships (a seller orders and cancels, never ships)."""
    scope = Scope.of(principal)
    with container.db.session() as s:
        shipped = orders.ship_order(s, scope, orders.ShipOrder(order_id), container.clock.now())
        return views.get_order(s, scope, shipped)


@router.post("/orders/{order_id}/picks", summary="Record picks", status_code=201)
def post_pick(
    order_id: str, body: PickIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    """Record units picked for an order (a line or part of one); a later ship takes exactly these."""
    scope, now = Scope.of(principal), container.clock.now()
    cmd = picking_service.PickOrder(
        order_id, tuple(PickRequest(ln.sku, ln.qty, ln.warehouse, ln.line_no) for ln in body.lines)
    )
    return create(
        container,
        principal,
        key,
        f"orders/{order_id}/picks",
        body,
        lambda s: views.get_order(s, scope, picking_service.pick_order(s, scope, cmd, now)),
    )
