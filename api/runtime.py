"""Process orchestration: the broker, the MQTT clients, the ingest, the scheduler and the HTTP server."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from api.bootstrap import Container
from api.stream import Broadcaster
from api.wiring import ingest_hooks
from kernel.broker import EmbeddedBroker, free_port, port_is_free
from kernel.mqtt import BrokerAddress, PahoCommunicator, wait_for_broker
from kernel.settings import Settings
from logistics.ingest import TelemetryIngest
from logistics.tracking.derive import rules_for_clock_speed

log = logging.getLogger(__name__)


@dataclass
class BrokerChoice:
    url: str
    embedded: EmbeddedBroker | None
    message: str


def choose_broker(settings: Settings) -> BrokerChoice:
    """`XB_MQTT_URL` if set; else the embedded broker on `XB_MQTT_EMBEDDED_PORT` (or a broker found there)."""
    if settings.mqtt_url:
        return BrokerChoice(settings.mqtt_url, None, f"MQTT broker: {settings.mqtt_url}")
    host, port = "127.0.0.1", settings.mqtt_embedded_port
    if not port_is_free(host, port):
        for scheme in ("mqtt", "mqtt311"):
            url = f"{scheme}://{host}:{port}"
            if wait_for_broker(BrokerAddress.parse(url), timeout=3):
                return BrokerChoice(
                    url, None, f"MQTT broker: using the broker already listening on {host}:{port}"
                )
        port = free_port(host)
        note = f"port {settings.mqtt_embedded_port} is taken by something that is not an MQTT broker; "
    else:
        note = ""
    broker = EmbeddedBroker(host, port).start()
    return BrokerChoice(
        broker.url, broker, f"MQTT broker: {note}embedded broker on {host}:{port} ({broker.url})"
    )


def suggester(container: Container) -> Any:
    """Alternatives for a delayed shipment, from the process's network state."""
    from api.runtime_state import network_state
    from logistics.disruption_service import suggest_alternatives

    def suggest(session: Any, row: Any, track: Any, now: Any) -> list[dict[str, Any]]:
        return suggest_alternatives(session, network_state(container), row, track, now)

    return suggest


def instance_name(kind: str) -> str:
    return f"{kind}-{socket.gethostname()}-{os.getpid()}"


@dataclass
class Runtime:
    container: Container
    broker: BrokerChoice
    parts: list[Any] = field(default_factory=list)

    def address(self) -> BrokerAddress:
        return BrokerAddress.parse(self.broker.url)

    def start_publisher(self) -> PahoCommunicator:
        settings = self.container.settings
        name = instance_name("api")
        comm = PahoCommunicator(
            self.address(),
            f"{settings.mqtt_client_prefix}-{name}",
            status_topic=f"{settings.mqtt_topic_root}/services/{name}/status",
        ).start()
        broadcaster = self.container.extras.setdefault("broadcaster", Broadcaster())
        comm.subscribe(f"{settings.mqtt_topic_root}/waybills/+/status", broadcaster.on_mqtt, qos=0)
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
            max_inflight=1000,
            session_expiry_s=settings.mqtt_session_expiry_s,
            status_topic=f"{settings.mqtt_topic_root}/services/{ingest_id}/status",
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
            hooks=ingest_hooks(self.container),
            rules=rules_for_clock_speed(settings.clock_speed),
            suggest=suggester(self.container),
        )
        ingest.start()
        comm.start()
        self.parts.append(comm)
        self.parts.append(ingest)
        return ingest

    def start_scheduler(self) -> Any:
        from api.scheduler import Scheduler

        scheduler = Scheduler(self.container).start()
        self.parts.append(scheduler)
        return scheduler

    def stop(self) -> None:
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception:  # noqa: BLE001 - stopping anyway
                log.warning("could not stop %r cleanly", part, exc_info=True)
        self.parts.clear()
        if self.broker.embedded:
            self.broker.embedded.stop()


def run_http(container: Container, host: str, port: int, ready: threading.Event | None = None) -> None:
    import uvicorn

    from api.app import create_app

    config = uvicorn.Config(create_app(container), host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    if ready is not None:
        threading.Thread(target=_signal_ready, args=(server, ready), daemon=True).start()
    server.run()


def _signal_ready(server: Any, ready: threading.Event) -> None:
    import time

    while not server.started:
        time.sleep(0.05)
    ready.set()
