"""The MQTT port: a communicator around paho-mqtt (callback API v2) and an in-memory fake for tests.

    publish(topic, payload, qos, retain)
    subscribe(topic_filter, receiver, qos)
    stop()

The communicator reports itself connected only after a successful CONNACK, keeps a retained `offline`
last will on its own status topic, resubscribes on reconnect, and uses a persistent session
(clean_session=False / clean_start=False) when given a stable client id, so that QoS 1 messages accepted
by the broker while it was away are delivered when it comes back.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kernel import mqtt_wire

mqtt_wire.install()  # paho decodes every PUBLISH's MQTT 5 properties; this makes that cheap


@dataclass(slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    mid: int = 0


Receiver = Callable[[Message], None]


class Communicator(Protocol):
    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None: ...

    def subscribe(self, topic_filter: str, receiver: Receiver, qos: int = 1) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    protocol: int = 5

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """`mqtt://user:pass@host:1883` (MQTT 5) or `mqtt311://host:1883` (MQTT 3.1.1)."""
        u = urlparse(url)
        if u.scheme not in ("mqtt", "mqtt5", "mqtt311", "tcp"):
            raise ValueError(f"unsupported MQTT URL scheme {u.scheme!r}; use mqtt://host:port")
        return cls(
            host=u.hostname or "127.0.0.1",
            port=u.port or 1883,
            username=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            protocol=4 if u.scheme == "mqtt311" else 5,
        )


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Does `topic` match the subscription filter (`+` one level, `#` the rest, `$` topics only literally)?"""
    return _compiled(topic_filter)(topic)


@functools.lru_cache(maxsize=1024)
def _compiled(topic_filter: str) -> Callable[[str], bool]:
    # paho's topic_matches_sub builds a matcher tree on every call: too dear for every message received.
    # The filter becomes one regular expression (`+`: one level, possibly empty; a trailing `#`: the parent
    # level and everything below it), matched in C.
    levels = topic_filter.split("/")
    multi = levels[-1] == "#"
    fixed = levels[:-1] if multi else levels
    pattern = "/".join("[^/]*" if level == "+" else re.escape(level) for level in fixed)
    if multi:
        pattern = f"{pattern}(?:/.*)?" if fixed else ".*"
    match = re.compile(pattern, re.DOTALL).fullmatch
    if levels[0] in ("+", "#"):  # MQTT: wildcards at the first level never match $SYS-like topics

        def matches(topic: str) -> bool:
            return not topic.startswith("$") and match(topic) is not None

        return matches
    return lambda topic: match(topic) is not None


