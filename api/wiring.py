"""Cross-package wiring: what one package's events mean to another. Only the composition root knows both.

- A shipment that reaches the node of an overseas warehouse makes that warehouse expect its receipt
  (`warehouse.inbound.on_shipment_arrived`), in the same transaction as the arrival.
- The warehouse side books transfers and returns to origin, reads live ETAs and asks for transit times
  through ports (`warehouse.ports`); the adapters below serve them from `logistics` and `routing`.
- Customs declarations (`logistics.customs`) learn a node's country from the network and whether a node is
  an overseas warehouse's from `warehouse`; the ingest files them when tracking records a trigger milestone,
  and the scheduler delivers them through the gateway of `XB_CUSTOMS_GATEWAY`.
- Each package's scheduled jobs (`logistics.scheduled`, `warehouse.scheduled`, `kernel.scheduled`) become the
  scheduler's `Job`s.

`api.bootstrap.build` calls these once per process; nothing here imports it.
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.container import Container
from api.scheduler import Job
from kernel.identity import PLATFORM_TENANT_ID, Principal, Role, ensure_platform_tenant
from kernel.scheduled import IDEMPOTENCY_PURGE_EVERY_HOURS, IDEMPOTENCY_PURGE_JOB_ID, idempotency_purge_job
from logistics import quoting, webhook_delivery
from logistics.customs import delivery as customs_delivery
from logistics.customs.filing import CustomsDesk
from logistics.customs.filing import Network as CustomsNetwork
from logistics.customs.gateway import gateway_from_setting
from logistics.ingest import Hook
from logistics.scheduled import (
    OFFLINE_JOB_ID,
    WEBHOOK_EVERY_SECONDS,
    WEBHOOK_JOB_ID,
    offline_job,
    webhook_job,
)
from logistics.tables import waybills
from logistics.tracking_service import Changes
from logistics.webhooks import secret_box
from routing.errors import RoutingError
from routing.planner import Cargo as RoutingCargo
from routing.planner import QuoteRequest, plan
from routing.vrp import CachedMatrix
from warehouse import inbound as warehouse_inbound
from warehouse import tables as warehouse_tables
from warehouse.geo import GeopyGeocoder, OsrmMatrix
from warehouse.ports import Cargo, Progress, TransitOption
from warehouse.scheduled import (
    EXPIRY_EVERY_HOURS,
    EXPIRY_JOB_ID,
    REPLENISHMENT_EVERY_HOURS,
    REPLENISHMENT_JOB_ID,
    expiry_job,
    replenishment_job,
)

PLATFORM = Principal(key_id="platform", tenant_id=PLATFORM_TENANT_ID, role=Role.ADMIN)


def ingest_hooks(container: Container) -> list[Hook]:
    def shipment_arrived(session: Session, changes: Changes) -> None:
        if not (changes.status_changed and changes.arrived_at_node):
            return
        codes = session.execute(
            select(warehouse_tables.warehouses.c.code).where(
                warehouse_tables.warehouses.c.node_id == changes.arrived_at_node
            )
        ).scalars()
        for code in codes:
            warehouse_inbound.on_shipment_arrived(session, changes.waybill_no, code, container.clock.now())

    def customs_milestones(session: Session, changes: Changes) -> None:
        if container.customs is None or not changes.new_milestones:
            return
        codes = {m["code"] for m in changes.new_milestones}
        container.customs.on_milestones(session, changes.waybill_no, codes, container.clock.now())

    return [shipment_arrived, customs_milestones]


def wire_customs(container: Container) -> None:
    """The customs desk (node countries from the network, overseas warehouses from `warehouse`) and the
    single window of `XB_CUSTOMS_GATEWAY`."""

    def country_of(node_id: str) -> str | None:
        node = container.network_state.network.nodes.get(node_id)
        return node.country if node is not None else None

    def is_overseas_warehouse(session: Session, node_id: str) -> bool:
        found = session.execute(
            select(warehouse_tables.warehouses.c.code).where(
                warehouse_tables.warehouses.c.node_id == node_id,
                warehouse_tables.warehouses.c.country != "CN",
            )
        ).first()
        return found is not None

    container.customs = CustomsDesk(CustomsNetwork(country_of, is_overseas_warehouse))
    container.customs_gateway = gateway_from_setting(container.settings.customs_gateway, container.clock.now)


def equipment_for(cargo: Cargo) -> str:
    volume = float(cargo.volume_m3)
    if volume <= 15:
        return "LCL"
    if volume <= 28:
        return "20GP"
    return "40HC"


class PlannerShipmentBooker:
    """Books warehouse transfers and returns to origin as platform shipments through the route planner.

    The container holds it unbound; a unit of work binds it to its transaction (`bound(session)`), so a
    transfer and its booking commit or fail together. Unbound, it refuses rather than open a transaction
    of its own behind the caller's back.
    """

    def __init__(self, container: Container, session: Session | None = None) -> None:
        self.container = container
        self.session = session

    def bound(self, session: Session) -> PlannerShipmentBooker:
        """This booker on the caller's transaction."""
        return PlannerShipmentBooker(self.container, session)

    def book_transfer(
        self, from_node: str, to_node: str, cargo: Cargo, ready_at: datetime, reference: str
    ) -> str:
        session = self.session
        if session is None:
            raise RuntimeError(
                "PlannerShipmentBooker is not bound to a transaction: bind it with bound(session)"
            )
        state = self.container.network_state
        now = self.container.clock.now()
        q = quoting.RequestQuote(
            origin=from_node,
            destination=to_node,
            ready_at=max(ready_at, now),
            deliver_by=None,
            weight_kg=max(1.0, float(cargo.weight_kg)),
            volume_m3=max(0.01, float(cargo.volume_m3)),
            equipment=equipment_for(cargo),
            dangerous_goods=cargo.dangerous_goods,
            temperature=None,
            customs_mode="9810",
            max_options=8,
        )
        ensure_platform_tenant(session, now)
        quote = quoting.quote(session, state, PLATFORM, q, now)
        cheapest = min(quote.options, key=lambda o: Decimal(o["cost"]["amount"]))
        cmd = quoting.BookShipment(quote.id, cheapest["id"], {"name": reference}, {}, [reference])
        return quoting.book_shipment(session, state, PLATFORM, cmd, now).waybill_no


