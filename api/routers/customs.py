"""Customs declarations: a waybill's messages to the single window, a message's XML, receipts posted back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, Tenant, require
from api.routers.shipments import CustomsIn
from kernel.errors import Conflict
from kernel.identity import Principal, Role
from logistics.customs import filing, views
from logistics.customs.declaration import CustomsData
from logistics.waybills import require_visible

router = APIRouter(prefix="/v1", tags=["customs"])
Forwarder = Annotated[Principal, Depends(require(Role.FORWARDER))]

RECEIPT_EXAMPLE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ceb:CEB506Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="..." version="1.0">'
    "<ceb:LogisticsReturn><ceb:guid>(the message id)</ceb:guid><ceb:logisticsCode>...</ceb:logisticsCode>"
    "<ceb:returnStatus>120</ceb:returnStatus><ceb:returnTime>20270301120000000</ceb:returnTime>"
    "<ceb:returnInfo>...</ceb:returnInfo></ceb:LogisticsReturn></ceb:CEB506Message>"
)


@router.get("/waybills/{waybill_no}/customs", summary="A waybill's customs declarations")
def get_waybill_customs(waybill_no: str, container: ContainerDep, principal: Tenant) -> dict[str, Any]:
    """The waybill's customs mode and its declarations (CEB505/507/509, or a 1210 import's CEB511/513) in
    filing order, with their status, trigger milestone and receipt."""
    with container.db.read_session() as session:
        return views.waybill_customs(session, principal, waybill_no)


@router.put("/waybills/{waybill_no}/customs", summary="Correct a waybill's customs data")
def put_waybill_customs(
    waybill_no: str, body: CustomsIn, container: ContainerDep, principal: Forwarder
) -> dict[str, Any]:
    """Correct the waybill's customs data (after a rejection, say): the waybill messages are filed again as
    corrections (appType 2); a waybill booked without customs data is declared now."""
    if container.customs is None:
        raise Conflict("customs declarations are not wired in this process")
    with container.db.session() as session:
        require_visible(session, principal, waybill_no)
        data = CustomsData.from_json(body.model_dump(mode="json"))
        container.customs.correct(session, waybill_no, data, container.clock.now())
        return views.waybill_customs(session, principal, waybill_no)


@router.get(
    "/customs/messages/{message_id}",
    summary="One customs declaration as filed (XML)",
    response_class=Response,
    responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
def get_customs_message(message_id: str, container: ContainerDep, principal: Tenant) -> Response:
    """One declaration as filed: the XML in the namespace http://www.chinaport.gov.cn/ceb."""
    with container.db.read_session() as session:
        xml = views.message_xml(session, principal, message_id)
    return Response(content=xml, media_type="application/xml")


@router.post(
    "/customs/receipts",
    summary="Apply a single window receipt",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": {"type": "string"}, "example": RECEIPT_EXAMPLE}},
        }
    },
)
async def post_customs_receipt(
    request: Request, container: ContainerDep, principal: Forwarder
) -> dict[str, Any]:
    """Apply a single window receipt (CEB506/508/510/512/514) to the message it answers: 120 accepts it,
    100 rejects it and raises a `customs_rejected` alarm on the waybill."""
    body = await request.body()
    tenant = None if principal.role is Role.ADMIN else principal.tenant_id

    def apply() -> filing.ReceiptApplied:
        with container.db.session() as session:
            return filing.apply_receipt(session, body, container.clock.now(), visible_to=tenant)

    applied = await run_in_threadpool(apply)  # the database is synchronous: off the event loop
    return {"message_id": applied.message_id, "waybill_no": applied.waybill_no, "status": applied.status}
