"""Shared event data in a common standard: DCSA Track & Trace v2.2 events (logistics.dcsa_events).

A forwarder gets its own shipments' events, a seller or an operator those of the shipments its inbound
notices name, the regulator and the admin every tenant's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import ContainerDep, require
from kernel.identity import Principal, Role
from logistics import dcsa_events
from warehouse import stats as warehouse_stats
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["shared events (DCSA)"])
EventReader = Annotated[
    Principal, Depends(require(Role.REGULATOR, Role.FORWARDER, Role.SELLER, Role.OPERATOR))
]
DCSA_VERSION = "2.2.0"


@router.get("/events", response_model=None, summary="Shipment events in the DCSA Track & Trace v2.2 shape")
def get_events(
    request: Request,
    container: ContainerDep,
    principal: EventReader,
    eventType: Annotated[
        str | None, Query(max_length=100, description="SHIPMENT,TRANSPORT,EQUIPMENT")
    ] = None,
    transportEventTypeCode: Annotated[str | None, Query(max_length=100)] = None,
    equipmentEventTypeCode: Annotated[str | None, Query(max_length=100)] = None,
    transportDocumentReference: Annotated[str | None, Query(max_length=40, description="our waybill")] = None,
    carrierBookingReference: Annotated[str | None, Query(max_length=40, description="our booking id")] = None,
    UNLocationCode: Annotated[str | None, Query(max_length=5)] = None,
    transportCallID: Annotated[str | None, Query(max_length=100)] = None,
    eventCreatedDateTime: Annotated[
        str | None, Query(max_length=40, description="also `eventCreatedDateTime:gte|gt|lte|lt|eq`")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=4000)] = None,
) -> JSONResponse:
    """Events of the shipments the caller may see, as DCSA Track & Trace v2.2 TRANSPORT and EQUIPMENT
    events, with DCSA's filters and cursor pagination (`Next-Page` header)."""
    if cursor:
        position = dcsa_events.Cursor.decode(cursor)
    else:
        params = {k: v for k, v in request.query_params.items() if len(v) <= 200}
        position = dcsa_events.Cursor(0, limit, dcsa_events.parse_filter(params))
    with container.db.read_session() as s:
        tenant: str | None = None
        waybills: list[str] | None = None
        if principal.role in (Role.SELLER, Role.OPERATOR):
            waybills = warehouse_stats.inbound_waybills(s, Scope.of(principal))
        elif principal.role not in (Role.ADMIN, Role.REGULATOR):
            tenant = principal.tenant_id
        page = dcsa_events.list_events(s, tenant, waybills, position)
    headers = {"API-Version": DCSA_VERSION, "Current-Page": page.current}
    if page.next:
        headers["Next-Page"] = page.next
    if cursor:
        headers["First-Page"] = dcsa_events.Cursor(0, position.limit, position.filter).encode()
    return JSONResponse(page.events, headers=headers)
