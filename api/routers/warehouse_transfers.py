"""HTTP face of transfers between warehouses: shipped with a booked waybill, then counted in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.bounds import QTY_MAX
from api.deps import ContainerDep
from api.routers.warehouse_http import IdemKey, Operator, Seller, SellerOrOperator, create, warehouse_ports
from api.routers.warehouse_inbound import ReceiptIn, counted
from warehouse import transfers, views
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouses"])


class TransferLineIn(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    lot: str | None = Field(default=None, max_length=64)


class TransferIn(BaseModel):
    from_warehouse: str = Field(max_length=12)
    to_warehouse: str = Field(max_length=12)
    lines: list[TransferLineIn]
    seller_id: str | None = Field(default=None, max_length=40)


@router.post(
    "/transfers",
    summary="Transfer stock between warehouses",
    description="Moves stock from one warehouse to another on a waybill of its own.",
    status_code=201,
)
def post_transfer(
    body: TransferIn, container: ContainerDep, principal: Seller, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = transfers.CreateTransfer(
        from_warehouse=body.from_warehouse,
        to_warehouse=body.to_warehouse,
        lines=tuple(transfers.TransferLine(ln.sku, ln.qty, ln.lot) for ln in body.lines),
        seller_id=body.seller_id,
    )
    return create(
        container,
        principal,
        key,
        "transfers",
        body,
        lambda s: views.get_transfer(
            s, scope, transfers.create_transfer(s, scope, cmd, now, warehouse_ports(container, s).booker)
        ),
    )


@router.get(
    "/transfers/{transfer_id}",
    summary="Get a transfer",
    description="The transfer, its lines, its waybill and what was received.",
)
def get_transfer(transfer_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    with container.db.read_session() as s:
        return views.get_transfer(s, Scope.of(principal), transfer_id)


@router.post(
    "/transfers/{transfer_id}/receipts",
    summary="Receive a transfer",
    description="What arrived at the destination warehouse; it becomes sellable there.",
    status_code=201,
)
def post_transfer_receipt(
    transfer_id: str, body: ReceiptIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = transfers.ReceiveTransfer(transfer_id, counted(body.lines))
    return create(
        container,
        principal,
        key,
        f"transfers/{transfer_id}/receipts",
        body,
        lambda s: views.get_transfer(s, scope, transfers.receive_transfer(s, scope, cmd, now)),
    )
