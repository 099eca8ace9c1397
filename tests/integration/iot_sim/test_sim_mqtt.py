"""The simulator's MQTT fleet against a real broker: Mosquitto (XB_TEST_MQTT_URL) or the embedded one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from iot_sim.mqtt import BrokerUrl, MqttFleet

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    url = os.environ.get("XB_TEST_MQTT_URL")
    if url:
        yield url
        return
    from kernel.broker import EmbeddedBroker, free_port

    broker = EmbeddedBroker(port=free_port()).start()
    try:
        yield broker.url
    finally:
        _stop(broker)


class Listener:
    """A plain paho subscriber that records what arrives."""

    def __init__(self, url: str, topic_filter: str) -> None:
        b = BrokerUrl.parse(url)
        proto = MQTTProtocolVersion.MQTTv5 if b.protocol == 5 else MQTTProtocolVersion.MQTTv311
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sim-it-{uuid.uuid4().hex[:8]}", protocol=proto
        )
        if b.username:
            self.client.username_pw_set(b.username, b.password)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect(b.host, b.port)
        self.client.subscribe(topic_filter, qos=1)
        self.client.loop_start()
        assert self._subscribed.wait(10), "subscription not acknowledged"

    def _on_message(self, _c, _u, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

    def wait_for(self, predicate, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(list(self.messages)):
                    return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def clear_retained(url: str, topics: list[str]) -> None:
    b = BrokerUrl.parse(url)
    proto = MQTTProtocolVersion.MQTTv5 if b.protocol == 5 else MQTTProtocolVersion.MQTTv311
    c = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"sim-it-clean-{uuid.uuid4().hex[:8]}", protocol=proto
    )
    if b.username:
        c.username_pw_set(b.username, b.password)
    c.connect(b.host, b.port)
    c.loop_start()
    for info in [c.publish(t, b"", qos=1, retain=True) for t in topics]:
        info.wait_for_publish(5)
    c.loop_stop()
    c.disconnect()


def test_each_device_publishes_in_order_with_status_online_then_offline(broker_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    devices = [f"simit-{run}-{i}" for i in range(25)]
    listener = Listener(broker_url, "xborder/v1/devices/#")
    fleet = MqttFleet(BrokerUrl.parse(broker_url))
    try:
        for d in devices:
            fleet.add(d, None, None)
        deadline = time.monotonic() + 20
        while fleet.connected() < len(devices) and time.monotonic() < deadline:
            fleet.poll(0.05)
        assert fleet.connected() == len(devices)
        for seq in range(1, 11):
            for d in devices:
                fleet.publish(d, f"xborder/v1/devices/{d}/telemetry", json.dumps({"seq": seq}).encode())
            fleet.poll(0)
        deadline = time.monotonic() + 20
        while fleet.stats.unacked > 0 and time.monotonic() < deadline:
            fleet.poll(0.05)
        assert fleet.stats.unacked == 0
        fleet.close()
        assert len(fleet) == 0

        def complete(msgs) -> bool:
            offline = {t for t, p, _ in msgs if t.endswith("/status") and p == b"offline" and run in t}
            return len(offline) == len(devices)

        assert listener.wait_for(complete)
        for d in devices:
            mine = [(t, p) for t, p, _ in listener.messages if f"/{d}/" in t]
            seqs = [json.loads(p)["seq"] for t, p in mine if t.endswith("/telemetry")]
            assert seqs == list(range(1, 11))  # one client per device: per-device order holds
            statuses = [p for t, p in mine if t.endswith("/status")]
            assert statuses[0] == b"online" and statuses[-1] == b"offline"
    finally:
        listener.stop()
        clear_retained(broker_url, [f"xborder/v1/devices/{d}/status" for d in devices])


def test_a_killed_simulator_leaves_offline_through_the_last_will(broker_url: str, tmp_path: Path) -> None:
    device = f"simit-will-{uuid.uuid4().hex[:8]}"
    status = f"xborder/v1/devices/{device}/status"
    listener = Listener(broker_url, status)
    script = (
        "import sys, time\n"
        "from iot_sim.mqtt import BrokerUrl, MqttFleet\n"
        "f = MqttFleet(BrokerUrl.parse(sys.argv[1]), keepalive=5)\n"
        "f.add(sys.argv[2], None, None)\n"
        "while f.connected() < 1: f.poll(0.05)\n"
        "print('up', flush=True)\n"
        "while True: f.poll(0.2)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, broker_url, device], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        assert listener.wait_for(lambda m: any(p == b"online" for _, p, _ in m))
        proc.kill()  # no DISCONNECT: the broker must publish the will
        proc.wait(10)
        assert listener.wait_for(lambda m: m and m[-1][1] == b"offline", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        listener.stop()
        clear_retained(broker_url, [status])


def test_readings_published_while_the_broker_is_down_arrive_after_it_returns() -> None:
    """Always on an embedded broker that the test stops and starts again on the same port."""
    from kernel.broker import EmbeddedBroker, free_port

    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    url = broker.url
    device = f"simit-reconnect-{uuid.uuid4().hex[:8]}"
    fleet = MqttFleet(BrokerUrl.parse(url), keepalive=5)
    try:
        fleet.add(device, None, None)
        deadline = time.monotonic() + 10
        while fleet.connected() < 1 and time.monotonic() < deadline:
            fleet.poll(0.05)
        assert fleet.connected() == 1
        _stop(broker)
        deadline = time.monotonic() + 10
        while fleet.connected() and time.monotonic() < deadline:
            fleet.poll(0.05)
        assert fleet.connected() == 0  # it noticed
        for seq in range(1, 6):  # the tracker keeps measuring while it cannot reach the broker
            fleet.publish(device, f"xborder/v1/devices/{device}/telemetry", json.dumps({"seq": seq}).encode())
            fleet.poll(0.01)
        broker = EmbeddedBroker(port=port).start()
        listener = Listener(url, f"xborder/v1/devices/{device}/telemetry")
        try:
            deadline = time.monotonic() + 30
            while (fleet.connected() < 1 or fleet.stats.unacked) and time.monotonic() < deadline:
                fleet.poll(0.05)
            assert fleet.connected() == 1 and fleet.stats.unacked == 0
            assert listener.wait_for(lambda m: len(m) >= 5)
            assert [json.loads(p)["seq"] for _, p, _ in listener.messages] == [1, 2, 3, 4, 5]
        finally:
            listener.stop()
    finally:
        fleet.close(timeout=2)
        _stop(broker)


def _stop(broker: object) -> None:
    broker.stop()  # type: ignore[attr-defined]
    # EmbeddedBroker.stop() leaves its event loop open (a ResourceWarning once the object is collected).
    loop = getattr(broker, "_loop", None)
    if loop is not None and not loop.is_closed() and not loop.is_running():
        loop.close()
