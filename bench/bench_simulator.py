"""Tracker simulator: how many devices one simulator process drives, and at what publish rate.

(a) the simulator's own work without a network (motion + sensor model + all fault injectors + JSON);
(b) the fleet: N devices, each its own MQTT client (own client id, last will, session) in one selector loop,
    publishing K readings each at QoS 1 until the broker has acknowledged every one;
(c) the baseline in the same run: ONE paho client (paho's own network thread) publishing the same N x K
    payloads at QoS 1 on a single connection.
Prints connect time, readings/s, CPU seconds per 1,000 readings and peak RSS.

Broker: `XB_BENCH_MQTT_URL` (default mqtt://127.0.0.1:1883), else the embedded amqtt broker when none answers.
Run: `python bench/bench_simulator.py` (N=500, K=40) or `--quick` (N=100, K=20). Topics live under
`bench/sim/<run>/`; the retained device status messages it leaves are cleared at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from iot_sim.faults import Emission, build_chain, feed_chain, flush_chain, parse_faults  # noqa: E402
from iot_sim.motion import build_stops  # noqa: E402
from iot_sim.mqtt import BrokerUrl, MqttFleet  # noqa: E402
from iot_sim.readings import TrackerModel  # noqa: E402

T0 = datetime(2027, 3, 1, tzinfo=UTC)
STOPS = build_stops(
    [
        {
            "node_id": "YIB",
            "lat": 28.77,
            "lon": 104.63,
            "role": "origin",
            "planned_departure": "2027-03-01T06:00:00Z",
        },
        {
            "node_id": "AKL",
            "lat": 45.17,
            "lon": 82.57,
            "role": "border",
            "planned_arrival": "2027-03-05T00:00:00Z",
            "planned_departure": "2027-03-05T04:00:00Z",
        },
        {
            "node_id": "DUI",
            "lat": 51.43,
            "lon": 6.76,
            "role": "destination",
            "planned_arrival": "2027-03-15T00:00:00Z",
        },
    ]
)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def payloads(n: int, k: int, faults: bool) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    for i in range(n):
        device = f"dev-{i}"
        model = TrackerModel(device, STOPS, random.Random(i), reefer_setpoint_c=5.0 if i % 4 == 0 else None)
        chain = build_chain(
            parse_faults("all") if faults else (), device, 1, victims=lambda: ["dev-0", "dev-1"]
        )
        mine = []
        for j in range(k):
            for e in feed_chain(
                chain, Emission.single(device, model.reading_at(T0 + j * timedelta(minutes=30)))
            ):
                mine.append(e.payload())
        mine.extend(e.payload() for e in flush_chain(chain))
        out.append(mine)
    return out


def bench_model(n: int, k: int) -> None:
    for faults in (False, True):
        t, c = time.perf_counter(), time.process_time()
        total = sum(len(p) for p in payloads(n, k, faults))
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        label = "model + all faults + JSON" if faults else "model + JSON, no faults"
        print(
            f"(a) {label:28s} {n * k:7d} readings in {wall:6.2f} s = {n * k / wall:8.0f} readings/s "
            f"({total} payloads, {cpu / (n * k) * 1e6:.0f} us CPU each)"
        )


def broker_url() -> tuple[str, object | None]:
    url = os.environ.get("XB_BENCH_MQTT_URL", "mqtt://127.0.0.1:1883")
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 1883), timeout=1):
            return url, None
    except OSError:
        from kernel.broker import EmbeddedBroker, free_port

        broker = EmbeddedBroker(port=free_port()).start()
        return broker.url, broker


def bench_fleet(url: str, run: str, data: list[list[bytes]]) -> list[str]:
    n = len(data)
    fleet = MqttFleet(BrokerUrl.parse(url), client_id_prefix=f"bench-{run}-")
    devices = [f"benchsim-{run}-{i}" for i in range(n)]
    rss0 = rss_mb()
    t = time.perf_counter()
    for d in devices:
        fleet.add(d, None, None)
    while fleet.connected() < n and time.perf_counter() - t < 120:
        fleet.poll(0.05)
    connect_s = time.perf_counter() - t
    total = sum(len(p) for p in data)
    t, c = time.perf_counter(), time.process_time()
    sent0 = fleet.stats.sent
    k = max(len(p) for p in data)
    for j in range(k):  # round by round, as the fleet's loop publishes what has come due
        for d, mine in zip(devices, data, strict=True):
            if j < len(mine):
                fleet.publish(d, f"bench/sim/{run}/{d}", mine[j])
        fleet.poll(0)
    while fleet.stats.unacked > 0 and time.perf_counter() - t < 300:
        fleet.poll(0.01)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    assert fleet.stats.sent - sent0 == total
    print(
        f"(b) fleet: {n} devices, one client each: all connected in {connect_s:5.2f} s; "
        f"{total} QoS 1 publishes acked in {wall:6.2f} s = {total / wall:7.0f}/s, "
        f"{cpu / total * 1000:.2f} CPU s per 1,000; "
        f"peak RSS {rss_mb():.0f} MB (+{rss_mb() - rss0:.0f} MB), unacked {fleet.stats.unacked}"
    )
    fleet.close()
    return devices


def bench_baseline(url: str, run: str, data: list[list[bytes]]) -> None:
    b = BrokerUrl.parse(url)
    proto = MQTTProtocolVersion.MQTTv5 if b.protocol == 5 else MQTTProtocolVersion.MQTTv311
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{run}-baseline", protocol=proto)
    client.max_inflight_messages_set(50)
    done = threading.Event()
    total = sum(len(p) for p in data)
    acked = [0]

    def on_publish(*_: object) -> None:
        acked[0] += 1
        if acked[0] == total:
            done.set()

    client.on_publish = on_publish
    client.connect(b.host, b.port)
    client.loop_start()
    t, c = time.perf_counter(), time.process_time()
    k = max(len(p) for p in data)
    for j in range(k):
        for i, mine in enumerate(data):
            if j < len(mine):
                client.publish(f"bench/sim/{run}/base-{i}", mine[j], qos=1)
    done.wait(300)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"(c) baseline: 1 paho client, 1 connection: {acked[0]} QoS 1 publishes acked in {wall:6.2f} s = "
        f"{acked[0] / wall:7.0f}/s, {cpu / total * 1000:.2f} CPU s per 1,000"
    )
    client.disconnect()
    client.loop_stop()


def clear_status(url: str, run: str, devices: list[str]) -> None:
    b = BrokerUrl.parse(url)
    proto = MQTTProtocolVersion.MQTTv5 if b.protocol == 5 else MQTTProtocolVersion.MQTTv311
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{run}-clean", protocol=proto)
    c.connect(b.host, b.port)
    c.loop_start()
    for info in [c.publish(f"xborder/v1/devices/{d}/status", b"", qos=1, retain=True) for d in devices]:
        info.wait_for_publish(10)
    c.disconnect()
    c.loop_stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--devices", type=int)
    ap.add_argument("--readings", type=int)
    args = ap.parse_args()
    n = args.devices or (100 if args.quick else 500)
    k = args.readings or (20 if args.quick else 40)
    bench_model(n, k)
    url, embedded = broker_url()
    print(
        f"broker: {url}{' (embedded amqtt)' if embedded else ''}; open files limit "
        f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]}"
    )
    run = uuid.uuid4().hex[:6]
    data = payloads(n, k, faults=False)
    devices = bench_fleet(url, run, data)
    bench_baseline(url, run, data)
    clear_status(url, run, devices)
    if embedded is not None:
        embedded.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
