"""HTTP face of the warehouse floor: picking and partial shipment, expired lots, refurbishment, lists of
inbound notices and returns, delivery runs. Thin: parses, checks roles, calls the warehouse services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import ContainerDep
from api.routers.warehouse import Admin, IdemKey, Operator, SellerOrOperator, _create, _dump
from warehouse import delivery_runs, expiry, listings, picking_service, refurbishment
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouse floor"])


class PickLine(BaseModel):
    sku: str
    qty: int
    warehouse: str | None = None
    line_no: int | None = Field(default=None, ge=1)


class PickIn(BaseModel):
    lines: list[PickLine]


@router.post("/orders/{order_id}/picks", status_code=201)
def post_pick(
    order_id: str, body: PickIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    """Record units picked for an order (a line or part of one); a later ship takes exactly these."""
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        f"orders/{order_id}/picks",
        body,
        lambda s: picking_service.pick_order(s, scope, order_id, _dump(body), now),
    )


@router.post("/expiry/run")
def post_expiry_run(
    container: ContainerDep,
    principal: Admin,
    batch_size: Annotated[int, Query(ge=1, le=10_000)] = expiry.BATCH_SIZE,
) -> dict[str, Any]:
    """Run the expired-lots job now, committing every `batch_size` orders (the scheduler runs it every
    hour of service time)."""
    return expiry.run_expiry(container.db, container.clock.now(), batch_size)


# --- refurbishment and the lists of inbound notices and returns ------------------------------------


class RefurbishedLine(BaseModel):
    sku: str
    qty: int
    outcome: Literal["restock", "dispose"]
    warehouse: str | None = None
    lot: str | None = None


class RefurbishmentIn(BaseModel):
    lines: list[RefurbishedLine]


@router.post("/returns/{rma_id}/refurbishments", status_code=201)
def post_refurbishment(
    rma_id: str, body: RefurbishmentIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    """Finish units of a return that were graded for refurbishment: restock as sellable, or dispose."""
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        f"returns/{rma_id}/refurbishments",
        body,
        lambda s: refurbishment.finish_refurbishment(s, scope, rma_id, _dump(body), now),
    )


Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/inbound")
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
    with container.db.session() as s:
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


@router.get("/returns")
def get_return_list(
    container: ContainerDep,
    principal: SellerOrOperator,
    status: str | None = None,
    order_id: str | None = None,
    warehouse: str | None = None,
    seller_id: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Return authorisations the caller may see, newest first: `{"items", "next"}`."""
    with container.db.session() as s:
        return listings.list_returns(
            s,
            Scope.of(principal),
            status=status,
            order_id=order_id,
            warehouse=warehouse,
            seller_id=seller_id,
            limit=limit,
            cursor=cursor,
        )


# --- delivery runs ----------------------------------------------------------------------------------


class VanIn(BaseModel):
    id: str = Field(min_length=1, max_length=40)
    capacity_kg: float = Field(gt=0)
    shift_start: dt.time | None = Field(default=None, description="UTC; default 08:00")
    shift_end: dt.time | None = Field(default=None, description="UTC; default 18:00")


class DeliveryRunIn(BaseModel):
    date: dt.date
    vans: list[VanIn] | None = Field(
        default=None, description="default: two vans of 1,000 kg, 08:00-18:00 UTC"
    )
    time_limit_s: float | None = Field(default=None, gt=0, le=delivery_runs.MAX_TIME_LIMIT_S)
    replan: bool = Field(
        default=False,
        description="plan the day again: the current run is kept, marked superseded by the new one",
    )


@router.post("/warehouses/{code}/delivery-runs", status_code=201)
def post_delivery_run(
    code: str, body: DeliveryRunIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    """Plan the warehouse's delivery run for a day from its picked and shipped orders with a position
    (`replan: true` plans a day that has a run again, keeping the old run as superseded)."""
    scope, now = Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        f"warehouses/{code}/delivery-runs",
        body,
        lambda s: delivery_runs.plan_run(s, scope, code, _dump(body), now),
    )


@router.get("/warehouses/{code}/delivery-runs")
def get_delivery_runs(
    code: str, container: ContainerDep, principal: Operator, date: dt.date | None = None
) -> list[dict[str, Any]]:
    with container.db.session() as s:
        return delivery_runs.list_runs(s, Scope.of(principal), code, date)


@router.get("/delivery-runs/{run_id}")
def get_delivery_run(run_id: str, container: ContainerDep, principal: Operator) -> dict[str, Any]:
    with container.db.session() as s:
        return delivery_runs.get_run(s, Scope.of(principal), run_id)
