"""Process orchestration: the broker, the MQTT clients, the ingest, the scheduler and the HTTP server."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from api.broker_access import DeviceBrokerAccess, ServiceAccount
from api.container import Container
from kernel.broker import EmbeddedBroker, free_port, port_is_free
from kernel.db import Database, make_engine
from kernel.mqtt import BrokerAddress, PahoCommunicator, wait_for_broker
from kernel.settings import Settings
from logistics.ingest import TelemetryIngest
from logistics.tracking.derive import rules_for_clock_speed

log = logging.getLogger(__name__)


@dataclass
class BrokerChoice:
    url: str  # never with the service's password: it is printed and handed to the simulator
    embedded: EmbeddedBroker | None
    message: str
    service: ServiceAccount | None = None  # the service's own clients log in with it (unless `url` has one)
    access_db: Database | None = None  # the embedded broker's own connection pool for device logins
    access: DeviceBrokerAccess | None = None  # the embedded broker's gate (its refusals go to the metrics)

    def address(self) -> BrokerAddress:
        """Where the service's own clients connect, with the service account's credentials."""
        address = BrokerAddress.parse(self.url)
        if address.username is None and self.service is not None:
            address = replace(address, username=self.service.username, password=self.service.password)
        return address

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
        if self.access_db is not None:
            self.access_db.engine.dispose()


def _without_password(url: str) -> str:
    u = urlparse(url)
    if u.password is None:
        return url
    return u._replace(netloc=f"{u.username}:***@{u.hostname}:{u.port or 1883}").geturl()


def choose_broker(settings: Settings) -> BrokerChoice:
    """`XB_MQTT_URL` if set; else the embedded broker on `XB_MQTT_EMBEDDED_PORT` (or a broker found there).

    The embedded broker lets in the service account (XB_MQTT_SERVICE_PASSWORD, else a random password made
    now) and the registered devices with their own passwords, under the same ACL as Mosquitto's files.
    """
    configured = (
        ServiceAccount(settings.mqtt_service_user, settings.mqtt_service_password)
        if settings.mqtt_service_password
        else None
    )
    if settings.mqtt_url:
        return BrokerChoice(
            settings.mqtt_url, None, f"MQTT broker: {_without_password(settings.mqtt_url)}", configured
        )
    host, port = "127.0.0.1", settings.mqtt_embedded_port
    if not port_is_free(host, port):
        for scheme in ("mqtt", "mqtt311"):
            url = f"{scheme}://{host}:{port}"
            found = BrokerChoice(url, None, "", configured)
            if wait_for_broker(found.address(), timeout=3):
                found.message = f"MQTT broker: using the broker already listening on {host}:{port}"
                return found
        port = free_port(host)
        note = f"port {settings.mqtt_embedded_port} is taken by something that is not an MQTT broker; "
    else:
        note = ""
    service = configured or ServiceAccount.from_settings(settings)
    access_db = Database(make_engine(settings.database_url))
    access = DeviceBrokerAccess.build(access_db, service, settings.mqtt_topic_root)
    try:
        broker = EmbeddedBroker(host, port, access=access).start()
    except BaseException:
        access_db.engine.dispose()
        raise
    return BrokerChoice(
        broker.url,
        broker,
        f"MQTT broker: {note}embedded broker on {host}:{port} ({broker.url}; trackers log in with the "
        f"credentials POST /v1/devices gives them, the service as {service.username})",
        service,
        access_db,
        access,
    )


def suggester(container: Container) -> Any:
    """Alternatives for a delayed shipment, from the process's network state."""
    from logistics.disruption_service import suggest_alternatives

    def suggest(session: Any, row: Any, track: Any, now: Any) -> list[dict[str, Any]]:
        return suggest_alternatives(session, container.network_state, row, track, now)

    return suggest


def instance_name(kind: str) -> str:
    return f"{kind}-{socket.gethostname()}-{os.getpid()}"


@dataclass
class Runtime:
    container: Container
    broker: BrokerChoice
    parts: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The embedded broker may have been chosen before this container existed (`xborder demo`): what it
        # refused until now is counted too.
        if self.broker.access is not None:
            refusals = self.container.metrics.broker_refusals
            self.broker.access.count_refusals(
                lambda action, reason, n: refusals.labels(action=action, reason=reason).inc(n)
            )

    def address(self) -> BrokerAddress:
        return self.broker.address()

    def start_publisher(self) -> PahoCommunicator:
        settings = self.container.settings
        name = instance_name("api")
        comm = PahoCommunicator(
            self.address(),
            f"{settings.mqtt_client_prefix}-{name}",
            status_topic=f"{settings.mqtt_topic_root}/services/{name}/status",
        ).start()
        comm.subscribe(
            f"{settings.mqtt_topic_root}/waybills/+/status", self.container.broadcaster.on_mqtt, qos=0
        )
        self.container.publisher = comm
        self.parts.append(comm)
        return comm

    def start_ingest(self, ingest_id: str = "ingest") -> TelemetryIngest:
        settings = self.container.settings
        address = self.address()
        comm = PahoCommunicator(
            address,
            f"{settings.mqtt_client_prefix}-{ingest_id}",
            persistent=True,
            manual_ack=True,
            max_inflight=settings.ingest_max_inflight,
            session_expiry_s=settings.mqtt_session_expiry_s,
            status_topic=f"{settings.mqtt_topic_root}/services/{ingest_id}/status",
            read_pause_s=settings.ingest_read_pause_ms / 1000,
        )
        metrics = self.container.metrics
        ingest = TelemetryIngest(
            self.container.db,
            self.container.clock,
            comm,
            count=lambda outcome, n: metrics.telemetry.labels(outcome=outcome).inc(n),
            root=settings.mqtt_topic_root,
            batch_size=settings.ingest_batch_size,
            batch_seconds=settings.ingest_batch_seconds,
            shared_group=settings.ingest_share_group if address.protocol == 5 else None,
            hooks=self.container.ingest_hooks,
            rules=rules_for_clock_speed(settings.clock_speed),
            suggest=suggester(self.container),
            timed=metrics.ingest_batch_seconds.observe,
        )
        ingest.start()
        comm.start()
        self.container.ingest_liveness = ingest.liveness
        self.parts.append(comm)
        self.parts.append(ingest)
        return ingest

    def start_scheduler(self) -> Any:
        from api.scheduler import Scheduler

        scheduler = Scheduler(self.container.db, self.container.jobs).start()
        self.parts.append(scheduler)
        return scheduler

    def stop(self) -> None:
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception:  # noqa: BLE001 - stopping anyway
                log.warning("could not stop %r cleanly", part, exc_info=True)
        self.parts.clear()
        self.broker.stop()


def run_http(container: Container, host: str, port: int, ready: threading.Event | None = None) -> None:
    import uvicorn

    from api.app import create_app

    # An open SSE stream (the dashboard's) would hold a graceful shutdown forever: after 5 s it is cut.
    config = uvicorn.Config(
        create_app(container),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    if ready is not None:
        threading.Thread(target=_signal_ready, args=(server, ready), daemon=True).start()
    server.run()


def _signal_ready(server: Any, ready: threading.Event) -> None:
    import time

    while not server.started:
        time.sleep(0.05)
    ready.set()
