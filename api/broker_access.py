"""Who may use the embedded broker: the service account and the registered devices, under the shared ACL.

Built here, in the composition root, and handed to `kernel.broker.EmbeddedBroker`, so that the kernel holds
no domain rules: the topic rules are `logistics.mqtt_acl.TopicAccess` (the same table that `xborder
mqtt-config` writes for Mosquitto) and device passwords are checked against the registry's stored hashes.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kernel.db import Database
from kernel.settings import Settings
from logistics import devices
from logistics.mqtt_acl import USERNAME, TopicAccess, reserved_for_service, verify_password


@dataclass(frozen=True)
class ServiceAccount:
    username: str
    password: str = field(repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceAccount:
        """XB_MQTT_SERVICE_USER / XB_MQTT_SERVICE_PASSWORD, or a random password made now."""
        return cls(settings.mqtt_service_user, settings.mqtt_service_password or secrets.token_urlsafe(24))


@dataclass
class DeviceBrokerAccess:
    """`kernel.broker.BrokerAccess` over the device registry, one service account and `TopicAccess`."""

    db: Database
    service: ServiceAccount
    topics: TopicAccess
    _count: Callable[[str, str, int], None] | None = field(default=None, repr=False)
    _held: Counter[tuple[str, str]] = field(default_factory=Counter, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, db: Database, service: ServiceAccount, topic_root: str) -> DeviceBrokerAccess:
        return cls(db, service, TopicAccess(frozenset({service.username}), topic_root))

    def authenticate(self, username: str, password: str) -> bool:
        if username == self.service.username:
            return hmac.compare_digest(password.encode(), self.service.password.encode())
        if not USERNAME.match(username) or reserved_for_service(username, self.topics.service_users):
            return False  # a device registered under a service name before they were reserved
        with self.db.session() as session:
            stored = devices.mqtt_secret_hash(session, username)
        return stored is not None and verify_password(password, stored)

    def client_id(self, username: str, requested: str) -> str:
        return self.topics.client_id(username, requested)

    def may_publish(self, username: str, topic: str) -> bool:
        return self.topics.may_publish(username, topic)

    def may_subscribe(self, username: str, topic_filter: str) -> bool:
        return self.topics.may_subscribe(username, topic_filter)

    def may_receive(self, username: str, topic: str) -> bool:
        return self.topics.may_receive(username, topic)

    def refused(self, action: str, reason: str) -> None:
        with self._lock:
            if self._count is None:
                self._held[(action, reason)] += 1  # before the metrics exist (`xborder demo`)
                return
            count = self._count
        count(action, reason, 1)

    def count_refusals(self, count: Callable[[str, str, int], None]) -> None:
        """Count refusals through `count(action, reason, n)` from now on, with those held until now."""
        with self._lock:
            self._count = count
            held, self._held = self._held, Counter()
        for (action, reason), n in held.items():
            count(action, reason, n)
