"""What a kill -9 of Mosquitto loses and what saving on every change costs, old and new settings side by side.

For each persistence setting (the old `autosave_interval 30`, the shipped `autosave_on_changes true` and
`autosave_interval 1`, and `persistence false` for reference) on the production file's queueing lines:
1. queued: the ingest's persistent session subscribes and goes offline; a tracker publishes N QoS 1 readings
   (up to 1,000 in flight) and the clock stops at the last PUBACK (acknowledged messages/s, also per tenth of
   the burst, since each save rewrites the whole queue); the broker is killed with SIGKILL right after the
   last PUBACK, restarted on the same database, and the session counts what it receives;
2. online: the same burst with the session connected and acknowledging as it receives (the steady state when
   the ingest keeps up), acknowledged messages/s.
Both with one tracker publishing and with many at once (`--publishers`): Mosquitto reads one packet per
connection per pass of its event loop and saves once per pass, so a fleet shares each save.
The settings run in turns, `--rounds` times, so a drifting machine load hits them alike. Loopback only; each
broker is this script's own process on a free port with a temp database, killed at the end.

Run: `python bench/bench_broker_crash.py` (10,000 readings, some minutes) or `--quick` (2,000).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
CONF = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto" / "mosquitto.conf"
QUEUEING = {
    "max_queued_messages",
    "max_queued_bytes",
    "max_inflight_messages",
    "max_inflight_bytes",
    "max_packet_size",
}
OLD, NEW = "old: autosave_interval 30", "new: on_changes, interval 1"
SETTINGS = {
    OLD: ["persistence true", "autosave_interval 30"],
    NEW: ["persistence true", "autosave_on_changes true", "autosave_interval 1"],
    "persistence false": ["persistence false"],
}
TOPIC = "xborder/v1/devices/trk-bench/telemetry"


def shipped_settings() -> list[str]:
    """The persistence lines of the shipped configuration (what `new` must equal)."""
    keys = {"persistence", "autosave_interval", "autosave_on_changes"}
    return [ln for ln in CONF.read_text().splitlines() if ln.partition(" ")[0] in keys]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reading(i: int) -> bytes:
    return json.dumps(
        {"device_id": "trk-bench", "seq": i, "ts": "2027-03-01T08:00:00Z", "lat": 28.77, "lon": 104.63,
         "temp_c": 4.5, "battery": 0.93, "payload": "x" * 80}
    ).encode()  # fmt: skip


class Broker:
    def __init__(self, work: Path, settings: list[str]) -> None:
        self.port = free_port()
        data = work / "data"
        data.mkdir(parents=True)
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", f"persistence_location {data}/"]
        lines += [ln for ln in CONF.read_text().splitlines() if ln.partition(" ")[0] in QUEUEING]
        lines += settings
        if os.geteuid() == 0:
            lines.append("user root")
        self.conf = work / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None


class Client:
    def __init__(self, port: int, client_id: str, *, persistent: bool = False) -> None:
        self.count = 0
        self.seen: set[int] = set()
        self.lock = threading.Condition()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        connected = threading.Event()
        self.client.on_connect = lambda *_: connected.set()
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 86400 if persistent else 0
        self.client.connect("127.0.0.1", port, clean_start=not persistent, properties=props)
        self.client.loop_start()
        if not connected.wait(10):
            raise RuntimeError("no CONNACK")

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        with self.lock:
            if msg.payload != b"end":
                self.seen.add(json.loads(msg.payload)["seq"])
            else:
                self.count = -1
            self.lock.notify_all()

    def subscribe(self) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe(TOPIC, qos=1)
        if not done.wait(10):
            raise RuntimeError("no SUBACK")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_burst(port: int, n: int, publishers: int, timeout: float) -> tuple[float, list[float]]:
    """n QoS 1 readings from `publishers` trackers in turn: acknowledged messages/s overall and per tenth."""
    trackers = [Client(port, f"trk-{uuid.uuid4().hex[:6]}") for _ in range(publishers)]
    acked: list[float] = []
    lock = threading.Condition()

    def on_publish(*_: object) -> None:
        with lock:
            acked.append(time.perf_counter())
            lock.notify_all()

    for t in trackers:
        t.client.on_publish = on_publish
    payloads = [reading(i) for i in range(n)]
    started = time.perf_counter()
    for i, p in enumerate(payloads):
        trackers[i % publishers].client.publish(TOPIC, p, qos=1)
    with lock:
        if not lock.wait_for(lambda: len(acked) >= n, timeout=timeout):
            raise RuntimeError(f"only {len(acked)} of {n} PUBACKs in {timeout:.0f} s")
    for t in trackers:
        t.client.loop_stop()  # no DISCONNECT: the broker is killed under them
    tenth = max(1, n // 10)
    marks = [started] + [acked[min(n, (k + 1) * tenth) - 1] for k in range(10)]
    per_tenth = [tenth / max(1e-9, b - a) for a, b in zip(marks, marks[1:], strict=False)]
    return n / (acked[-1] - started), per_tenth


def run_queued(
    settings: list[str], n: int, publishers: int, timeout: float
) -> tuple[float, list[float], int]:
    """Queue n readings offline, kill -9 after the last PUBACK, restart: (msg/s, tenths, readings kept)."""
    work = Path(tempfile.mkdtemp(prefix="xb-crash-"))
    broker = Broker(work, settings)
    try:
        broker.start()
        session_id = f"xborder-ingest-{uuid.uuid4().hex[:6]}"
        ingest = Client(broker.port, session_id, persistent=True)
        ingest.subscribe()
        ingest.stop()
        rate, tenths = publish_burst(broker.port, n, publishers, timeout)
        broker.kill()
        broker.start()
        ingest = Client(broker.port, session_id, persistent=True)
        ingest.subscribe()
        marker = Client(broker.port, "trk-marker")
        marker.client.publish(TOPIC, b"end", qos=1).wait_for_publish(timeout)
        marker.stop()
        with ingest.lock:
            ingest.lock.wait_for(lambda: ingest.count == -1, timeout=timeout)
            survived = len(ingest.seen)
        ingest.stop()
        return rate, tenths, survived
    finally:
        broker.kill()
        shutil.rmtree(work, ignore_errors=True)


def run_online(settings: list[str], n: int, publishers: int, timeout: float) -> float:
    """The same burst with the session connected and acknowledging: acknowledged messages/s."""
    work = Path(tempfile.mkdtemp(prefix="xb-crash-"))
    broker = Broker(work, settings)
    try:
        broker.start()
        ingest = Client(broker.port, f"xborder-ingest-{uuid.uuid4().hex[:6]}", persistent=True)
        ingest.subscribe()
        rate, _ = publish_burst(broker.port, n, publishers, timeout)
        with ingest.lock:
            ingest.lock.wait_for(lambda: len(ingest.seen) >= n, timeout=timeout)
        ingest.stop()
        return rate
    finally:
        broker.kill()
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class Figures:
    queued: list[float] = field(default_factory=list)
    online: list[float] = field(default_factory=list)
    survived: list[int] = field(default_factory=list)
    tenths: list[list[float]] = field(default_factory=list)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--readings", type=int, default=10_000)
    ap.add_argument("--publishers", default="1,50", help="trackers publishing at once, comma-separated")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds any one phase may take")
    ap.add_argument("--quick", action="store_true", help="2,000 readings")
    args = ap.parse_args()
    if args.quick:
        args.readings = 2_000
    if not os.path.exists(MOSQUITTO):
        print(f"skipped: needs the Mosquitto broker ({MOSQUITTO})")
        return 0
    shipped = shipped_settings()
    if sorted(shipped) != sorted(SETTINGS[NEW]):
        print(f"note: deploy/mosquitto/mosquitto.conf has {shipped}, not {SETTINGS[NEW]}")
    version = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True).stdout.splitlines()[0]
    n = args.readings
    print(f"{version}; {n:,} QoS 1 readings of {len(reading(0))} B, {args.rounds} round(s)", flush=True)
    publisher_counts = [int(p) for p in args.publishers.split(",")]
    figures = {(name, p): Figures() for p in publisher_counts for name in SETTINGS}
    for r in range(args.rounds):
        for p in publisher_counts:
            for name, settings in SETTINGS.items():
                rate, tenths, survived = run_queued(settings, n, p, args.timeout)
                online = run_online(settings, n, p, args.timeout)
                f = figures[name, p]
                f.queued.append(rate)
                f.online.append(online)
                f.survived.append(survived)
                f.tenths.append(tenths)
                print(
                    f"  round {r + 1}, {p:3d} trackers, {name:28s} queued {rate:7,.0f} msg/s,"
                    f" kept after kill -9 {survived:6,}/{n:,}; online {online:7,.0f} msg/s",
                    flush=True,
                )
    print()
    print(
        f"{'trackers setting':33s} {'queued msg/s':>12s} {'1st/last tenth':>16s} {'online msg/s':>12s}"
        f" {'kept after kill -9':>19s}"
    )
    for (name, p), f in figures.items():
        old = figures[OLD, p]
        q, o = statistics.median(f.queued), statistics.median(f.online)
        vs_q, vs_o = q / statistics.median(old.queued), o / statistics.median(old.online)
        first = statistics.median(t[0] for t in f.tenths)
        last = statistics.median(t[-1] for t in f.tenths)
        kept = "/".join(f"{s:,}" for s in f.survived) + f" of {n:,}"
        print(
            f"{p:3d} {name:29s} {q:12,.0f} {first:7,.0f}/{last:<8,.0f} {o:12,.0f} {kept:>19s}"
            f"  x{vs_q:.2f} queued, x{vs_o:.2f} online vs old"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
