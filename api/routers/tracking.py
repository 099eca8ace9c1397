"""Waybills, trackers, the event log, the live stream and webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, BaseModel, Field, HttpUrl
from sqlalchemy.orm import Session

from api import idempotency
from api.bounds import Instant
from api.deps import ContainerDep, Tenant, require
from api.places import name_places
from kernel.errors import NotFound
from kernel.identity import Principal, Role
from logistics import alarm_acks, devices, events, reading_history, waybills, webhooks
from logistics.alarm_acks import AcknowledgeAlarm
from logistics.waybills import require_visible
from logistics.webhooks import RegisterWebhook, WebhookEvent

router = APIRouter(prefix="/v1", tags=["waybills and tracking"])
Shipper = Annotated[Principal, Depends(require(Role.FORWARDER))]


class DeviceIn(BaseModel):
    device_id: str = Field(min_length=1, max_length=64)
    kind: Literal["container", "truck", "parcel", "pallet", "reefer"] = "container"
    report_interval_s: int = Field(default=1800, ge=10, le=86_400)


class TrackerIn(BaseModel):
    device_id: str = Field(min_length=1, max_length=64)


def _fits_url_column(url: HttpUrl) -> HttpUrl:
    # Checked after normalisation (percent-encoding, punycode), as stored in webhooks.url (VARCHAR(2000)).
    if len(str(url)) > 2000:
        raise ValueError("URL must have at most 2000 characters")
    return url


class WebhookIn(BaseModel):
    url: Annotated[HttpUrl, AfterValidator(_fits_url_column)]
    events: list[WebhookEvent] = Field(min_length=1)
    secret: str = Field(
        min_length=16, max_length=200, description="shared secret for the HMAC-SHA256 signature"
    )


@router.get(
    "/waybills",
    summary="List waybills",
    description=(
        "The caller's waybills, filtered by `status`, `destination` or `customs_mode`, "
        'paginated: `{"items": [...], "next": cursor | null}`.'
    ),
)
def list_waybills(
    container: ContainerDep,
    principal: Tenant,
    status: str | None = None,
    destination: str | None = None,
    customs_mode: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    with container.db.read_session() as session:
        page = waybills.list_waybills(
            session,
            principal,
            status=status,
            destination=destination,
            customs_mode=customs_mode,
            limit=limit,
            cursor=cursor,
        )
    return name_places(page, container.network_state.network.nodes)


@router.get(
    "/waybills/{waybill_no}",
    summary="Track a waybill",
    description=(
        "Status, milestones (planned, estimated, actual), last position, ETA and alarms of one shipment."
    ),
)
def get_waybill(waybill_no: str, container: ContainerDep, principal: Tenant) -> dict[str, Any]:
    with container.db.read_session() as session:
        waybill = waybills.get_waybill(session, principal, waybill_no)
    return name_places(waybill, container.network_state.network.nodes)


@router.get(
    "/waybills/{waybill_no}/events",
    summary="A waybill's event log",
    description="The append-only log of everything that happened to the shipment, oldest first.",
)
def waybill_events(
    waybill_no: str,
    container: ContainerDep,
    principal: Tenant,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict[str, Any]:
    with container.db.read_session() as session:
        require_visible(session, principal, waybill_no)
        items = events.list_events(session, waybill_no, after, limit)
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.get(
    "/waybills/{waybill_no}/readings",
    summary="A waybill's stored readings",
    description="Positions and conditions (temperature, humidity, shock, battery) of the shipment's "
    'trackers, oldest first, paginated: `{"items": [...], "next": cursor | null}`.',
)
def waybill_readings(
    waybill_no: str,
    container: ContainerDep,
    principal: Tenant,
    since: Annotated[Instant | None, Query(alias="from", description="from this event time on")] = None,
    until: Annotated[Instant | None, Query(alias="to", description="before this event time")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The waybill's stored readings, oldest first: position and the condition figures the tracker sent
    (`temp_c`, `humidity_pct`, `shock_g`, `door_open`, `battery_pct`, `speed_kmh`), `quarantine` the reason a
    reading was not trusted for the track (else null). `{"items", "next"}`: pass `next` as `cursor`."""
    query = reading_history.ReadingsQuery(waybill_no, since, until, limit, cursor)
    with container.db.read_session() as session:
        return reading_history.readings_page(session, principal, query)


AlarmKind = Literal[
    "temperature", "shock", "door", "battery", "offline", "delay", "replan", "customs_rejected"
]


class AcknowledgeIn(BaseModel):
    raised_at: str | None = Field(
        default=None,
        max_length=40,
        description="which open alarm of the kind (its raised_at); default the latest",
    )
    assignee: str | None = Field(
        default=None, max_length=100, description="whom it is assigned to: a name or an API key id, free text"
    )
    note: str | None = Field(default=None, max_length=500)


@router.post("/waybills/{waybill_no}/alarms/{kind}/acknowledge", summary="Acknowledge and assign an alarm")
def acknowledge_alarm(
    waybill_no: str, kind: AlarmKind, body: AcknowledgeIn, container: ContainerDep, principal: Shipper
) -> dict[str, Any]:
    """Acknowledge an open alarm of the waybill and optionally assign it, with a note (again: updates both).
    The alarm answers carry `acknowledged`, `assignee`; one that clears and is raised again starts
    unacknowledged. 409 if the waybill has no such open alarm."""
    command = AcknowledgeAlarm(waybill_no, kind, body.raised_at, body.assignee, body.note)
    with container.db.session() as session:
        return alarm_acks.acknowledge(session, principal, command, container.clock.now())


def _public_broker_url(url: str | None) -> str | None:
    """The broker's URL without its user and password (the service's own account stays private)."""
    if not url:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