class WaybillEta:
    """Live ETAs of waybills from tracking, read on the caller's transaction once bound (`bound(session)`)."""

    def __init__(self, container: Container, session: Session | None = None) -> None:
        self.container = container
        self.session = session

    def bound(self, session: Session) -> WaybillEta:
        """This lookup on the caller's transaction."""
        return WaybillEta(self.container, session)

    def eta(self, waybill_no: str) -> datetime | None:
        if self.session is None:
            raise RuntimeError("WaybillEta is not bound to a transaction: bind it with bound(session)")
        value: datetime | None = self.session.execute(
            select(waybills.c.eta).where(waybills.c.waybill_no == waybill_no)
        ).scalar()
        return value

    def progress(self, waybill_nos: list[str]) -> dict[str, Progress]:
        if self.session is None:
            raise RuntimeError("WaybillEta is not bound to a transaction: bind it with bound(session)")
        if not waybill_nos:
            return {}
        cols = (waybills.c.waybill_no, waybills.c.status, waybills.c.eta, waybills.c.position)
        rows = self.session.execute(select(*cols).where(waybills.c.waybill_no.in_(waybill_nos))).all()
        return {r.waybill_no: Progress(r.status, r.eta, _where(r.position)) for r in rows}


def _where(position: Any) -> dict[str, float | str] | None:
    """Only where and when of a last position (not the tracker's condition figures)."""
    if not isinstance(position, dict) or position.get("lat") is None:
        return None
    return {k: position[k] for k in ("lat", "lon", "at") if position.get(k) is not None}


