"""The embedded broker (amqtt) enforces the device ACL that `xborder mqtt-config` writes for Mosquitto.

Devices are registered through the API (their passwords are hashed in the registry, on SQLite or PostgreSQL);
the broker is wired as `xborder serve` wires it (`api.runtime.choose_broker`), and the last test runs the real
ingest behind it. MQTT 3.1.1 has no negative PUBACK: a refused publish is acknowledged and dropped.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from api.container import Container
from api.runtime import BrokerChoice, Runtime, choose_broker
from kernel.broker import free_port
from kernel.identity import Role
from kernel.settings import Settings
from logistics.tables import readings
from tests.conftest import Keys

ROOT = "xborder/v1"
SERVICE_USER = "xb-svc"
SERVICE_PASSWORD = "service-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def broker(database_url: str) -> Iterator[BrokerChoice]:
    settings = Settings(
        database_url=database_url,
        mqtt_url=None,
        mqtt_embedded_port=free_port(),
        mqtt_service_user=SERVICE_USER,
        mqtt_service_password=SERVICE_PASSWORD,
    )
    choice = choose_broker(settings)
    assert choice.embedded is not None
    assert SERVICE_PASSWORD not in choice.url + choice.message
    yield choice
    choice.stop()


class Client:
    """A paho MQTT 3.1.1 client that records CONNACK, SUBACKs, PUBACKs and messages."""

    def __init__(
        self,
        broker: BrokerChoice,
        username: str | None,
        password: str | None,
        *,
        client_id: str | None = None,
        will: str | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.granted: dict[int, list[bool]] = {}
        self.acked: set[int] = set()
        self.cond = threading.Condition()
        self.connack = threading.Event()
        self.refused: bool | None = None
        self.disconnected = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"t-{uuid.uuid4().hex[:10]}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if will is not None:
            self.client.will_set(will, b"offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = lambda *_: self.disconnected.set()
        address = broker.address()
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        assert self.connack.wait(10), "no CONNACK"
        if self.refused:
            self.stop()

    @property
    def connected(self) -> bool:
        return self.refused is False

    def _on_connect(self, _c: object, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        self.refused = rc.is_failure
        self.reason = str(rc)
        self.connack.set()

    def _on_message(self, _c: object, _u: object, msg: paho.MQTTMessage) -> None:
        with self.cond:
            self.messages.append((msg.topic, bytes(msg.payload)))
            self.cond.notify_all()

    def _on_subscribe(self, _c: object, _u: object, mid: int, codes: list[ReasonCode], _p: object) -> None:
        with self.cond:
            self.granted[mid] = [not c.is_failure for c in codes]
            self.cond.notify_all()

    def _on_publish(self, _c: object, _u: object, mid: int, _rc: object, _p: object) -> None:
        with self.cond:
            self.acked.add(mid)
            self.cond.notify_all()

    def subscribe(self, topic_filter: str) -> bool:
        """Subscribe at QoS 1; True if the broker granted it (SUBACK), False for the failure code 0x80."""
        _, mid = self.client.subscribe(topic_filter, qos=1)
        assert mid is not None
        with self.cond:
            assert self.cond.wait_for(lambda: mid in self.granted, timeout=10), "no SUBACK"
            return self.granted[mid][0]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """QoS 1; returns once the broker has acknowledged it (a refused publish is acknowledged too)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self.cond:
            assert self.cond.wait_for(lambda: info.mid in self.acked, timeout=10), "no PUBACK"

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[str, bytes]]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Device:
    device_id: str
    password: str
    waybill_no: str | None = None


def _register(client: TestClient, headers: dict[str, str], waybill_no: str | None = None) -> Device:
    device_id = f"trk-{uuid.uuid4().hex[:10]}"
    r = client.post("/v1/devices", json={"device_id": device_id, "kind": "container"}, headers=headers)
    assert r.status_code == 201, r.text
    creds = r.json()
    assert creds["username"] == device_id
    if waybill_no is not None:
        r = client.post(f"/v1/waybills/{waybill_no}/trackers", json={"device_id": device_id}, headers=headers)
        assert r.status_code == 201, r.text
    return Device(device_id, creds["password"], waybill_no)


