"""Embedded broker (amqtt): what the device ACL costs, beside the open broker in the same run.

Two embedded brokers in this process, one open (anonymous, no topic checks: the baseline) and one with the
device ACL (`api.broker_access.DeviceBrokerAccess` over a SQLite device registry, as `xborder serve` wires
it). On each, one device publishes N QoS 1 readings under its own id (paho, its own network thread) and one
service subscriber counts them; the device also publishes N/10 under another device's id, which the guarded
broker must drop. Prints readings/s from first publish to last receipt, publish-to-receipt latency p50 / p95
/ p99, the time to log a device in (database lookup + PBKDF2), and peak RSS.

Run: `python bench/bench_embedded_broker.py` (N=5,000) or `--quick` (N=1,000).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from api.broker_access import DeviceBrokerAccess, ServiceAccount  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from kernel.broker import EmbeddedBroker, free_port  # noqa: E402
from kernel.db import Database, make_engine  # noqa: E402
from kernel.identity import ensure_platform_tenant  # noqa: E402
from logistics.mqtt_acl import hash_password  # noqa: E402
from logistics.tables import devices  # noqa: E402

ROOT = "xborder/v1"
DEVICE, OTHER, PASSWORD = "bench-trk-1", "bench-trk-2", "bench-device-password"
SERVICE = ServiceAccount("xborder-service", "bench-service-password")


def client(port: int, client_id: str, user: tuple[str, str] | None) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv311)
    c.max_inflight_messages_set(100)
    if user is not None:
        c.username_pw_set(*user)
    connected = threading.Event()
    c.on_connect = lambda _c, _u, _f, rc, _p: connected.set() if not rc.is_failure else None
    c.connect("127.0.0.1", port)
    c.loop_start()
    if not connected.wait(10):
        raise SystemExit(f"no connection to the broker on {port} as {user[0] if user else 'anonymous'}")
    return c


def run(port: int, n: int, guarded: bool) -> dict[str, float]:
    device_user = (DEVICE, PASSWORD) if guarded else None
    service_user = (SERVICE.username, SERVICE.password) if guarded else None
    received: dict[int, float] = {}
    spoofed = 0
    done = threading.Event()

    def on_message(_c: object, _u: object, m: paho.MQTTMessage) -> None:
        nonlocal spoofed
        if m.topic.endswith(f"/{OTHER}/telemetry"):
            spoofed += 1
            return
        received[int(m.payload.split(b",", 1)[0])] = time.perf_counter()
        if len(received) >= n:
            done.set()

    sub = client(port, f"bench-svc-{guarded}", service_user)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.subscribe(f"{ROOT}/devices/+/telemetry", qos=1)
    subscribed.wait(10)
    t_login = time.perf_counter()
    pub = client(port, f"bench-dev-{guarded}", device_user)
    login_s = time.perf_counter() - t_login
    sent: dict[int, float] = {}
    payload_tail = b',"ts":"2027-03-01T00:00:00Z","lat":28.77,"lon":104.63}'
    start = time.perf_counter()
    for seq in range(n):
        sent[seq] = time.perf_counter()
        pub.publish(f"{ROOT}/devices/{DEVICE}/telemetry", str(seq).encode() + payload_tail, qos=1)
        if seq % 10 == 0:
            pub.publish(f"{ROOT}/devices/{OTHER}/telemetry", str(seq).encode() + payload_tail, qos=1)
    done.wait(300)
    elapsed = max(received.values(), default=start) - start
    time.sleep(0.3)
    latencies = sorted((received[s] - sent[s]) * 1000 for s in received)
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "received": len(received),
        "per_s": len(received) / elapsed if elapsed > 0 else 0.0,
        "p50": q[49],
        "p95": q[94],
        "p99": q[98],
        "spoofed_delivered": spoofed,
        "login_ms": login_s * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("-n", type=int, default=None)
    args = parser.parse_args()
    n = args.n or (1_000 if args.quick else 5_000)
    with tempfile.TemporaryDirectory(prefix="xb-bench-broker-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        db = Database(make_engine(url))
        with db.session() as s:
            tenant = ensure_platform_tenant(s, datetime.now(UTC))
            for device_id in (DEVICE, OTHER):
                s.execute(
                    devices.insert().values(
                        device_id=device_id, tenant_id=tenant, kind="container",
                        secret_hash=hash_password(PASSWORD), report_interval_s=60,
                        created_at=datetime.now(UTC),
                    )
                )  # fmt: skip
        open_broker = EmbeddedBroker(port=free_port()).start()
        access = DeviceBrokerAccess.build(db, SERVICE, ROOT)
        guarded_broker = EmbeddedBroker(port=free_port(), access=access).start()
        try:
            base = run(open_broker.port, n, guarded=False)
            acl = run(guarded_broker.port, n, guarded=True)
        finally:
            open_broker.stop()
            guarded_broker.stop()
            db.engine.dispose()
    print(
        f"embedded broker, {n:,} QoS 1 readings from one device to one service subscriber "
        f"(+{n // 10:,} under another id)"
    )
    print(
        f"{'':24s}{'readings/s':>12s}{'p50 ms':>9s}{'p95 ms':>9s}{'p99 ms':>9s}"
        f"{'spoofed in':>12s}{'login ms':>10s}"
    )
    for name, r in (("open (baseline)", base), ("device ACL", acl)):
        print(
            f"{name:24s}{r['per_s']:12,.0f}{r['p50']:9.1f}{r['p95']:9.1f}{r['p99']:9.1f}"
            f"{r['spoofed_delivered']:12.0f}{r['login_ms']:10.1f}"
        )
    print(f"ACL / open throughput: {acl['per_s'] / base['per_s']:.2f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    ok = base["received"] == n and acl["received"] == n and acl["spoofed_delivered"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
