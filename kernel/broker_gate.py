"""amqtt plugin and broker subclass that put a `BrokerAccess` in front of the embedded broker.

Imported only on the broker's thread (amqtt is loaded lazily). What amqtt does not check by itself, and is
closed here:
- a client that fails authentication is refused before amqtt touches a session with the same client id
  (amqtt deletes or rewrites it, and disconnects its owner, before it checks the password);
- the last will is a publish like any other: a will topic the user may not publish to refuses the connection
  (as Mosquitto does);
- retained messages are replayed only for the subscriptions this client made, and only on topics it may
  receive (amqtt replays them for every client's subscriptions on connect, unchecked).

Authorisation uses the identity recorded at authentication. These override amqtt internals of the version
pinned in pyproject.toml (0.12); `GuardedBroker` refuses to start on another layout.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import amqtt
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
        ok = bool(username) and password is not None
        if ok:
            # The device lookup may touch the database: not on the broker's event loop.
            try:
                ok = await asyncio.to_thread(access.authenticate, username, password)
            except Exception:  # noqa: BLE001 - a failing lookup refuses the client, never the broker
                log.exception("MQTT authentication of %r failed", username)
                ok = False
        if ok and session.will_flag and session.will_topic:
            ok = bool(access.may_publish(username, session.will_topic))
            if not ok:
                log.warning(
                    "MQTT user %s refused: last will on %s is not its topic", username, session.will_topic
                )
        if ok:
            session.attributes[IDENTITY] = username
            return True
        log.warning("MQTT connection refused for user %r (client id %r)", username, session.client_id)
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


class GuardedBroker(Broker):  # type: ignore[misc]
    """amqtt's broker with the CONNECT authenticated first, and retained messages replayed with care."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not amqtt.__version__.startswith(SUPPORTED_AMQTT):
            raise RuntimeError(
                f"the embedded broker's access checks are written for amqtt {SUPPORTED_AMQTT}x, "
                f"not {amqtt.__version__}: refusing to run it without them"
            )
        super().__init__(*args, **kwargs)

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