def _booking(client: TestClient, headers: dict[str, str]) -> str:
    quote = client.post(
        "/v1/quotes",
        json={
            "origin": "CNYIB",
            "destination": "DEDUI",
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC"},
            "customs_mode": "9810",
        },
        headers=headers,
    ).json()
    option = quote["options"][0]
    r = client.post(
        "/v1/bookings", json={"quote_id": quote["id"], "option_id": option["id"]}, headers=headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["waybill_no"])


def telemetry(device_id: str) -> str:
    return f"{ROOT}/devices/{device_id}/telemetry"


def test_devices_and_the_service_log_in_with_their_own_credentials_only(
    broker: BrokerChoice, client: TestClient, keys: Keys
) -> None:
    h = keys.headers(Role.FORWARDER)
    a, b = _register(client, h), _register(client, h)
    ok = Client(broker, a.device_id, a.password)
    assert ok.connected
    ok.stop()
    for username, password in (
        (a.device_id, b.password),  # another device's password
        (a.device_id, a.password + "x"),
        (f"trk-unknown-{uuid.uuid4().hex[:6]}", a.password),
        (None, None),  # anonymous
        (SERVICE_USER, "not-the-service-password"),
        ("a/+/#", a.password),  # not even a device id
    ):
        refused = Client(broker, username, password)
        assert not refused.connected, username
        assert refused.reason == "Not authorized", refused.reason
    service = Client(broker, SERVICE_USER, SERVICE_PASSWORD)
    assert service.connected
    service.stop()


def test_a_device_publishing_under_another_id_is_dropped_by_the_broker(
    broker: BrokerChoice, client: TestClient, keys: Keys
) -> None:
    h = keys.headers(Role.FORWARDER)
    a, b = _register(client, h), _register(client, h)
    service = Client(broker, SERVICE_USER, SERVICE_PASSWORD)
    assert service.subscribe(f"{ROOT}/devices/+/telemetry") and service.subscribe(f"{ROOT}/waybills/#")
    device = Client(broker, a.device_id, a.password)
    try:
        device.publish(telemetry(a.device_id), b'{"seq": 1}')
        device.publish(telemetry(b.device_id), b'{"seq": 666}')  # acknowledged (MQTT 3.1.1) and dropped
        device.publish(f"{ROOT}/waybills/XB-FORGED/status", b'{"status": "DELIVERED"}')
        device.publish(telemetry(a.device_id), b'{"seq": 2}')
        service.wait_for(2)
        time.sleep(0.5)  # anything forged would have been delivered by now
        assert service.messages == [
            (telemetry(a.device_id), b'{"seq": 1}'),
            (telemetry(a.device_id), b'{"seq": 2}'),
        ]
        assert device.connected and not device.disconnected.is_set()  # refused, not thrown out
    finally:
        device.stop()
        service.stop()


def test_a_device_reads_only_its_own_dead_letters(
    broker: BrokerChoice, client: TestClient, keys: Keys
) -> None:
    h = keys.headers(Role.FORWARDER)
    a, b = _register(client, h), _register(client, h)
    service = Client(broker, SERVICE_USER, SERVICE_PASSWORD)
    # A retained status on a topic someone else subscribed to: amqtt would replay it to every newcomer.
    assert service.subscribe(f"{ROOT}/waybills/+/status")
    service.publish(f"{ROOT}/waybills/XB-SECRET/status", b'{"status": "IN_TRANSIT"}', retain=True)
    device = Client(broker, a.device_id, a.password)
    try:
        assert device.subscribe(f"{ROOT}/deadletter/{a.device_id}")
        for topic_filter in (
            f"{ROOT}/deadletter/{b.device_id}",
            f"{ROOT}/deadletter/+",
            f"{ROOT}/deadletter/#",
            f"{ROOT}/devices/+/telemetry",
            f"{ROOT}/devices/{b.device_id}/status",
            f"{ROOT}/waybills/+/status",
            "#",
        ):
            assert not device.subscribe(topic_filter), topic_filter
        service.publish(f"{ROOT}/deadletter/{b.device_id}", b'{"reason": "for b"}')
        service.publish(f"{ROOT}/deadletter/{a.device_id}", b'{"reason": "for a"}')
        device.wait_for(1)
        time.sleep(0.5)
        assert device.messages == [(f"{ROOT}/deadletter/{a.device_id}", b'{"reason": "for a"}')]
    finally:
        service.publish(f"{ROOT}/waybills/XB-SECRET/status", b"", retain=True)  # clear it
        device.stop()
        service.stop()


