"""Disruptions: the platform's network operator suspends services or departures, closes corridors, adds
delays; bookings re-plan. A warehouse operator's key runs its warehouses and cannot change the network."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.bounds import Instant
from api.deps import ContainerDep, CurrentPrincipal, require
from kernel.identity import Principal, Role
from logistics import disruption_service, network_edits
from logistics.waybills import summaries

router = APIRouter(prefix="/v1", tags=["network disruptions"])
# Every change here reaches every tenant's bookings, quotes and webhooks: the network operator's (or admin's).
NetworkOperator = Annotated[Principal, Depends(require(Role.NETWORK_OPERATOR))]


class DisruptionIn(BaseModel):
    kind: Literal["suspend", "close", "delay"]
    reason: str = Field(min_length=1, max_length=500, examples=["Malaszewicze congestion"])
    service_id: str | None = Field(default=None, max_length=200)
    departure_id: str | None = Field(default=None, max_length=240)
    corridor: str | None = Field(default=None, max_length=200)
    node: str | None = Field(default=None, max_length=40)
    hours: float | None = Field(default=None, gt=0, le=24 * 60)
    starts_at: Instant | None = None
    ends_at: Instant | None = None


@router.post("/disruptions", summary="Declare a disruption", status_code=201)
def declare(body: DisruptionIn, container: ContainerDep, principal: NetworkOperator) -> JSONResponse:
    """Declare a disruption; every booking it hits that has not passed the disrupted point is re-planned."""
    spec = body.model_dump(mode="json", exclude={"kind", "reason"}, exclude_none=True)
    state = container.network_state
    with container.db.session() as session:
        result, replanned = disruption_service.declare(
            session, state, principal, body.kind, spec, body.reason, container.clock.now()
        )
        messages = summaries(session, replanned.changed_waybills)
    if container.publisher is not None:
        root = container.settings.mqtt_topic_root
        for m in messages:
            container.publisher.publish(
                f"{root}/waybills/{m['waybill_no']}/status", json.dumps(m), qos=1, retain=True
            )
    return JSONResponse(result, status_code=201)


class ServiceEdit(BaseModel):
    reason: str = Field(min_length=1, max_length=500, examples=["2027 tariff from the train operator"])
    departures_per_week: float | None = None
    transit_hours: float | None = None
    rate_per_feu: float | None = Field(default=None, description="line-haul USD per 40' container")
    rate_per_kg: float | None = Field(default=None, description="air: USD per chargeable kg")
    capacity_teu: float | None = None
    capacity_kg: float | None = None
    dangerous_goods: bool | None = None
    reefer: bool | None = None


@router.patch("/network/services/{service_id}", summary="Edit a service")
def edit_service(
    service_id: str,
    body: ServiceEdit,
    container: ContainerDep,
    principal: NetworkOperator,
) -> dict[str, Any]:
    """Edit a service's timetable, transit time, rates, capacity or flags; new quotes use it at once."""
    state = container.network_state
    with container.db.session() as session:
        state.sync(session)
        result = network_edits.edit_service(
            session,
            state.network,
            principal,
            service_id,
            body.model_dump(exclude={"reason"}, exclude_none=True),
            body.reason,
            container.clock.now(),
        )
    with container.db.session() as session:
        state.sync(session)
    return result


@router.get(
    "/disruptions",
    summary="List disruptions",
    description="Declared disruptions, active and lifted; any key may read them.",
)
def list_disruptions(
    container: ContainerDep, principal: CurrentPrincipal, all: bool = False
) -> dict[str, Any]:
    with container.db.read_session() as session:
        return {"items": disruption_service.list_disruptions(session, include_lifted=all)}


@router.post("/disruptions/{disruption_id}/lift", summary="Lift a disruption")
def lift(disruption_id: str, container: ContainerDep, principal: NetworkOperator) -> dict[str, Any]:
    """End a disruption: new quotes see the service again (booked re-plans stay as they are)."""
    with container.db.session() as session:
        return disruption_service.lift(session, disruption_id, container.clock.now())
