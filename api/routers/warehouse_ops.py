"""HTTP face of the warehouse floor: picking and partial shipment, expired lots, refurbishment, lists of
inbound notices and returns, delivery runs. Thin: parses, checks roles, calls the warehouse services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import ContainerDep
from api.routers.warehouse import Admin, IdemKey, Operator, _create, _dump
from warehouse import expiry, picking_service
from warehouse import handlers as h

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
    scope, now = h.Scope.of(principal), container.clock.now()
    return _create(
        container,
        principal,
        key,
        f"orders/{order_id}/picks",
        body,
        lambda s: picking_service.pick_order(s, scope, order_id, _dump(body), now),
    )


@router.post("/expiry/run")
def post_expiry_run(container: ContainerDep, principal: Admin) -> dict[str, Any]:
    """Run the expired-lots job now (the scheduler runs it every hour of service time)."""
    with container.db.session() as s:
        return expiry.handle_expired_lots(s, container.clock.now())