class PahoCommunicator:
    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        *,
        persistent: bool = False,
        status_topic: str | None = None,
        keepalive: int = 30,
        max_inflight: int = 100,
        manual_ack: bool = False,
        session_expiry_s: int = 86_400,
        read_pause_s: float = 0.0,
    ) -> None:
        self.session_expiry_s = session_expiry_s
        self.address = address
        self.client_id = client_id
        self._subs: list[tuple[str, int]] = []
        self._receivers: tuple[tuple[str, Receiver], ...] = ()  # replaced whole: read without the lock
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._wake_lock = threading.Lock()
        self._status_topic = status_topic
        protocol = MQTTProtocolVersion.MQTTv5 if address.protocol == 5 else MQTTProtocolVersion.MQTTv311
        kwargs: dict[str, Any] = {"client_id": client_id, "protocol": protocol}
        if protocol is MQTTProtocolVersion.MQTTv311:
            kwargs["clean_session"] = not persistent
        self._persistent = persistent
        client_class = mqtt_wire.WireClient if mqtt_wire.wire_client_fits() else paho.Client
        self.client = client_class(CallbackAPIVersion.VERSION2, **kwargs)
        if isinstance(self.client, mqtt_wire.WireClient):
            self.client.read_pause_s = read_pause_s  # see kernel.mqtt_wire
        self._max_inflight = max_inflight
        self.client.max_inflight_messages_set(max_inflight)
        # With manual acks a QoS 1 message is acknowledged only after it is committed, so a crash before the
        # commit makes the broker deliver it again (the persistent session keeps it).
        self.manual_ack = manual_ack
        self.client.manual_ack_set(manual_ack)
        self.client.max_queued_messages_set(0)
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        if status_topic:
            self.client.will_set(status_topic, b"offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._keepalive = keepalive

    # -- lifecycle
    def start(self, timeout: float = 10.0) -> PahoCommunicator:
        props = None
        connect_kwargs: dict[str, Any] = {}
        if self.address.protocol == 5:
            connect_kwargs["clean_start"] = not self._persistent
            if self._persistent:
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = self.session_expiry_s
                if self.manual_ack:
                    # Unacknowledged messages the broker may have in flight to us: with acks held until a
                    # batch commits, this is the largest batch one worker can be given.
                    props.ReceiveMaximum = self._max_inflight
                connect_kwargs["properties"] = props
        self.client.connect_async(self.address.host, self.address.port, self._keepalive, **connect_kwargs)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            self.client.loop_stop()
            raise ConnectionError(
                f"MQTT broker at {self.address.host}:{self.address.port} did not accept the connection"
            )
        return self

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self) -> None:
        if self._status_topic and self._connected.is_set():
            self.client.publish(self._status_topic, b"offline", qos=1, retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    # -- port
    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS and info.rc != paho.MQTT_ERR_NO_CONN:
            raise ConnectionError(f"MQTT publish failed: {paho.error_string(info.rc)}")

    def publish_and_wait(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)

    @contextlib.contextmanager
    def held_wakeups(self) -> Iterator[None]:
        """Acknowledgements and publishes queued inside wake paho's network thread once, at the end.

        For every packet queued from another thread paho writes a byte to its network thread's wake-up
        socket: a wake-up and a hand-over of the interpreter lock per acknowledgement or status message.
        Inside this block the wake-up socket is set aside (only the network thread itself, which writes out
        what is queued on its next turn anyway, could queue a packet meanwhile) and one byte wakes it after.
        """
        client: Any = self.client
        wake = getattr(client, "_sockpairW", None)
        if wake is None:  # not started, or a paho without that socket: nothing to hold
            yield
            return
        with self._wake_lock:
            client._sockpairW = None
            try:
                yield
            finally:
                client._sockpairW = wake
                with contextlib.suppress(OSError):
                    wake.send(b"0")

    def ack(self, message: Message) -> None:
        """Acknowledge a QoS 1/2 message received with manual acks."""
        if self.manual_ack and message.qos > 0:
            self.client.ack(message.mid, message.qos)

    def ack_many(self, messages: list[Message]) -> None:
        """Acknowledge messages received with manual acks: the QoS 1 ones in one write if the client can."""
        if not self.manual_ack:
            return
        if isinstance(self.client, mqtt_wire.WireClient):
            self.client.ack_all([m.mid for m in messages if m.qos == 1])
            messages = [m for m in messages if m.qos == 2]
        for m in messages:
            self.ack(m)

    def subscribe(self, topic_filter: str, receiver: Receiver, qos: int = 1) -> None:
        with self._lock:
            self._subs.append((topic_filter, qos))
            # A shared subscription `$share/group/filter` delivers messages on `filter`.
            match_filter = topic_filter
            if topic_filter.startswith("$share/"):
                match_filter = topic_filter.split("/", 2)[2]
            self._receivers = (*self._receivers, (match_filter, receiver))
        if self._connected.is_set():
            self.client.subscribe(topic_filter, qos=qos)

    # -- paho callbacks
    def _on_connect(self, client: paho.Client, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if getattr(reason, "is_failure", False):
            self._connected.clear()
            return
        with self._lock:
            subs = list(self._subs)
        for topic_filter, qos in subs:
            client.subscribe(topic_filter, qos=qos)
        if self._status_topic:
            client.publish(self._status_topic, b"online", qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, _reason: Any, _p: Any) -> None:
        self._connected.clear()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        message = Message(
            topic=msg.topic, payload=bytes(msg.payload), qos=msg.qos, retain=bool(msg.retain), mid=msg.mid
        )
        taken = False
        for topic_filter, receiver in self._receivers:
            if topic_matches(topic_filter, msg.topic):
                receiver(message)
                taken = True
        if not taken:
            # A broker may deliver what no subscription asked for (amqtt does, for retained messages):
            # acknowledge it so that it cannot hold a place in the in-flight window for ever.
            self.ack(message)


class FakeCommunicator:
    """In-memory communicator for unit tests: delivers synchronously, remembers retained messages."""

    def __init__(self) -> None:
        self.published: list[Message] = []
        self.retained: dict[str, Message] = {}
        self.acked: list[Message] = []
        self._receivers: list[tuple[str, Receiver]] = []

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        message = Message(topic, data, qos, retain)
        self.published.append(message)
        if retain:
            self.retained[topic] = message
        for topic_filter, receiver in list(self._receivers):
            if topic_matches(topic_filter, topic):
                receiver(message)

    def subscribe(self, topic_filter: str, receiver: Receiver, qos: int = 1) -> None:
        if topic_filter.startswith("$share/"):
            topic_filter = topic_filter.split("/", 2)[2]
        self._receivers.append((topic_filter, receiver))
        for topic, message in self.retained.items():
            if fnmatch.fnmatch(topic, topic_filter.replace("#", "*").replace("+", "*")):
                receiver(message)

    def ack(self, message: Message) -> None:
        self.acked.append(message)

    def stop(self) -> None:
        self._receivers.clear()


def held_wakeups(communicator: object) -> contextlib.AbstractContextManager[None]:
    """The communicator's `held_wakeups()` block if it has one (paho), else a block that does nothing."""
    hold = getattr(communicator, "held_wakeups", None)
    return hold() if hold is not None else contextlib.nullcontext()


def wait_for_broker(address: BrokerAddress, timeout: float = 10.0) -> bool:
    """True when a broker answers a CONNECT at `address` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = PahoCommunicator(address, f"xborder-probe-{time.monotonic_ns()}")
        try:
            probe.start(timeout=min(2.0, max(0.1, deadline - time.monotonic())))
            probe.client.disconnect()
            probe.client.loop_stop()
            return True
        except (ConnectionError, OSError):
            time.sleep(0.2)
    return False