def test_a_refused_login_does_not_take_over_a_live_session(broker: BrokerChoice) -> None:
    client_id = f"svc-{uuid.uuid4().hex[:8]}"
    service = Client(broker, SERVICE_USER, SERVICE_PASSWORD, client_id=client_id)
    assert service.subscribe(f"{ROOT}/deadletter/#")
    intruder = Client(broker, SERVICE_USER, "guessed", client_id=client_id)
    assert not intruder.connected
    other = Client(broker, SERVICE_USER, SERVICE_PASSWORD)
    try:
        other.publish(f"{ROOT}/deadletter/x", b"still there")
        assert service.wait_for(1) == [(f"{ROOT}/deadletter/x", b"still there")]
        assert not service.disconnected.is_set()
    finally:
        other.stop()
        service.stop()


def test_a_last_will_on_another_devices_topic_refuses_the_connection(
    broker: BrokerChoice, client: TestClient, keys: Keys
) -> None:
    h = keys.headers(Role.FORWARDER)
    a, b = _register(client, h), _register(client, h)
    forged = Client(broker, a.device_id, a.password, will=f"{ROOT}/devices/{b.device_id}/status")
    assert not forged.connected
    own = Client(broker, a.device_id, a.password, will=f"{ROOT}/devices/{a.device_id}/status")
    assert own.connected
    own.stop()


def test_a_spoofed_reading_never_reaches_the_ingest(
    broker: BrokerChoice, client: TestClient, keys: Keys, container: Container
) -> None:
    """The real ingest behind the broker: a device publishing as another (attached) device changes nothing."""
    h = keys.headers(Role.FORWARDER)
    a = _register(client, h, _booking(client, h))
    b = _register(client, h, _booking(client, h))
    container.settings = container.settings.model_copy(
        update={"mqtt_client_prefix": f"h5b-{uuid.uuid4().hex[:8]}"}
    )
    runtime = Runtime(container, replace(broker, embedded=None, access_db=None))  # the broker outlives it
    runtime.start_publisher()
    runtime.start_ingest(f"ingest-{uuid.uuid4().hex[:8]}")
    dead = Client(broker, SERVICE_USER, SERVICE_PASSWORD)
    assert dead.subscribe(f"{ROOT}/deadletter/#")
    device = Client(broker, a.device_id, a.password)
    try:
        reading = {"ts": "2027-02-28T23:50:00Z", "lat": 28.77, "lon": 104.63, "accuracy_m": 8}
        device.publish(telemetry(b.device_id), json.dumps({"seq": 1, **reading}).encode())
        device.publish(telemetry(a.device_id), json.dumps({"seq": 1, **reading}).encode())

        def count(device_id: str) -> int:
            with container.db.session() as s:
                return int(
                    s.execute(
                        select(func.count()).select_from(readings).where(readings.c.device_id == device_id)
                    ).scalar_one()
                )

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and count(a.device_id) == 0:
            time.sleep(0.1)
        assert count(a.device_id) == 1, "the device's own reading is ingested"
        time.sleep(0.3)
        assert count(b.device_id) == 0, "the spoofed one never reached the ingest"
        assert dead.messages == [], "nor was it dead-lettered: the broker dropped it"
    finally:
        device.stop()
        dead.stop()
        runtime.stop()


def _refusals(client: TestClient) -> dict[tuple[str, str], float]:
    families = text_string_to_metric_families(client.get("/metrics").text)
    return {
        (m.labels["action"], m.labels["reason"]): m.value
        for family in families
        for m in family.samples
        if m.name == "xborder_broker_refusals_total"
    }


