"""The embedded MQTT broker (amqtt), for `make demo` on a bare machine. Production uses Mosquitto.

It runs on its own thread and event loop so that it can live inside `xborder serve` beside uvicorn.
amqtt speaks MQTT 3.1.1, so clients of the embedded broker use `mqtt311://`.

Given a `BrokerAccess` (the composition root builds one from the device registry and the service account),
every CONNECT is authenticated, its session given the client id `BrokerAccess.client_id` chooses (a device's
is its own id, as Mosquitto's `use_username_as_clientid`), and every publish, subscription and delivery
checked through it; without one the broker is open to anyone (tests of the transport alone). On MQTT 3.1.1
a refused publish cannot be answered with an error: it is acknowledged and dropped (as Mosquitto does for
3.1.1 clients) and logged; a refused subscription gets the SUBACK failure code 0x80; a refused CONNECT gets
"not authorised" (5); a packet over `max_packet_size` (1 MiB by default, as the shipped Mosquitto) closes the
connection. Each refusal is reported to `BrokerAccess.refused`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import warnings
from typing import Any, Protocol

log = logging.getLogger(__name__)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class BrokerAccess(Protocol):
    """Who may connect, and what an authenticated user may publish, subscribe to and receive."""

    def authenticate(self, username: str, password: str) -> bool: ...

    def client_id(self, username: str, requested: str) -> str:
        """The client id an authenticated user's session runs under (e.g. a device's own id, whatever it
        asked for: one client cannot take over another's session)."""

    def may_publish(self, username: str, topic: str) -> bool: ...

    def may_subscribe(self, username: str, topic_filter: str) -> bool: ...

    def may_receive(self, username: str, topic: str) -> bool: ...

    def refused(self, action: str, reason: str) -> None:
        """Told of each refusal: `action` connect, will, publish, subscribe or packet; `reason` e.g.
        bad_credentials, no_credentials, lookup_failed, not_allowed, too_large, malformed. Called on the
        broker's event loop: keep it quick."""


class EmbeddedBroker:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        access: BrokerAccess | None = None,
        max_packet_size: int = 1024 * 1024,
    ) -> None:
        self.host = host
        self.port = port
        self.access = access
        self.max_packet_size = max_packet_size  # with `access` (the open broker keeps amqtt's own reading)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt311://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        self._thread = threading.Thread(target=self._run, name="embedded-mqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("embedded MQTT broker did not start")
        if self._error:
            raise RuntimeError(f"embedded MQTT broker failed: {self._error}") from self._error
        return self

    def _run(self) -> None:
        from amqtt.broker import Broker

        from kernel.broker_gate import AccessPlugin, GuardedBroker

        config: dict[str, Any] = {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{self.host}:{self.port}", "max_connections": 0}
            },
        }
        broker_class: Any = Broker
        options: dict[str, Any] = {}
        if self.access is None:
            config |= {"auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]}}
            config |= {"topic-check": {"enabled": False}}
        else:
            plugin = f"{AccessPlugin.__module__}.{AccessPlugin.__name__}"
            config["plugins"] = {plugin: {"access": self.access}}
            broker_class = GuardedBroker
            options = {"access": self.access, "max_packet_size": self.max_packet_size}
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                self._broker = (
                    broker_class(config, loop=self._loop, **options)
                    if _accepts_loop()
                    else broker_class(config, **options)
                )
                self._loop.run_until_complete(self._broker.start())
            except BaseException as exc:  # reported to start()
                self._error = exc
                self._ready.set()
                return
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        if self._loop is None or self._broker is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            fut.result(timeout=10)
        except Exception:  # noqa: BLE001 - shutting down anyway
            log.warning("embedded broker did not shut down cleanly", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()


def _accepts_loop() -> bool:
    import inspect

    from amqtt.broker import Broker

    return "loop" in inspect.signature(Broker.__init__).parameters
