"""HTTP face of the shared overseas-warehouse network: parses, checks roles, calls the warehouse handlers.

The shipment ports come from `container.extras` (`shipment_booker`, `eta_lookup`, `transit_times`); until the
composition root wires the route planner, booking a transfer or a return to origin answers 409.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api import idempotency
from api.bootstrap import Container
from api.deps import ContainerDep, require
from kernel.clock import utc
from kernel.identity import Principal, Role
from warehouse import (
    catalog,
    inbound,
    ledger,
    orders,
    picking_service,
    refurbishment,
    replenishment,
    returns,
    stats,
    stock,
    transfers,
    views,
)
from warehouse.ports import EtaLookup, NoEta, NoRoutePlanner, NoTransitTimes, ShipmentBooker, TransitTimes
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouses"])

Anyone = Annotated[Principal, Depends(require(Role.SELLER, Role.OPERATOR, Role.FORWARDER))]
Admin = Annotated[Principal, Depends(require())]
Seller = Annotated[Principal, Depends(require(Role.SELLER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
SellerOrOperator = Annotated[Principal, Depends(require(Role.SELLER, Role.OPERATOR))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def booker(container: Container) -> ShipmentBooker:
    found: ShipmentBooker = container.extras.get("shipment_booker") or NoRoutePlanner()
    return found


def eta_lookup(container: Container) -> EtaLookup:
    found: EtaLookup = container.extras.get("eta_lookup") or NoEta()
    return found


def transit_times(container: Container) -> TransitTimes:
    found: TransitTimes = container.extras.get("transit_times") or NoTransitTimes()
    return found


# --- bodies -----------------------------------------------------------------------------------------


class WarehouseIn(BaseModel):
    code: str = Field(min_length=1, max_length=12)
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    node_id: str | None = None
    handling_cost: Decimal = Field(default=Decimal("0"), ge=0)
    currency: str = "USD"


class SkuIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    weight_kg: Decimal = Field(gt=0)
    volume_m3: Decimal = Field(gt=0)
    lot_tracked: bool = False
    shelf_life_days: int | None = Field(default=None, gt=0)
    dangerous_goods: bool = False
    unit_value: Decimal | None = Field(default=None, ge=0)
    seller_id: str | None = None


class InboundLine(BaseModel):
    sku: str
    qty: int
    lot: str | None = None
    expires_on: date | None = None


class InboundIn(BaseModel):
    warehouse: str
    waybill_no: str | None = None
    lines: list[InboundLine]
    seller_id: str | None = None


class CountLine(BaseModel):
    sku: str
    qty: int
    lot: str | None = None


class ReceiptIn(BaseModel):
    lines: list[CountLine]


class ShipToIn(BaseModel):
    country: str = Field(min_length=2, max_length=2)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    postcode: str | None = None


class OrderLine(BaseModel):
    sku: str
    qty: int
    unit_price: Decimal | None = Field(default=None, ge=0)


class OrderIn(BaseModel):
    order_ref: str = Field(min_length=1, max_length=80)
    ship_to: ShipToIn
    lines: list[OrderLine]
    currency: str = "USD"
    seller_id: str | None = None


class TransferLine(BaseModel):
    sku: str
    qty: int
    lot: str | None = None


class TransferIn(BaseModel):
    from_warehouse: str
    to_warehouse: str
    lines: list[TransferLine]
    seller_id: str | None = None


class ReturnLine(BaseModel):
    sku: str
    qty: int
    reason: str = ""


class ReturnIn(BaseModel):
    order_id: str
    lines: list[ReturnLine]


class ReturnReceiptLine(BaseModel):
    sku: str
    qty: int
    lot: str | None = None


class ReturnReceiptIn(BaseModel):
    warehouse: str
    lines: list[ReturnReceiptLine]


class InspectionLine(BaseModel):
    sku: str
    qty: int
    grade: Literal["A", "B", "C", "D"]
    lot: str | None = None


class InspectionIn(BaseModel):
    lines: list[InspectionLine]


class ReturnPolicyIn(BaseModel):
    grades: dict[str, str]
    seller_id: str | None = None


class CycleCountIn(BaseModel):
    warehouse: str
    lines: list[CountLine]
    seller_id: str | None = None


def _create(
    container: Container,
    principal: Principal,
    key: str | None,
    scope: str,
    body: BaseModel | dict[str, Any],
    fn: Callable[[Session], dict[str, Any]],
    status: int = 201,
) -> JSONResponse:
    # The body is only hashed when an Idempotency-Key is sent.
    payload = body.model_dump(mode="json") if key and isinstance(body, BaseModel) else body

    def create(session: Session) -> tuple[int, dict[str, Any]]:
        return status, fn(session)

    return idempotency.run(container, principal, key, scope, payload, create)


def _dump(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(mode="python")


def _rma_view(session: Session, scope: Scope, rma: dict[str, Any]) -> dict[str, Any]:
    """A return as every returns endpoint shows it: with its refurbishments."""
    return refurbishment.return_view(session, scope, rma["id"])


# --- warehouses and SKUs ----------------------------------------------------------------------------


@router.post("/warehouses", status_code=201)
def post_warehouse(
    body: WarehouseIn, container: ContainerDep, principal: Admin, key: IdemKey = None
) -> JSONResponse:
    now = container.clock.now()
    return _create(
        container, principal, key, "warehouses", body, lambda s: catalog.create_warehouse(s, _dump(body), now)
    )


@router.get("/warehouses")
def get_warehouses(container: ContainerDep, principal: Anyone) -> list[dict[str, Any]]:
    with container.db.session() as s:
        return views.list_warehouses(s, Scope.of(principal))


@router.post("/skus", status_code=201)
def post_sku(body: SkuIn, container: ContainerDep, principal: Seller, key: IdemKey = None) -> JSONResponse:
    scope = Scope.of(principal)
    now = container.clock.now()
    return _create(
        container,
        principal,
        key,
        "skus",
        body,
        lambda s: catalog.create_sku(s, scope.seller_for_write(body.seller_id), _dump(body), now),
    )


@router.get("/skus")
def get_skus(
    container: ContainerDep, principal: SellerOrOperator, seller_id: str | None = None
) -> list[dict[str, Any]]:
    with container.db.session() as s:
        return views.list_skus(s, Scope.of(principal), seller_id)


# --- inbound ----------------------------------------------------------------------------------------


@router.post("/inbound", status_code=201)
def post_inbound(
    body: InboundIn, container: ContainerDep, principal: Seller, key: IdemKey = None
) -> JSONResponse:
    scope, now, eta = Scope.of(principal), container.clock.now(), eta_lookup(container)
    return _create(
        container,
        principal,
        key,
        "inbound",
        body,
        lambda s: inbound.create_inbound(s, scope, _dump(body), now, eta),
    )


@router.get("/inbound/{inbound_id}")
def get_inbound(inbound_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    with container.db.session() as s:
        return views.get_inbound(s, Scope.of(principal), inbound_id)


@router.post("/inbound/{inbound_id}/receipts", status_code=201)
def post_inbound_receipt(
    inbound_id: str, body: ReceiptIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        f"inbound/{inbound_id}/receipts",
        body,
        lambda s: inbound.receive_inbound(s, scope, inbound_id, _dump(body), now),
    )


# --- inventory and ATP ------------------------------------------------------------------------------


@router.get("/inventory")
def get_inventory(
    container: ContainerDep,
    principal: SellerOrOperator,
    sku: str | None = None,
    warehouse: str | None = None,
    seller_id: str | None = None,
) -> list[dict[str, Any]]:
    with container.db.session() as s:
        return stock.inventory(
            s, Scope.of(principal), sku, warehouse, container.clock.now().date(), seller_id
        )


@router.get("/atp")
def get_atp(
    container: ContainerDep,
    principal: Seller,
    sku: Annotated[str, Query(min_length=1)],
    by: datetime,
    seller_id: str | None = None,
) -> dict[str, Any]:
    """Available to promise by a date: shelf stock plus stock in transit whose live ETA is earlier."""
    with container.db.session() as s:
        return stock.available_to_promise(
            s, Scope.of(principal), sku, utc(by), container.clock.now(), eta_lookup(container), seller_id
        )


# --- orders -----------------------------------------------------------------------------------------


@router.post("/orders", status_code=201)
def post_order(
    body: OrderIn, container: ContainerDep, principal: Seller, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container, principal, key, "orders", body, lambda s: orders.allocate_order(s, scope, _dump(body), now)
    )


@router.get("/orders")
def get_orders(
    container: ContainerDep,
    principal: SellerOrOperator,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    with container.db.session() as s:
        return views.list_orders(s, Scope.of(principal), status, limit)


@router.get("/orders/{order_id}")
def get_order(order_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    with container.db.session() as s:
        return views.get_order(s, Scope.of(principal), order_id)


@router.post("/orders/{order_id}/cancel")
def post_cancel(order_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    """Cancel what has not shipped: the whole order, or the rest of a picked or partly shipped one."""
    with container.db.session() as s:
        return picking_service.cancel_order(s, Scope.of(principal), order_id, container.clock.now())


@router.post("/orders/{order_id}/ship")
def post_ship(order_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    """Ship the whole order, or, once picks are recorded, exactly the picked units (a partial shipment)."""
    with container.db.session() as s:
        return picking_service.ship_order(s, Scope.of(principal), order_id, container.clock.now())


# --- transfers --------------------------------------------------------------------------------------


@router.post("/transfers", status_code=201)
def post_transfer(
    body: TransferIn, container: ContainerDep, principal: Seller, key: IdemKey = None
) -> JSONResponse:
    scope, now, book = Scope.of(principal), container.clock.now(), booker(container)
    return _create(
        container,
        principal,
        key,
        "transfers",
        body,
        lambda s: transfers.create_transfer(s, scope, _dump(body), now, book),
    )


@router.get("/transfers/{transfer_id}")
def get_transfer(transfer_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    with container.db.session() as s:
        return views.get_transfer(s, Scope.of(principal), transfer_id)


@router.post("/transfers/{transfer_id}/receipts", status_code=201)
def post_transfer_receipt(
    transfer_id: str, body: ReceiptIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        f"transfers/{transfer_id}/receipts",
        body,
        lambda s: transfers.receive_transfer(s, scope, transfer_id, _dump(body), now),
    )


# --- returns ----------------------------------------------------------------------------------------


@router.post("/returns", status_code=201)
def post_return(
    body: ReturnIn, container: ContainerDep, principal: Seller, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        "returns",
        body,
        lambda s: _rma_view(s, scope, returns.authorise_return(s, scope, _dump(body), now)),
    )


@router.get("/returns/{rma_id}")
def get_return(rma_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    with container.db.session() as s:
        return refurbishment.return_view(s, Scope.of(principal), rma_id)


@router.post("/returns/{rma_id}/receipts", status_code=201)
def post_return_receipt(
    rma_id: str, body: ReturnReceiptIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        f"returns/{rma_id}/receipts",
        body,
        lambda s: _rma_view(s, scope, returns.receive_return(s, scope, rma_id, _dump(body), now)),
    )


@router.post("/returns/{rma_id}/inspections", status_code=201)
def post_inspection(
    rma_id: str, body: InspectionIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now, book = Scope.of(principal), container.clock.now(), booker(container)
    return _create(
        container,
        principal,
        key,
        f"returns/{rma_id}/inspections",
        body,
        lambda s: _rma_view(s, scope, returns.inspect_return(s, scope, rma_id, _dump(body), now, book)),
    )


@router.post("/returns/{rma_id}/refund")
def post_refund(rma_id: str, container: ContainerDep, principal: Seller) -> JSONResponse:
    """Refund once; a retry answers 200 with the first refund and `already_refunded: true`."""
    with container.db.session() as s:
        created, refund = returns.refund_return(s, Scope.of(principal), rma_id, container.clock.now())
    return JSONResponse(refund, status_code=201 if created else 200)


@router.get("/return-policy")
def get_return_policy(
    container: ContainerDep, principal: Seller, seller_id: str | None = None
) -> dict[str, Any]:
    with container.db.session() as s:
        return returns.get_return_policy(s, Scope.of(principal), seller_id)


@router.put("/return-policy")
def put_return_policy(body: ReturnPolicyIn, container: ContainerDep, principal: Seller) -> dict[str, Any]:
    with container.db.session() as s:
        return returns.set_return_policy(s, Scope.of(principal), body.grades, body.seller_id)


# --- counts, corrections, replenishment, stats ------------------------------------------------------


@router.post("/cycle-counts", status_code=201)
def post_cycle_count(
    body: CycleCountIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        "cycle-counts",
        body,
        lambda s: stock.cycle_count(s, scope, _dump(body), now),
    )


@router.post("/movements/{movement_id}/reverse", status_code=201)
def post_reverse(
    movement_id: str, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        f"movements/{movement_id}/reverse",
        {},
        lambda s: ledger.reverse_movement(s, scope, movement_id, now),
    )


@router.get("/replenishment")
def get_replenishment(container: ContainerDep, principal: SellerOrOperator) -> list[dict[str, Any]]:
    with container.db.session() as s:
        return replenishment.list_replenishment(s, Scope.of(principal))


@router.post("/replenishment/run")
def post_replenishment_run(container: ContainerDep, principal: Admin) -> list[dict[str, Any]]:
    """Run the replenishment job now (the scheduler runs it periodically)."""
    with container.db.session() as s:
        return replenishment.suggest_replenishment(s, container.clock.now(), transit_times(container))


@router.get("/stats/warehouses")
def get_warehouse_stats(container: ContainerDep, principal: SellerOrOperator) -> list[dict[str, Any]]:
    """Volumes per warehouse and month (units and orders shipped) and current stock by zone."""
    with container.db.session() as s:
        return stats.warehouse_stats(s, Scope.of(principal))
