"""The composition root: the only module that wires settings, clock, database, MQTT and handlers together."""

from __future__ import annotations

import logging

from api.container import Container
from api.principals import PrincipalCache
from api.wiring import ingest_hooks, scheduled_jobs, wire_customs, wire_warehouse_ports
from kernel.clock import Clock, ScaledClock
from kernel.db import Database, make_engine
from kernel.settings import Settings
from logistics.network_state import NetworkState

__all__ = ["build"]  # `Container` is declared in `api.container`, where every module takes it from

log = logging.getLogger(__name__)


def build(settings: Settings, *, clock: Clock | None = None, db: Database | None = None) -> Container:
    """The process's container with every port and job wired; a test may swap a field afterwards."""
    settings.check_production()
    clock = clock or ScaledClock(settings.clock_speed, settings.clock_start)
    db = db or Database(make_engine(settings.database_url))
    container = Container(
        settings=settings,
        clock=clock,
        db=db,
        network_state=NetworkState(
            weeks=settings.horizon_weeks,
            network_file=settings.network_file,
            rate_table_file=settings.rate_table,
        ),
        principal_cache=PrincipalCache(settings.auth_cache_seconds),
        mqtt_url=settings.mqtt_url,
    )
    wire_warehouse_ports(container)
    wire_customs(container)
    container.ingest_hooks = ingest_hooks(container)
    container.jobs = scheduled_jobs(container)
    return container
