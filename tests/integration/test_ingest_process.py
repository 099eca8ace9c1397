"""The ingest as a real process against a real broker: kill -9 mid-burst loses and duplicates nothing;
several ingest processes share the load (MQTT 5 shared subscription) and still get every waybill right."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select

from kernel.clock import FixedClock
from kernel.db import Database
from kernel.identity import Role
from logistics.tables import readings
from tests.conftest import TEST_MQTT_URL, Keys

ROOT = Path(__file__).resolve().parents[2]


def _publisher(url: str, client_id: str) -> mqtt.Client:
    scheme, rest = url.split("://", 1)
    host, port = rest.rsplit("@", 1)[-1].split(":")
    proto = MQTTProtocolVersion.MQTTv311 if scheme == "mqtt311" else MQTTProtocolVersion.MQTTv5
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=proto)
    c.max_inflight_messages_set(200)
    c.connect(host, int(port))
    c.loop_start()
    return c


def _start_ingest(database_url: str, broker: str, ingest_id: str, prefix: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XB_")}
    env.update(
        {
            "XB_DATABASE_URL": database_url,
            "XB_MQTT_URL": broker,
            "XB_MQTT_CLIENT_PREFIX": prefix,
            "XB_LOG_LEVEL": "warning",
            "XB_CLOCK_START": "2027-03-10T00:00:00Z",
            "XB_INGEST_SHARE_GROUP": f"g-{prefix}",
            "XB_MQTT_SESSION_EXPIRY_S": "300",
            # Small batches: a burst of 1,500 is 75 commits or more, so a kill lands between two of them and
            # several workers interleave on the same waybills.
            "XB_INGEST_BATCH_SIZE": "20",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "ingest", "--id", ingest_id],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_online(url: str, ingest_id: str, timeout: float = 60) -> None:
    """The ingest publishes its retained `online` status once connected and subscribed."""
    seen: list[bytes | bytearray] = []
    c = _publisher(url, f"probe-{ingest_id}-{time.monotonic_ns()}")
    c.on_message = lambda _c, _u, m: seen.append(m.payload)
    c.subscribe(f"xborder/v1/services/{ingest_id}/status", qos=1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and b"online" not in seen:
        time.sleep(0.1)
    c.disconnect()
    c.loop_stop()
    assert b"online" in seen, f"ingest {ingest_id} did not come online"
    time.sleep(0.5)  # its SUBSCRIBE went out before the status; give the broker a moment to apply it


def _count(db: Database, devices: list[str]) -> int:
    with db.session() as s:
        return int(
            s.execute(
                select(func.count()).select_from(readings).where(readings.c.device_id.in_(devices))
            ).scalar_one()
        )


def _shipments(client: TestClient, keys: Keys, n: int, tag: str) -> tuple[list[str], list[str], dict]:
    h = keys.headers(Role.FORWARDER)
    r = client.post(
        "/v1/quotes",
        headers=h,
        json={
            "origin": "CNYIB",
            "destination": "PLLOD",
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 500, "volume_m3": 2, "equipment": "LCL"},
            "customs_mode": "9810",
        },
    )
    assert r.status_code == 201, r.text
    quote = r.json()
    devices, waybills = [], []
    stops: dict = {}
    for i in range(n):
        b = client.post(
            "/v1/bookings", headers=h, json={"quote_id": quote["id"], "option_id": quote["options"][0]["id"]}
        )
        assert b.status_code == 201, b.text
        no = b.json()["waybill_no"]
        dev = f"{tag}-{i}-{no}"
        assert (
            client.post("/v1/devices", headers=h, json={"device_id": dev, "kind": "container"}).status_code
            == 201
        )
        assert (
            client.post(f"/v1/waybills/{no}/trackers", headers=h, json={"device_id": dev}).status_code == 201
        )
        devices.append(dev)
        waybills.append(no)
        stops = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"]
    return devices, waybills, stops


def _burst(pub: mqtt.Client, devices: list[str], per_device: int, origin: dict, start: int = 0) -> None:
    """Readings `start` .. `per_device` - 1 of every device, half-hourly, the device sitting at the origin."""
    from datetime import datetime

    t0 = datetime.fromisoformat(origin["planned_departure"].replace("Z", "+00:00")) - timedelta(
        hours=per_device
    )
    for k in range(start, per_device):
        for dev in devices:
            ts = (t0 + timedelta(minutes=30 * k)).isoformat().replace("+00:00", "Z")
            pub.publish(
                f"xborder/v1/devices/{dev}/telemetry",
                json.dumps({"seq": k + 1, "ts": ts, "lat": origin["lat"], "lon": origin["lon"]}),
                qos=1,
            )


@pytest.mark.skipif(
    not TEST_MQTT_URL,
    reason="the embedded broker (amqtt) does not keep QoS 1 messages for a disconnected persistent session; "
    "run with XB_TEST_MQTT_URL pointing at Mosquitto, as .ci/run does",
)
def test_ingest_killed_mid_burst_loses_nothing_and_duplicates_nothing(
    client: TestClient, keys: Keys, database: Database, database_url: str, broker_url: str, clock: FixedClock
) -> None:
    devices, _, stops = _shipments(client, keys, 10, "kill")
    prefix = f"xbt-kill-{os.getpid()}"
    ingest = _start_ingest(database_url, broker_url, f"{prefix}-ingest", prefix)
    _wait_online(broker_url, f"{prefix}-ingest")  # subscribed: the persistent session exists at the broker
    pub = _publisher(broker_url, f"{prefix}-pub")
    per_device = 150
    total = per_device * len(devices)
    # The burst's first half goes out; the ingest is killed soon after its first commits, while the rest of
    # that half is in flight (delivered and not yet committed, or still queued at the broker); the second
    # half is published while it is down, for its persistent session. However fast the store, the kill
    # lands mid-burst.
    _burst(pub, devices, per_device // 2, stops[0])
    deadline = time.monotonic() + 60
    while _count(database, devices) < total // 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(ingest.pid, signal.SIGKILL)
    ingest.wait(10)
    stored_at_kill = _count(database, devices)
    assert 0 < stored_at_kill < total
    _burst(pub, devices, per_device, stops[0], start=per_device // 2)
    ingest = _start_ingest(database_url, broker_url, f"{prefix}-ingest", prefix)
    try:
        deadline = time.monotonic() + 120
        while _count(database, devices) < total and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _count(database, devices) == total
        with database.session() as s:
            per_dev: dict[str, int] = dict(
                s.execute(
                    select(readings.c.device_id, func.count())
                    .where(readings.c.device_id.in_(devices))
                    .group_by(readings.c.device_id)
                ).all()
            )
        assert all(per_dev[d] == per_device for d in devices)
    finally:
        ingest.terminate()
        ingest.wait(20)
        pub.disconnect()
        pub.loop_stop()


@pytest.mark.skipif(
    not (TEST_MQTT_URL or "").startswith("mqtt://"),
    reason="shared subscriptions need an MQTT 5 broker (XB_TEST_MQTT_URL=mqtt://...)",
)
def test_several_ingest_processes_share_the_load_and_agree_with_replay(
    client: TestClient, keys: Keys, database: Database, database_url: str, broker_url: str
) -> None:
    from logistics.replay import replay_waybill

    devices, waybills, stops = _shipments(client, keys, 8, "share")
    prefix = f"xbt-share-{os.getpid()}"
    procs = [_start_ingest(database_url, broker_url, f"{prefix}-{i}", prefix) for i in range(3)]
    try:
        for i in range(3):
            _wait_online(broker_url, f"{prefix}-{i}")
        pub = _publisher(broker_url, f"{prefix}-pub")
        _burst(pub, devices, 60, stops[0])
        deadline = time.monotonic() + 90
        while _count(database, devices) < 60 * len(devices) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _count(database, devices) == 60 * len(devices)
        time.sleep(1)
        from datetime import UTC, datetime

        for no in waybills:
            with database.session() as s:
                report = replay_waybill(s, no, datetime(2027, 3, 10, tzinfo=UTC), check_only=True)
            assert report["same"], report
        pub.disconnect()
        pub.loop_stop()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
