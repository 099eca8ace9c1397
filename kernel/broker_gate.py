"""amqtt plugin and broker subclass that put a `BrokerAccess` in front of the embedded broker.

Imported only on the broker's thread (amqtt is loaded lazily). What amqtt does not check by itself, and is
closed here:
- a client that fails authentication is refused before amqtt touches a session with the same client id
  (amqtt deletes or rewrites it, and disconnects its owner, before it checks the password);
- an authenticated client's session runs under the client id `BrokerAccess.client_id` gives it (a device's
  own id, whatever it sent): a device cannot take over the ingest's session, nor another device's;
- the last will is a publish like any other: a will topic the user may not publish to refuses the connection
  (as Mosquitto does);
- retained messages are replayed only for the subscriptions this client made, and only on topics it may
  receive (amqtt replays them for every client's subscriptions on connect, unchecked);
- a packet larger than the broker's maximum (1 MiB, as the shipped Mosquitto's `max_packet_size`) closes the
  connection as soon as its fixed header announces the size, before any of it is buffered (amqtt reads a
  packet of any announced size whole).

Every refusal is reported to `BrokerAccess.refused(action, reason)` (counted in the service's metrics).

Authorisation uses the identity recorded at authentication. These override amqtt internals of the version
pinned in pyproject.toml (0.12); `GuardedBroker` refuses to start on another layout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import amqtt
from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session
from amqtt.utils import gen_client_id

log = logging.getLogger("kernel.broker")

IDENTITY = "xborder.identity"  # in Session.attributes: the username that authenticated
_JUST_CHECKED = "xborder.just-checked"  # this CONNECT was authenticated already (one check per CONNECT)


class AccessPlugin(BaseAuthPlugin, BaseTopicPlugin):  # type: ignore[misc]  # amqtt is untyped here
    """Authentication and topic checks through the `BrokerAccess` in the plugin's config."""

    @dataclass
    class Config:
        access: Any = None

    def _access(self) -> Any:
        access = getattr(self.context.config, "access", None)
        if access is None:
            raise RuntimeError("the embedded broker's access plugin has no BrokerAccess")
        return access

    async def authenticate(self, *, session: Session) -> bool:
        access = self._access()
        username, password = session.username, session.password
        if not username or password is None:
            return self._refuse_connect(access, session, "connect", "no_credentials")
        # The device lookup may touch the database: not on the broker's event loop.
        try:
            ok = await asyncio.to_thread(access.authenticate, username, password)
        except Exception:  # noqa: BLE001 - a failing lookup refuses the client, never the broker
            log.exception("MQTT authentication of %r failed", username)
            return self._refuse_connect(access, session, "connect", "lookup_failed")
        if not ok:
            return self._refuse_connect(access, session, "connect", "bad_credentials")
        if session.will_flag and session.will_topic and not access.may_publish(username, session.will_topic):
            log.warning(
                "MQTT user %s refused: last will on %s is not its topic", username, session.will_topic
            )
            return self._refuse_connect(access, session, "will", "not_allowed")
        session.attributes[IDENTITY] = username
        return True

    @staticmethod
    def _refuse_connect(access: Any, session: Session, action: str, reason: str) -> bool:
        access.refused(action, reason)
        log.warning(
            "MQTT connection refused for user %r (client id %r): %s %s",
            session.username,
            session.client_id,
            action,
            reason,
        )
        return False

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool:
        username = session.attributes.get(IDENTITY) if session is not None else None
        if username is None or not topic:
            return False
        access = self._access()
        if action == Action.PUBLISH:
            allowed = bool(access.may_publish(username, topic))
        elif action == Action.SUBSCRIBE:
            allowed = bool(access.may_subscribe(username, topic))
        elif action == Action.RECEIVE:
            return bool(access.may_receive(username, topic))  # checked per delivery; refusals are quiet
        else:
            return False
        if not allowed:
            access.refused(action.value, "not_allowed")
            self._refused(username, action.value, topic)
        return allowed

    def _refused(self, username: str, action: str, topic: str) -> None:
        # Logged at the 1st, 10th, 100th ... refusal per user and action: a spoofing device cannot flood it.
        counts: dict[tuple[str, str], int] = self.__dict__.setdefault("_refusals", {})
        n = counts[(username, action)] = counts.get((username, action), 0) + 1
        if str(n).rstrip("0") == "1":
            log.warning(
                "MQTT user %s may not %s %s (%d refusals of this kind so far)", username, action, topic, n
            )


SUPPORTED_AMQTT = "0.12."
MAX_PACKET_SIZE = 1024 * 1024  # bytes, fixed header included: Mosquitto's `max_packet_size 1048576`


