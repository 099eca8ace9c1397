"""The composition root: the only module that wires settings, clock, database, MQTT and handlers together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.metrics import Metrics
from kernel.clock import Clock, ScaledClock
from kernel.db import Database, make_engine
from kernel.mqtt import Communicator
from kernel.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    clock: Clock
    db: Database
    metrics: Metrics = field(default_factory=Metrics)
    publisher: Communicator | None = None
    mqtt_url: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Why this process's telemetry ingest is not working (None: it is), when one runs here (`/healthz`).
    ingest_liveness: Callable[[], str | None] | None = None

    def mqtt_ok(self) -> bool:
        connected = getattr(self.publisher, "connected", None)
        return bool(connected) if connected is not None else self.publisher is not None


def build(settings: Settings, *, clock: Clock | None = None, db: Database | None = None) -> Container:
    settings.check_production()
    clock = clock or ScaledClock(settings.clock_speed, settings.clock_start)
    db = db or Database(make_engine(settings.database_url))
    container = Container(settings=settings, clock=clock, db=db, mqtt_url=settings.mqtt_url)
    from api.wiring import warehouse_jobs, wire_warehouse_ports  # the wiring needs the container type

    wire_warehouse_ports(container)
    container.extras["jobs"] = warehouse_jobs(container)
    return container
