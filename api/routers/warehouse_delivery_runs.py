"""HTTP face of delivery runs: plan a warehouse's day of van deliveries, list and read the runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import ContainerDep
from api.routers.warehouse_http import IdemKey, Operator, create
from warehouse import delivery_runs
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouse floor"])


class VanIn(BaseModel):
    id: str = Field(min_length=1, max_length=40)
    capacity_kg: float = Field(gt=0, le=100_000, allow_inf_nan=False)  # a van: finite, at most 100 t
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


@router.post("/warehouses/{code}/delivery-runs", summary="Plan a delivery run", status_code=201)
def post_delivery_run(
    code: str, body: DeliveryRunIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    """Plan the warehouse's delivery run for a day from its picked and shipped orders and the returns to
    collect; every order is routed or listed unserved with its reason (`replan: true` plans a day that has a
    run again, keeping the old run as superseded)."""
    scope, now = Scope.of(principal), container.clock.now()
    cmd = delivery_runs.PlanDeliveryRun(
        warehouse=code,
        date=body.date,
        vans=None
        if body.vans is None
        else tuple(delivery_runs.VanSpec(v.id, v.capacity_kg, v.shift_start, v.shift_end) for v in body.vans),
        time_limit_s=body.time_limit_s,
        replan=body.replan,
    )
    return create(
        container,
        principal,
        key,
        f"warehouses/{code}/delivery-runs",
        body,
        lambda s: delivery_runs.planned_run_view(
            s,
            scope,
            delivery_runs.plan_run(
                s,
                scope,
                cmd,
                now,
                geocoder=container.geocoder,
                matrix=container.travel_matrix.for_key((code, body.date)),
            ),
        ),
    )


@router.get(
    "/warehouses/{code}/delivery-runs",
    summary="List a warehouse's delivery runs",
    description="The warehouse's delivery runs, newest day first, with their stops and vehicles.",
)
def get_delivery_runs(
    code: str, container: ContainerDep, principal: Operator, date: dt.date | None = None
) -> list[dict[str, Any]]:
    with container.db.read_session() as s:
        return delivery_runs.list_runs(s, Scope.of(principal), code, date)


@router.get(
    "/warehouses/{code}/delivery-candidates",
    summary="Orders and returns waiting for a delivery run",
    description="What is waiting for a run of the day (on no current run): where each is, or why it cannot "
    "be placed, and why it rolled over from an earlier day's run.",
)
def get_delivery_candidates(
    code: str, container: ContainerDep, principal: Operator, date: dt.date
) -> list[dict[str, Any]]:
    """The orders and returns waiting for a run of the day (on no current run): where each is (or why it
    cannot be placed) and why it rolled over from an earlier day's run."""
    with container.db.read_session() as s:
        return delivery_runs.candidate_view(s, Scope.of(principal), code, date, container.geocoder)


@router.get(
    "/delivery-runs/{run_id}",
    summary="Get a delivery run",
    description="One run: vehicles, stops in visiting order with arrival times and load, distance, duration, "
    "and the orders and returns it could not take, with the reason.",
)
def get_delivery_run(run_id: str, container: ContainerDep, principal: Operator) -> dict[str, Any]:
    with container.db.read_session() as s:
        return delivery_runs.get_run(s, Scope.of(principal), run_id)
