"""HTTP face of the warehouse catalogue: the network's warehouses and the sellers' SKUs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.bounds import MONEY_MAX
from api.deps import ContainerDep
from api.routers.warehouse_http import Admin, Anyone, IdemKey, Seller, SellerOrOperator, create
from warehouse import catalog, views
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouses"])


class WarehouseIn(BaseModel):
    code: str = Field(min_length=1, max_length=12)
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    node_id: str | None = Field(default=None, max_length=40)
    handling_cost: Decimal = Field(default=Decimal("0"), ge=0, le=MONEY_MAX)
    currency: str = Field(default="USD", max_length=3)


class SkuIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    weight_kg: Decimal = Field(gt=0, le=1_000_000)  # kg per unit: NUMERIC(12, 3)
    volume_m3: Decimal = Field(gt=0, le=10_000)  # m3 per unit: NUMERIC(12, 4)
    lot_tracked: bool = False
    shelf_life_days: int | None = Field(default=None, gt=0, le=36_500)
    dangerous_goods: bool = False
    unit_value: Decimal | None = Field(default=None, ge=0, le=MONEY_MAX)
    seller_id: str | None = Field(default=None, max_length=40)


@router.post(
    "/warehouses",
    summary="Add a warehouse",
    description=(
        "An overseas warehouse of the shared network: code, name, country, position and "
        "the network node it is served from."
    ),
    status_code=201,
)
def post_warehouse(
    body: WarehouseIn, container: ContainerDep, principal: Admin, key: IdemKey = None
) -> JSONResponse:
    now = container.clock.now()
    cmd = catalog.CreateWarehouse(
        code=body.code,
        name=body.name,
        country=body.country,
        lat=Decimal(str(body.lat)),
        lon=Decimal(str(body.lon)),
        node_id=body.node_id,
        handling_cost=body.handling_cost,
        currency=body.currency,
    )
    return create(
        container,
        principal,
        key,
        "warehouses",
        body,
        lambda s: views.get_warehouse(s, catalog.create_warehouse(s, cmd, now)),
    )


@router.get("/warehouses", summary="List warehouses", description="The shared network's warehouses.")
def get_warehouses(container: ContainerDep, principal: Anyone) -> list[dict[str, Any]]:
    with container.db.read_session() as s:
        return views.list_warehouses(s, Scope.of(principal))


@router.post(
    "/skus",
    summary="Add a SKU",
    description=(
        "A product of the calling seller (an admin names `seller_id`): weight, volume, "
        "lot tracking and shelf life."
    ),
    status_code=201,
)
def post_sku(body: SkuIn, container: ContainerDep, principal: Seller, key: IdemKey = None) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = catalog.CreateSku(
        seller_id=scope.seller_for_write(body.seller_id),
        sku=body.sku,
        name=body.name,
        weight_kg=body.weight_kg,
        volume_m3=body.volume_m3,
        lot_tracked=body.lot_tracked,
        shelf_life_days=body.shelf_life_days,
        dangerous_goods=body.dangerous_goods,
        unit_value=body.unit_value,
    )
    return create(
        container, principal, key, "skus", body, lambda s: views.get_sku(s, catalog.create_sku(s, cmd, now))
    )


@router.get(
    "/skus", summary="List SKUs", description="The calling seller's SKUs (an admin's: every seller's)."
)
def get_skus(
    container: ContainerDep, principal: SellerOrOperator, seller_id: str | None = None
) -> list[dict[str, Any]]:
    with container.db.read_session() as s:
        return views.list_skus(s, Scope.of(principal), seller_id)
