"""The shipped Mosquitto configuration with `xborder mqtt-config` files, on a real broker.

Starts `/usr/sbin/mosquitto` with `deploy/mosquitto/mosquitto.conf` (listener, file paths and persistence
moved to a temp dir and a free port) and checks that a device can publish under its own id only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from api.cli import main as cli_main
from logistics.mqtt_acl import verify_password

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
SERVICE_PASSWORD = "service-" + uuid.uuid4().hex

pytestmark = pytest.mark.skipif(
    not os.path.exists(MOSQUITTO), reason=f"needs the Mosquitto broker at {MOSQUITTO}"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Ports:
    """The shipped configuration's two listeners: the trackers' (1883) and the service's (1884)."""

    devices: int
    service: int


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ports]:
    work = tmp_path_factory.mktemp("mosquitto")
    assert cli_main([
        "mqtt-config", "--out", str(work / "etc"), "--service-user", "xb-svc",
        "--service-password", SERVICE_PASSWORD, "--device", "trk-a:secret-a", "--device", "trk-b:secret-b",
    ]) == 0  # fmt: skip
    ports = Ports(free_port(), free_port())
    listeners = {"1883": ports.devices, "1884": ports.service}
    (work / "data").mkdir()
    lines = []
    for line in CONF.read_text().splitlines():
        key, _, value = line.partition(" ")
        replacements = {
            "listener": f"listener {listeners.get(value, value)} 127.0.0.1",
            "password_file": f"password_file {work / 'etc' / Path(value).name}",
            "acl_file": f"acl_file {work / 'etc' / 'acl'}",
            "persistence_location": f"persistence_location {work / 'data'}/",
            "log_dest": f"log_dest file {work / 'mosquitto.log'}",
        }
        lines.append(replacements.get(key, line))
    if os.geteuid() == 0:
        lines.append("user root")  # else it drops to `mosquitto`, who cannot read the 0600 files
    conf = work / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for port in (ports.devices, ports.service):
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None:
                        err = proc.stderr.read().decode() if proc.stderr else ""
                        pytest.fail(f"mosquitto exited: {err}")
                    time.sleep(0.05)
        yield ports
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


class Client:
    """Connects where its kind of user logs in: the service account to the service listener, anyone else to
    the trackers' (unless `port` says otherwise)."""

    def __init__(
        self,
        broker: Ports,
        username: str | None,
        password: str | None,
        *,
        client_id: str | None = None,
        port: int | None = None,
    ) -> None:
        if port is None:
            port = broker.service if username == "xb-svc" else broker.devices
        self.disconnected = threading.Event()
        self.messages: list[tuple[str, bytes]] = []
        self.acks: dict[int, int] = {}
        self.got = threading.Condition()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack = threading.Event()
        self.reason = -1
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = lambda *_: self.disconnected.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connack.wait(5), "no CONNACK"
        self.connected = self.reason == 0
        if not self.connected:
            self.stop()

    def _on_connect(
        self, client: paho.Client, userdata: object, flags: object, rc: object, props: object
    ) -> None:
        self.reason = int(rc.value if hasattr(rc, "value") else rc)  # type: ignore[arg-type]
        self.connack.set()

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        with self.got:
            self.messages.append((msg.topic, bytes(msg.payload)))
            self.got.notify_all()

    def _on_publish(self, client: paho.Client, userdata: object, mid: int, rc: object, props: object) -> None:
        with self.got:
            self.acks[mid] = int(rc.value if hasattr(rc, "value") else rc)  # type: ignore[arg-type]
            self.got.notify_all()

    def publish(self, topic: str, payload: bytes) -> int:
        """QoS 1 publish; the PUBACK reason code (0 or 16 = accepted, 135 = not authorised)."""
        info = self.client.publish(topic, payload, qos=1)
        with self.got:
            assert self.got.wait_for(lambda: info.mid in self.acks, timeout=5)
            return self.acks[info.mid]

    def subscribe(self, topic_filter: str) -> None:
        """Subscribe at QoS 1 and wait for the SUBACK: what is published after this is routed here."""
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.subscribe(topic_filter, qos=1)
        assert subscribed.wait(5), "no SUBACK"

    def wait_for(self, count: int, timeout: float = 5) -> list[tuple[str, bytes]]:
        with self.got:
            self.got.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_device_publishes_under_its_own_id_only(broker: Ports) -> None:
    service = Client(broker, "xb-svc", SERVICE_PASSWORD)
    assert service.connected
    service.subscribe("xborder/v1/devices/+/telemetry")
    device = Client(broker, "trk-a", "secret-a")
    assert device.connected
    try:
        assert device.publish("xborder/v1/devices/trk-a/telemetry", b'{"seq": 1}') == 0
        assert device.publish("xborder/v1/devices/trk-b/telemetry", b'{"seq": 666}') == 135  # not authorised
        assert device.publish("xborder/v1/waybills/XB1/status", b"forged") == 135
        assert device.publish("xborder/v1/devices/trk-a/telemetry", b'{"seq": 2}') == 0
        # The broker delivers in order: a forged message routed to us would come before seq 2.
        assert service.wait_for(2) == [
            ("xborder/v1/devices/trk-a/telemetry", b'{"seq": 1}'),
            ("xborder/v1/devices/trk-a/telemetry", b'{"seq": 2}'),
        ]
    finally:
        device.stop()
        service.stop()


