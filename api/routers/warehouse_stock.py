"""HTTP face of stock: inventory, available to promise, cycle counts, reversals and the expired-lots job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.bounds import InstantOrNaive
from api.deps import ContainerDep
from api.routers.warehouse_http import (
    Admin,
    IdemKey,
    Operator,
    Seller,
    SellerOrOperator,
    create,
    warehouse_ports,
)
from api.routers.warehouse_inbound import CountLineIn, counted
from kernel.clock import utc
from warehouse import expiry, ledger, stock, views
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouses"])


class CycleCountIn(BaseModel):
    warehouse: str = Field(max_length=12)
    lines: list[CountLineIn]
    seller_id: str | None = Field(default=None, max_length=40)


@router.get(
    "/inventory",
    summary="Stock levels",
    description=(
        "One row per warehouse, SKU and lot: on hand, reserved, available, quarantine and in transit."
    ),
)
def get_inventory(
    container: ContainerDep,
    principal: SellerOrOperator,
    sku: str | None = None,
    warehouse: str | None = None,
    seller_id: str | None = None,
) -> list[dict[str, Any]]:
    today = container.clock.now().date()
    with container.db.read_session() as s:
        return stock.inventory(s, Scope.of(principal), sku, warehouse, today, seller_id)


@router.get("/atp", summary="Available to promise")
def get_atp(
    container: ContainerDep,
    principal: Seller,
    sku: Annotated[str, Query(min_length=1)],
    by: InstantOrNaive,
    seller_id: str | None = None,
) -> dict[str, Any]:
    """Available to promise by a date: shelf stock plus stock in transit whose live ETA is earlier."""
    with container.db.read_session() as s:
        eta = warehouse_ports(container, s).eta
        return stock.available_to_promise(
            s, Scope.of(principal), sku, utc(by), container.clock.now(), eta, seller_id
        )


@router.post(
    "/cycle-counts",
    summary="Record a cycle count",
    description=("What was counted on the shelf; differences are booked to the ledger as adjustments."),
    status_code=201,
)
def post_cycle_count(
    body: CycleCountIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = stock.CycleCount(body.warehouse, counted(body.lines), body.seller_id)
    return create(
        container,
        principal,
        key,
        "cycle-counts",
        body,
        lambda s: views.cycle_count_view(stock.cycle_count(s, scope, cmd, now)),
    )


@router.post(
    "/movements/{movement_id}/reverse",
    summary="Reverse a stock movement",
    description="Books the opposite movement; the ledger is append-only, so nothing is deleted.",
    status_code=201,
)
def post_reverse(
    movement_id: str, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = ledger.ReverseMovement(movement_id)
    return create(
        container,
        principal,
        key,
        f"movements/{movement_id}/reverse",
        {},
        lambda s: views.reversal_view(ledger.reverse_movement(s, scope, cmd, now), movement_id),
    )


@router.post("/expiry/run", summary="Run the expiry job now")
def post_expiry_run(
    container: ContainerDep,
    principal: Admin,
    batch_size: Annotated[int, Query(ge=1, le=10_000)] = expiry.BATCH_SIZE,
) -> dict[str, Any]:
    """Run the expired-lots job now, committing every `batch_size` orders (the scheduler runs it every
    hour of service time)."""
    return expiry.run_expiry(container.db, container.clock.now(), batch_size)