def _wait_for_refusals(
    client: TestClient, expected: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    deadline = time.monotonic() + 10
    while True:  # a refused publish is acknowledged before the broker has checked it
        got = {k: v for k, v in _refusals(client).items() if v}
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_a_device_may_not_be_registered_under_the_service_accounts_name(
    client: TestClient, keys: Keys, container: Container
) -> None:
    h = keys.headers(Role.FORWARDER)
    container.settings = container.settings.model_copy(update={"mqtt_service_user": SERVICE_USER})
    r = client.post("/v1/devices", json={"device_id": SERVICE_USER, "kind": "container"}, headers=h)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "service account" in r.json()["detail"]
    assert [e["field"] for e in r.json()["errors"]] == ["device_id"]
    assert client.get(f"/v1/devices/{SERVICE_USER}", headers=h).status_code == 404  # nothing written
    # Any other name is fine, including one that merely starts like it.
    longer = f"{SERVICE_USER}-{uuid.uuid4().hex[:6]}"
    ok = client.post("/v1/devices", json={"device_id": longer, "kind": "container"}, headers=h)
    assert ok.status_code == 201, ok.text


def test_refusals_are_counted_in_the_metrics_also_before_the_service_is_wired(
    database_url: str, client: TestClient, keys: Keys, container: Container
) -> None:
    """As in `xborder demo`: the broker is chosen, and refuses, before the container and its metrics exist."""
    h = keys.headers(Role.FORWARDER)
    a, b = _register(client, h), _register(client, h)
    settings = Settings(
        database_url=database_url,
        mqtt_url=None,
        mqtt_embedded_port=free_port(),
        mqtt_service_user=SERVICE_USER,
        mqtt_service_password=SERVICE_PASSWORD,
    )
    choice = choose_broker(settings)
    try:
        assert not Client(choice, a.device_id, b.password).connected  # before the metrics are wired
        assert _refusals(client).get(("connect", "bad_credentials")) == 0
        Runtime(container, choice)  # wires the broker's refusals to this container's metrics
        assert _refusals(client)[("connect", "bad_credentials")] == 1  # the one held until then
        assert not Client(choice, None, None).connected
        assert not Client(
            choice, a.device_id, a.password, will=f"{ROOT}/devices/{b.device_id}/status"
        ).connected
        device = Client(choice, a.device_id, a.password)
        try:
            device.publish(telemetry(b.device_id), b'{"seq": 1}')
            device.publish(f"{ROOT}/waybills/XB-FORGED/status", b"{}")
            device.publish(telemetry(a.device_id), b'{"seq": 1}')  # its own: not refused
            assert not device.subscribe(f"{ROOT}/deadletter/+")
            assert device.subscribe(f"{ROOT}/deadletter/{a.device_id}")
        finally:
            device.stop()
        assert _wait_for_refusals(client, {
            ("connect", "bad_credentials"): 1,
            ("connect", "no_credentials"): 1,
            ("will", "not_allowed"): 1,
            ("publish", "not_allowed"): 2,
            ("subscribe", "not_allowed"): 1,
        }) == {
            ("connect", "bad_credentials"): 1,
            ("connect", "no_credentials"): 1,
            ("will", "not_allowed"): 1,
            ("publish", "not_allowed"): 2,
            ("subscribe", "not_allowed"): 1,
        }  # fmt: skip
    finally:
        choice.stop()


def test_a_packet_over_one_megabyte_closes_the_connection_and_never_reaches_the_ingest(
    broker: BrokerChoice, client: TestClient, keys: Keys, container: Container
) -> None:
    """As Mosquitto's `max_packet_size 1048576`: a 2 MB publish is not buffered; the others are served."""
    h = keys.headers(Role.FORWARDER)
    a = _register(client, h, _booking(client, h))
    b = _register(client, h, _booking(client, h))
    container.settings = container.settings.model_copy(
        update={"mqtt_client_prefix": f"h5c-{uuid.uuid4().hex[:8]}"}
    )
    runtime = Runtime(container, replace(broker, embedded=None, access_db=None))  # the broker outlives it
    runtime.start_publisher()
    runtime.start_ingest(f"ingest-{uuid.uuid4().hex[:8]}")
    before = _refusals(client)
    dead = Client(broker, SERVICE_USER, SERVICE_PASSWORD)
    assert dead.subscribe(f"{ROOT}/deadletter/#")
    big, other = Client(broker, a.device_id, a.password), Client(broker, b.device_id, b.password)
    again: Client | None = None
    reading = {"ts": "2027-02-28T23:50:00Z", "lat": 28.77, "lon": 104.63, "accuracy_m": 8}

    def count(device_id: str) -> int:
        with container.db.session() as s:
            return int(
                s.execute(
                    select(func.count()).select_from(readings).where(readings.c.device_id == device_id)
                ).scalar_one()
            )

    def wait(check: object) -> bool:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if check():  # type: ignore[operator]
                return True
            time.sleep(0.1)
        return False

    try:
        huge = json.dumps({"seq": 1, **reading, "note": "x" * (2 * 1024 * 1024)}).encode()
        big.client.publish(telemetry(a.device_id), huge, qos=1)
        assert big.disconnected.wait(10), "the connection is closed"
        other.publish(telemetry(b.device_id), json.dumps({"seq": 1, **reading}).encode())
        assert wait(lambda: count(b.device_id) == 1), "the broker and the ingest keep serving the others"
        assert other.connected and not other.disconnected.is_set()
        # Under the limit, a large payload still passes the broker: the ingest refuses it with a reason.
        again = Client(broker, a.device_id, a.password)
        again.publish(
            telemetry(a.device_id), json.dumps({"seq": 2, **reading, "note": "x" * 900_000}).encode()
        )
        again.publish(telemetry(a.device_id), json.dumps({"seq": 3, **reading}).encode())
        assert wait(lambda: count(a.device_id) == 1), "the device itself is served again after reconnecting"
        assert wait(lambda: len(dead.messages) == 1)
        time.sleep(0.3)
        assert count(a.device_id) == 1  # only seq 3: the 2 MB one never reached the ingest...
        [(topic, letter)] = dead.messages  # ...nor its dead letters: only the 900 KB one is there
        assert topic == f"{ROOT}/deadletter/{a.device_id}" and b"exceeds the limit" in letter, letter[:300]
        after = _refusals(client)
        assert after[("packet", "too_large")] - before[("packet", "too_large")] == 1
    finally:
        for c in (big, other, again, dead):
            if c is not None:
                c.stop()
        runtime.stop()


def test_a_device_cannot_take_over_the_ingests_client_id(
    broker: BrokerChoice, client: TestClient, keys: Keys, container: Container
) -> None:
    """A device CONNECTs with the ingest's client id: it runs under its own id, the ingest keeps its own."""
    h = keys.headers(Role.FORWARDER)
    a = _register(client, h)
    b = _register(client, h, _booking(client, h))
    prefix = f"h16-{uuid.uuid4().hex[:8]}"
    container.settings = container.settings.model_copy(update={"mqtt_client_prefix": prefix})
    runtime = Runtime(container, replace(broker, embedded=None, access_db=None))  # the broker outlives it
    runtime.start_publisher()
    ingest = runtime.start_ingest("ingest")
    spoofer = Client(broker, a.device_id, a.password, client_id=f"{prefix}-ingest")
    other = Client(broker, b.device_id, b.password, client_id=a.device_id)  # and another device's id
    try:
        assert spoofer.connected and other.connected
        reading = {"seq": 1, "ts": "2027-02-28T23:50:00Z", "lat": 28.77, "lon": 104.63, "accuracy_m": 8}
        other.publish(telemetry(b.device_id), json.dumps(reading).encode())

        def count() -> int:
            with container.db.session() as s:
                return int(
                    s.execute(
                        select(func.count()).select_from(readings).where(readings.c.device_id == b.device_id)
                    ).scalar_one()
                )

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and count() == 0:
            time.sleep(0.1)
        assert count() == 1, "the ingest still receives"
        assert ingest.liveness() is None
        assert not spoofer.disconnected.is_set()  # neither device took the other's session
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["ingest"] == "ok"
    finally:
        spoofer.stop()
        other.stop()
        runtime.stop()