def test_the_service_user_may_publish_waybill_status_and_share_subscriptions(broker: Ports) -> None:
    service = Client(broker, "xb-svc", SERVICE_PASSWORD)
    listener = Client(broker, "xb-svc", SERVICE_PASSWORD)
    try:
        listener.subscribe("$share/ingest/xborder/v1/devices/+/telemetry")
        device = Client(broker, "trk-b", "secret-b")
        assert device.publish("xborder/v1/devices/trk-b/telemetry", b'{"seq": 5}') == 0
        assert listener.wait_for(1) == [("xborder/v1/devices/trk-b/telemetry", b'{"seq": 5}')]
        # accepted; nobody subscribes to it here, so the PUBACK says 16 (no matching subscribers), not 135
        assert service.publish("xborder/v1/waybills/XB1/status", b'{"status": "IN_TRANSIT"}') == 16
        device.stop()
    finally:
        service.stop()
        listener.stop()


def test_wrong_or_missing_credentials_are_refused(broker: Ports) -> None:
    for username, password in (("trk-a", "wrong"), (None, None), ("trk-unknown", "secret-a")):
        client = Client(broker, username, password)
        assert not client.connected
        assert client.reason == 135  # Not authorized


@pytest.mark.skipif(not shutil.which(MOSQUITTO_PASSWD), reason=f"needs {MOSQUITTO_PASSWD}")
def test_hashes_written_by_mosquitto_passwd_verify_here(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(path), "trk-z", "s3cret:with colon"], check=True)
    user, encoded = path.read_text().strip().split(":", 1)
    assert user == "trk-z" and encoded.startswith("$7$101$")
    assert verify_password("s3cret:with colon", encoded)
    assert not verify_password("s3cret", encoded)


def test_a_device_cannot_take_over_the_ingests_client_id(broker: Ports) -> None:
    """A tracker CONNECTs with the ingest's client id: it runs as itself, and the ingest stays connected."""
    ingest = Client(broker, "xb-svc", SERVICE_PASSWORD, client_id="xborder-ingest")
    assert ingest.connected
    ingest.subscribe("xborder/v1/devices/+/telemetry")
    spoofer = Client(broker, "trk-a", "secret-a", client_id="xborder-ingest")
    other = Client(broker, "trk-b", "secret-b", client_id="trk-a")  # and another device's id
    try:
        assert spoofer.connected and other.connected
        assert spoofer.publish("xborder/v1/devices/trk-a/telemetry", b'{"seq": 1}') == 0
        assert other.publish("xborder/v1/devices/trk-b/telemetry", b'{"seq": 1}') == 0
        assert sorted(ingest.wait_for(2)) == [
            ("xborder/v1/devices/trk-a/telemetry", b'{"seq": 1}'),
            ("xborder/v1/devices/trk-b/telemetry", b'{"seq": 1}'),
        ]
        assert not ingest.disconnected.is_set()
        assert not spoofer.disconnected.is_set()  # neither took the other's session
    finally:
        for c in (spoofer, other, ingest):
            c.stop()


def test_each_listener_takes_only_its_own_users(broker: Ports) -> None:
    device_on_service = Client(broker, "trk-a", "secret-a", port=broker.service)
    assert device_on_service.reason == 135  # a device never logs in where it could choose its client id
    service_on_devices = Client(broker, "xb-svc", SERVICE_PASSWORD, port=broker.devices)
    assert service_on_devices.reason == 135
    service = Client(broker, "xb-svc", SERVICE_PASSWORD)
    assert service.connected
    service.stop()