class PacketSizeLimit(ReaderAdapter):  # type: ignore[misc]  # amqtt is untyped here
    """A connection's reader that follows the MQTT framing of what passes through it and ends the stream
    when a fixed header announces a packet over `limit` bytes (or a malformed length), before its body is
    read: amqtt then sees the end of the connection and closes it, as Mosquitto does.

    Only the wire format is relied on (a fixed header of one byte and a 1-4 byte remaining length, then
    that many bytes), not how amqtt splits its reads."""

    def __init__(self, inner: ReaderAdapter, limit: int, refused: Callable[[str], None]) -> None:
        self._inner = inner
        self._limit = limit
        self._refused = refused
        self._header = bytearray()  # the next packet's fixed header, as far as read
        self._body = 0  # bytes of the current packet's body not read yet
        self._ended = False

    async def read(self, n: int = -1) -> bytes:
        if self._ended:
            raise asyncio.IncompleteReadError(b"", n if n >= 0 else None)
        data: bytes = await self._inner.read(n)
        reason = self._follow(data)
        if reason is not None:
            self._ended = True
            self._refused(reason)
            raise asyncio.IncompleteReadError(b"", n if n >= 0 else None)
        return data

    def _follow(self, data: bytes) -> str | None:
        i = 0
        while i < len(data):
            if self._body:
                step = min(self._body, len(data) - i)
                self._body -= step
                i += step
                continue
            self._header.append(data[i])
            i += 1
            if len(self._header) < 2 or self._header[-1] & 0x80:
                if len(self._header) == 5:
                    return "malformed"  # a fourth remaining-length byte that says more follow
                continue
            length = sum((b & 0x7F) << (7 * k) for k, b in enumerate(self._header[1:]))
            size = len(self._header) + length
            self._header.clear()
            if size > self._limit:
                return "too_large"
            self._body = length
        return None

    def feed_eof(self) -> None:
        self._inner.feed_eof()


class GuardedBroker(Broker):  # type: ignore[misc]
    """amqtt's broker with the CONNECT authenticated first, and retained messages replayed with care."""

    def __init__(
        self, *args: Any, access: Any, max_packet_size: int = MAX_PACKET_SIZE, **kwargs: Any
    ) -> None:
        if not amqtt.__version__.startswith(SUPPORTED_AMQTT):
            raise RuntimeError(
                f"the embedded broker's access checks are written for amqtt {SUPPORTED_AMQTT}x, "
                f"not {amqtt.__version__}: refusing to run it without them"
            )
        super().__init__(*args, **kwargs)
        self._access = access
        self._max_packet_size = max_packet_size
        self._oversized = 0

    async def _client_connected(
        self, listener_name: str, reader: ReaderAdapter, writer: WriterAdapter
    ) -> None:
        def refused(reason: str) -> None:
            self._access.refused("packet", reason)
            self._oversized += 1
            if str(self._oversized).rstrip("0") == "1":  # the 1st, 10th, 100th ...
                log.warning(
                    "MQTT connection from %s closed: packet %s (over %d bytes; %d so far)",
                    writer.get_peer_info(),
                    reason,
                    self._max_packet_size,
                    self._oversized,
                )

        limited = PacketSizeLimit(reader, self._max_packet_size, refused)
        await super()._client_connected(listener_name, limited, writer)

    async def _initialize_client_session(
        self, reader: Any, writer: Any, remote_address: str, remote_port: int
    ) -> tuple[BrokerProtocolHandler, Session]:
        # amqtt's own version, with authentication moved before anything touches a stored session of the
        # same client id: there, a clean-session CONNECT deletes it and a persistent one overwrites its
        # credentials and will, and only then is the password checked.
        try:
            handler, incoming = await BrokerProtocolHandler.init_from_connect(
                reader, writer, self.plugins_manager
            )
        except (AMQTTError, MQTTError, NoDataError) as exc:
            await writer.close()
            raise AMQTTError(f"cannot read a CONNECT from {remote_address}:{remote_port}: {exc}") from exc
        if not await self._authenticate(incoming, self.listeners_config["default"]):
            incoming.parent = 0
            handler.attach(incoming, reader, writer)
            try:
                await handler.mqtt_connack_authorize(False)
            finally:
                await writer.close()
            raise AMQTTError(f"{remote_address}:{remote_port} refused: not authorised")
        incoming.attributes[_JUST_CHECKED] = True
        incoming.client_id = self._access.client_id(incoming.username, incoming.client_id or "")
        if incoming.clean_session:
            if incoming.client_id:
                await self._delete_session(incoming.client_id)
            else:
                incoming.client_id = gen_client_id()
            incoming.parent = 0
            session = incoming
        elif incoming.client_id in self._sessions:
            session, _ = self._sessions[incoming.client_id]
            for name in ("will_flag", "will_message", "will_topic", "will_qos", "will_retain", "keep_alive"):
                setattr(session, name, getattr(incoming, name))
            session.username, session.password = incoming.username, incoming.password
            session.attributes.update(incoming.attributes)  # the identity that just authenticated
            session.parent = 1
        else:
            incoming.parent = 0
            session = incoming
        delay = self.config.get("timeout-disconnect-delay", 0)
        if session.keep_alive > 0 and isinstance(delay, int):
            session.keep_alive += delay
        return handler, session

    async def _authenticate(self, session: Session, listener: Any) -> bool:
        if session.attributes.pop(_JUST_CHECKED, False):
            return True  # by _initialize_client_session, a moment ago
        return bool(await super()._authenticate(session, listener))

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        topic_filter, qos = subscription
        subscribers = self._subscriptions.get(topic_filter, [])
        if not any(s.client_id == session.client_id for s, _ in subscribers):
            return  # someone else's subscription
        handler = self._get_handler(session)
        if handler is None:
            return
        tasks = []
        for topic, retained in list(self._retained_messages.items()):
            if not self._matches(topic, topic_filter):
                continue
            if not await self._topic_filtering(session, topic, Action.RECEIVE):
                continue
            tasks.append(
                asyncio.ensure_future(
                    handler.mqtt_publish(
                        retained.topic, retained.data, min(qos, retained.qos or qos), retain=True
                    )
                )
            )
        if tasks:
            await asyncio.wait(tasks)