class PlannerTransitTimes:
    """Transit options between two nodes from the route planner's network state (no database read)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def hours(self, from_node: str, to_node: str, ready_at: datetime) -> list[TransitOption]:
        state = self.container.network_state
        request = QuoteRequest(
            origin=from_node,
            destination=to_node,
            ready_at=ready_at,
            deliver_by=None,
            cargo=RoutingCargo(weight_kg=1000, volume_m3=5, equipment="LCL"),
            customs_mode="9810",
            max_options=8,
        )
        try:
            options = plan(state.network, state.timetable(ready_at), request)
        except RoutingError:
            return []
        return [
            TransitOption(
                corridor=" + ".join(dict.fromkeys(leg.corridor for leg in o.legs)),
                hours=o.transit_hours,
                cost=o.cost,
                currency=o.currency,
            )
            for o in options
        ]


def wire_warehouse_ports(container: Container) -> None:
    """Serve the warehouse's shipment ports from `logistics` and `routing`."""
    container.shipment_booker = PlannerShipmentBooker(container)
    container.eta_lookup = WaybillEta(container)
    container.transit_times = PlannerTransitTimes(container)
    settings = container.settings
    if settings.geocoder_url:
        container.geocoder = GeopyGeocoder(settings.geocoder_url, settings.geocoder_kind)
    if settings.routing_engine_url:
        container.travel_matrix = CachedMatrix(OsrmMatrix(settings.routing_engine_url))


def scheduled_jobs(container: Container) -> list[Job]:
    """Every package's scheduled jobs, as the scheduler runs them."""
    return logistics_jobs(container) + warehouse_jobs(container) + kernel_jobs(container)


def every_service_hours(container: Container, hours: float) -> float:
    """Seconds of real time between runs of a job due every `hours` of service time: at least a minute,
    however fast the demo clock runs."""
    speed = getattr(container.clock, "speed", 1.0)
    return max(60.0, hours * 3600 / speed)


def logistics_jobs(container: Container) -> list[Job]:
    """Offline trackers, every `XB_SCHEDULER_INTERVAL_SECONDS`; due webhook calls and customs messages, every
    two seconds."""
    # The HTTP client (and its TLS context) is made by the first delivery run: only the scheduler's leader
    # needs one, not every container a process or a test builds.
    sender = functools.cache(
        functools.partial(webhook_delivery.httpx_sender, container.settings.webhook_targets)
    )
    box = secret_box(container.settings.secret_key)
    deliveries = container.metrics.webhook_deliveries

    def offline() -> object:
        return offline_job(container.db, container.clock)

    def customs() -> object:
        return customs_delivery.deliver(container.db, container.clock, container.customs_gateway)

    def webhooks() -> object:
        return webhook_job(
            container.db,
            container.clock,
            sender(),
            box,
            lambda outcome, n: deliveries.labels(outcome=outcome).inc(n),
        )

    return [
        Job(OFFLINE_JOB_ID, container.settings.scheduler_interval_seconds, offline),
        Job(WEBHOOK_JOB_ID, WEBHOOK_EVERY_SECONDS, webhooks),
        Job(customs_delivery.CUSTOMS_JOB_ID, customs_delivery.CUSTOMS_EVERY_SECONDS, customs),
    ]


def warehouse_jobs(container: Container) -> list[Job]:
    """The replenishment suggestions, every few hours of service time; expired lots, every hour."""

    def run() -> object:
        return replenishment_job(container.db, container.clock, container.transit_times)

    def expired() -> object:
        return expiry_job(container.db, container.clock)

    return [
        Job(REPLENISHMENT_JOB_ID, every_service_hours(container, REPLENISHMENT_EVERY_HOURS), run),
        Job(EXPIRY_JOB_ID, every_service_hours(container, EXPIRY_EVERY_HOURS), expired),
    ]


def kernel_jobs(container: Container) -> list[Job]:
    """Expired idempotency answers purged, every hour of service time."""

    def purge() -> object:
        return idempotency_purge_job(container.db, container.clock, container.settings.idempotency_ttl_hours)

    return [
        Job(IDEMPOTENCY_PURGE_JOB_ID, every_service_hours(container, IDEMPOTENCY_PURGE_EVERY_HOURS), purge)
    ]