@router.get(
    "/broker",
    summary="Where trackers publish",
    description="The MQTT broker this service consumes telemetry from (no credentials: a tracker logs in "
    "with those `POST /v1/devices` gave it), and the topics. `xborder simulate` asks here when it is not "
    "told which broker to use; `url` is null when the process was started without a broker.",
)
def get_broker(container: ContainerDep, _principal: Tenant) -> dict[str, Any]:
    url = _public_broker_url(container.mqtt_url or container.settings.mqtt_url)
    root = container.settings.mqtt_topic_root
    return {
        "url": url,
        "protocol": None if url is None else ("3.1.1" if url.startswith("mqtt311:") else "5"),
        "telemetry_topic": f"{root}/devices/{{device_id}}/telemetry",
        "status_topic": f"{root}/devices/{{device_id}}/status",
    }


@router.post("/devices", summary="Register a tracker", status_code=201)
def post_device(
    body: DeviceIn,
    container: ContainerDep,
    principal: Shipper,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Register a tracker; returns its MQTT credentials. The password is shown once: a replay with the same
    `Idempotency-Key` answers without `password`, with the header `Secret-Withheld: password`."""

    def create(session: Session) -> tuple[int, dict[str, Any]]:
        return 201, devices.register(
            session,
            principal,
            body.device_id,
            body.kind,
            body.report_interval_s,
            container.clock.now(),
            service_users=frozenset({container.settings.mqtt_service_user}),
        )

    return idempotency.run(
        container,
        principal,
        idempotency_key,
        "devices",
        body.model_dump(mode="json"),
        create,
        secrets=("password",),
    )


@router.get(
    "/devices/{device_id}",
    summary="Get a tracker",
    description=(
        "A registered tracker: its kind, reporting interval, the waybill it is attached "
        "to and when it was last heard."
    ),
)
def get_device(device_id: str, container: ContainerDep, principal: Shipper) -> dict[str, Any]:
    with container.db.read_session() as session:
        return devices.get_device(session, principal, device_id)


@router.post(
    "/waybills/{waybill_no}/trackers",
    summary="Attach a tracker to a waybill",
    description=("From now on the tracker's telemetry moves this shipment's status, milestones and ETA."),
    status_code=201,
)
def attach_tracker(
    waybill_no: str, body: TrackerIn, container: ContainerDep, principal: Shipper
) -> dict[str, Any]:
    with container.db.session() as session:
        return devices.attach(session, principal, waybill_no, body.device_id, container.clock.now())


@router.delete(
    "/waybills/{waybill_no}/trackers/{device_id}",
    summary="Detach a tracker",
    description="The tracker stops reporting for this shipment and may be attached to another.",
    status_code=204,
)
def detach_tracker(waybill_no: str, device_id: str, container: ContainerDep, principal: Shipper) -> None:
    with container.db.session() as session:
        devices.detach(session, principal, waybill_no, device_id, container.clock.now())


@router.post("/webhooks", summary="Subscribe a webhook", status_code=201)
def post_webhook(
    body: WebhookIn,
    container: ContainerDep,
    principal: Tenant,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Subscribe a URL to waybill events; each delivery carries `X-Xborder-Signature: sha256=<hex HMAC>`
    and `X-Xborder-Timestamped-Signature: t=<unix>,v1=<hex HMAC of "t.body">`; internal hosts are refused."""

    command = RegisterWebhook(principal.tenant_id, str(body.url), tuple(body.events), body.secret)

    def create(session: Session) -> tuple[int, dict[str, Any]]:
        settings = container.settings
        box = webhooks.secret_box(settings.secret_key)
        targets = settings.webhook_targets
        hook_id = webhooks.register_webhook(session, command, container.clock.now(), targets, box)
        return 201, {"id": hook_id, "url": command.url, "events": list(command.events)}

    return idempotency.run(
        container, principal, idempotency_key, "webhooks", body.model_dump(mode="json"), create
    )


@router.get("/webhooks", summary="List webhooks", description="The tenant's webhooks (never their secrets).")
def list_webhooks(container: ContainerDep, principal: Tenant) -> dict[str, Any]:
    with container.db.read_session() as session:
        found = webhooks.list_webhooks(session, principal.tenant_id)
    return {
        "items": [{"id": w.id, "url": w.url, "events": list(w.events), "active": w.active} for w in found]
    }


@router.get(
    "/stream",
    summary="Live updates (SSE)",
    response_class=StreamingResponse,
    responses={200: {"description": "Server-Sent Events", "content": {"text/event-stream": {}}}},
)
async def stream(request: Request, container: ContainerDep, principal: Tenant) -> StreamingResponse:
    """Server-Sent Events: `waybill.status` for every change of a waybill the caller may see."""
    broadcaster = container.broadcaster
    sub = broadcaster.subscribe()
    allowed: dict[str, bool] = {}

    def may_see(waybill_no: str) -> bool:
        if principal.role is Role.ADMIN:
            return True
        if waybill_no not in allowed:
            with container.db.read_session() as session:
                try:
                    require_visible(session, principal, waybill_no)
                    allowed[waybill_no] = True
                except NotFound:
                    allowed[waybill_no] = False
        return allowed[waybill_no]

    async def gen() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while True:
                if await request.is_disconnected():
                    break
                try:
                    event = await asyncio.wait_for(sub[1].get(), timeout=15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                data = event["data"]
                # The first look-up per waybill reads the database: off the event loop.
                if await asyncio.to_thread(may_see, str(data.get("waybill_no"))):
                    yield f"event: {event['event']}\ndata: {json.dumps(data)}\n\n"
        finally:
            broadcaster.unsubscribe(sub)

    return StreamingResponse(gen(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
