"""HTTP face of replenishment suggestions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ContainerDep
from api.routers.warehouse_http import Admin, SellerOrOperator, warehouse_ports
from warehouse import replenishment
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouses"])


@router.get(
    "/replenishment",
    summary="Replenishment suggestions",
    description=(
        "Per SKU and warehouse: when stock runs out at the current sales rate and by when to ship more."
    ),
)
def get_replenishment(container: ContainerDep, principal: SellerOrOperator) -> list[dict[str, Any]]:
    with container.db.read_session() as s:
        return replenishment.list_replenishment(s, Scope.of(principal))


@router.post("/replenishment/run", summary="Run replenishment now")
def post_replenishment_run(container: ContainerDep, principal: Admin) -> list[dict[str, Any]]:
    """Run the replenishment job now (the scheduler runs it periodically)."""
    with container.db.session() as s:
        transit = warehouse_ports(container, s).transit
        return replenishment.suggest_replenishment(s, container.clock.now(), transit)
