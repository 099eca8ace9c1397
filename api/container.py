"""What one process holds: settings, clock, database, MQTT publisher and the wired ports, as typed fields.

`api.bootstrap.build` is the one place that fills it; this module only declares it, so that every part of
`api` may name the type without importing the composition root (and the composition root without a cycle).
The defaults of the port fields are the inert stand-ins of `warehouse.ports` (a transfer answers 409, no ETA,
no transit times): `build` replaces them with the real adapters, a test may replace them with fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from api.metrics import Metrics
from api.principals import PrincipalCache
from api.scheduler import Job
from api.stream import Broadcaster
from kernel.clock import Clock
from kernel.db import Database
from kernel.mqtt import Communicator
from kernel.settings import Settings
from logistics.customs.filing import CustomsDesk
from logistics.customs.gateway import NoSingleWindow, SingleWindow
from logistics.ingest import Hook
from logistics.network_state import NetworkState
from routing.vrp import CachedMatrix, GeodesicMatrix
from warehouse.geo import GazetteerGeocoder, Geocoder
from warehouse.ports import EtaLookup, NoEta, NoRoutePlanner, NoTransitTimes, ShipmentBooker, TransitTimes


@dataclass
class Container:
    settings: Settings
    clock: Clock
    db: Database
    network_state: NetworkState  # the network and its timetable, loaded on first use
    principal_cache: PrincipalCache
    metrics: Metrics = field(default_factory=Metrics)
    publisher: Communicator | None = None
    mqtt_url: str | None = None
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    shipment_booker: ShipmentBooker = field(default_factory=NoRoutePlanner)
    eta_lookup: EtaLookup = field(default_factory=NoEta)
    transit_times: TransitTimes = field(default_factory=NoTransitTimes)
    ingest_hooks: list[Hook] = field(default_factory=list)
    customs: CustomsDesk | None = None  # None: bookings file no customs declarations
    customs_gateway: SingleWindow = field(default_factory=NoSingleWindow)
    # Delivery runs: places ship-to addresses without lat/lon; road km and drive times, cached per
    # warehouse and day (defaults: the offline gazetteer and the geodesic estimate).
    geocoder: Geocoder = field(default_factory=GazetteerGeocoder)
    travel_matrix: CachedMatrix = field(default_factory=lambda: CachedMatrix(GeodesicMatrix()))
    jobs: list[Job] = field(default_factory=list)
    # Why this process's telemetry ingest is not working (None: it is), when one runs here (`/healthz`).
    ingest_liveness: Callable[[], str | None] | None = None

    def mqtt_ok(self) -> bool:
        connected = getattr(self.publisher, "connected", None)
        return bool(connected) if connected is not None else self.publisher is not None
