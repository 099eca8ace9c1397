"""HTTP face of returns: authorisation, receipt, inspection, refurbishment, refund and the seller's policy.

Every returns endpoint answers with one view, `warehouse.views.get_return`, built once.
"""

from __future__ import annotations

from typing import Any, Literal

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
from warehouse import listings, refurbishment, returns, views
from warehouse.counting import CountLine
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["warehouses"])


class ReturnLineIn(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    reason: str = Field(default="", max_length=200)


class ReturnIn(BaseModel):
    order_id: str = Field(max_length=40)
    lines: list[ReturnLineIn]


class ReturnReceiptLine(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    lot: str | None = Field(default=None, max_length=64)


class ReturnReceiptIn(BaseModel):
    warehouse: str = Field(max_length=12)
    lines: list[ReturnReceiptLine]


class InspectionLine(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    grade: Literal["A", "B", "C", "D"]
    lot: str | None = Field(default=None, max_length=64)


class InspectionIn(BaseModel):
    lines: list[InspectionLine]


class ReturnPolicyIn(BaseModel):
    grades: dict[str, str]
    seller_id: str | None = Field(default=None, max_length=40)


class RefurbishedLine(BaseModel):
    sku: str = Field(max_length=64)
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    outcome: Literal["restock", "dispose"]
    warehouse: str | None = Field(default=None, max_length=12)
    lot: str | None = Field(default=None, max_length=64)


class RefurbishmentIn(BaseModel):
    lines: list[RefurbishedLine]


@router.post(
    "/returns",
    summary="Authorise a return",
    description="A return authorisation (RMA) for units of a shipped order.",
    status_code=201,
)
def post_return(
    body: ReturnIn, container: ContainerDep, principal: Seller, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = returns.AuthoriseReturn(
        body.order_id, tuple(returns.ReturnLine(ln.sku, ln.qty, ln.reason) for ln in body.lines)
    )
    return create(
        container,
        principal,
        key,
        "returns",
        body,
        lambda s: views.get_return(s, scope, returns.authorise_return(s, scope, cmd, now)),
    )


@router.get(
    "/returns/{rma_id}",
    summary="Get a return",
    description="The RMA, what was received and graded, and the dispositions.",
)
def get_return(rma_id: str, container: ContainerDep, principal: SellerOrOperator) -> dict[str, Any]:
    with container.db.read_session() as s:
        return views.get_return(s, Scope.of(principal), rma_id)


@router.post(
    "/returns/{rma_id}/receipts",
    summary="Receive a return",
    description="What came back to the warehouse against the RMA.",
    status_code=201,
)
def post_return_receipt(
    rma_id: str, body: ReturnReceiptIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = returns.ReceiveReturn(
        rma_id, body.warehouse, tuple(CountLine(ln.sku, ln.qty, ln.lot) for ln in body.lines)
    )
    return create(
        container,
        principal,
        key,
        f"returns/{rma_id}/receipts",
        body,
        lambda s: views.get_return(s, scope, returns.receive_return(s, scope, cmd, now)),
    )


@router.post(
    "/returns/{rma_id}/inspections",
    summary="Grade a return",
    description=(
        "Grades A-D per line; each grade gives a disposition (restock, refurbish, "
        "quarantine, dispose, return to origin)."
    ),
    status_code=201,
)
def post_inspection(
    rma_id: str, body: InspectionIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    scope, now = Scope.of(principal), container.clock.now()
    cmd = returns.InspectReturn(
        rma_id, tuple(returns.InspectionLine(ln.sku, ln.qty, ln.grade, ln.lot) for ln in body.lines)
    )
    return create(
        container,
        principal,
        key,
        f"returns/{rma_id}/inspections",
        body,
        lambda s: views.get_return(
            s, scope, returns.inspect_return(s, scope, cmd, now, warehouse_ports(container, s).booker)
        ),
    )


@router.post("/returns/{rma_id}/refurbishments", summary="Finish refurbishment", status_code=201)
def post_refurbishment(
    rma_id: str, body: RefurbishmentIn, container: ContainerDep, principal: Operator, key: IdemKey = None
) -> JSONResponse:
    """Finish units of a return that were graded for refurbishment: restock as sellable, or dispose."""
    scope, now = Scope.of(principal), container.clock.now()
    cmd = refurbishment.FinishRefurbishment(
        rma_id,
        tuple(
            refurbishment.RefurbishedLine(ln.sku, ln.qty, ln.outcome, ln.warehouse, ln.lot)
            for ln in body.lines
        ),
    )
    return create(
        container,
        principal,
        key,
        f"returns/{rma_id}/refurbishments",
        body,
        lambda s: views.get_return(s, scope, refurbishment.finish_refurbishment(s, scope, cmd, now)),
    )


@router.post("/returns/{rma_id}/refund", summary="Refund a return")
def post_refund(rma_id: str, container: ContainerDep, principal: Seller) -> JSONResponse:
    """Refund once; a retry answers 200 with the first refund and `already_refunded: true`."""
    with container.db.session() as s:
        refund = returns.refund_return(
            s, Scope.of(principal), returns.RefundReturn(rma_id), container.clock.now()
        )
    return JSONResponse(views.refund_view(refund), status_code=201 if refund.created else 200)


@router.get("/returns", summary="List returns")
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
    with container.db.read_session() as s:
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


@router.get(
    "/return-policy",
    summary="Get the return policy",
    description="The seller's rules: return window, grades and what each grade's units become.",
)
def get_return_policy(
    container: ContainerDep, principal: Seller, seller_id: str | None = None
) -> dict[str, Any]:
    with container.db.read_session() as s:
        return views.get_return_policy(s, Scope.of(principal), seller_id)


@router.put(
    "/return-policy", summary="Set the return policy", description="Replaces the seller's return policy."
)
def put_return_policy(body: ReturnPolicyIn, container: ContainerDep, principal: Seller) -> dict[str, Any]:
    scope = Scope.of(principal)
    with container.db.session() as s:
        seller = returns.set_return_policy(s, scope, returns.SetReturnPolicy(body.grades, body.seller_id))
        return views.get_return_policy(s, scope, seller)
