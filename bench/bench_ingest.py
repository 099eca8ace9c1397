"""End-to-end telemetry ingest on PostgreSQL + Mosquitto, beside a raw paho subscriber in the same run.

    .venv/bin/python bench/bench_ingest.py [--quick] [--devices 1000] [--burst 20000] [--rate 1000]
                                           [--steady-seconds 20] [--memory-devices 10000]
                                           [--mqtt-url mqtt://127.0.0.1:18883] [--repeat 2]
                                           [--profile out.prof]

Figures, each beside its baseline measured in this run:
  burst       readings published at QoS 1 by two publisher processes until all are committed and applied to
              their waybills, by `--ingest-processes` `xborder ingest` processes (default one); baseline: a
              raw paho QoS 1 subscriber process that only counts the same messages (published under a topic
              root the ingest does not read); with it the ingest's CPU and, when PostgreSQL runs on this
              machine, the database's (the raw subscriber needs none: both share the same cores)
  steady      CPU (user+system, % of one core) of the ingest process alone at a steady publish rate, beside
              the raw subscriber's at the same rate, and latency from publish to the waybill status message
              showing that reading (p50 / p95 / p99)
  memory      the ingest process's peak RSS (VmHWM) after readings from `--memory-devices` devices, beside
              the raw subscriber's

The database is `XB_BENCH_DATABASE_URL` (default: a fresh database `xb_bench_<pid>` on 127.0.0.1, dropped
at the end). The broker is `--mqtt-url` (say the project's test Mosquitto on 18883; the bench uses its own
topic root and share group there), else a Mosquitto started here with `deploy/mosquitto/test.conf` on
`--broker-port`. `--profile FILE` runs the ingest under a per-thread cProfile (`bench/profiled_ingest.py`)
and prints the top functions and the SQL statements per batch.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client(port: int, cid: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=MQTTProtocolVersion.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", port)
    return c


def start_broker(tmp: Path, port: int = 0) -> tuple[subprocess.Popen[bytes], int]:
    port = port or free_port()
    conf = (ROOT / "deploy/mosquitto/test.conf").read_text().replace("@PORT@", str(port))
    (tmp / "mosquitto.conf").write_text(conf)
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(tmp / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, port


def publisher(port: int, root: str, items: list[tuple[str, int, str]], rate: float, start_at: float) -> None:
    """Publish (device, seq, payload) at QoS 1 under `root`; rate 0 = as fast as possible."""
    c = client(port, f"bench-pub-{os.getpid()}")
    c.loop_start()
    while time.time() < start_at:
        time.sleep(0.001)
    t0 = time.time()
    infos = []
    for i, (device, _seq, payload) in enumerate(items):
        if rate:
            due = t0 + i / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            payload = payload.replace("__TS__", datetime.now(UTC).isoformat().replace("+00:00", "Z"))
        infos.append(c.publish(f"{root}/devices/{device}/telemetry", payload, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    c.disconnect()
    c.loop_stop()


def run_publishers(port: int, root: str, items: list[tuple[str, int, str]], rate: float = 0.0) -> float:
    ctx = mp.get_context("spawn")
    halves = [items[0::2], items[1::2]]
    start_at = time.time() + 1.0
    procs = [ctx.Process(target=publisher, args=(port, root, h, rate / 2, start_at)) for h in halves]
    for p in procs:
        p.start()
    return start_at


def raw_subscriber(port: int, root: str, n: int, ready: Any, result: Any) -> None:
    """Baseline process: a raw paho QoS 1 subscriber that only counts messages (until `n` have come)."""
    done = threading.Event()
    count = [0]

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        count[0] += 1
        if count[0] >= n:
            done.set()

    sub = client(port, f"bench-raw-sub-{os.getpid()}")
    sub.on_message = on_message
    sub.subscribe(f"{root}/devices/+/telemetry", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    cpu0 = proc_cpu_seconds(os.getpid())
    ready.set()
    done.wait(300)
    cpu = proc_cpu_seconds(os.getpid()) - cpu0
    sub.disconnect()
    sub.loop_stop()
    result.put((count[0], time.time(), cpu, proc_peak_rss_mb(os.getpid())))


def raw_baseline(
    port: int, root: str, items: list[tuple[str, int, str]], rate: float = 0.0
) -> dict[str, float]:
    """Publish `items` to a raw subscriber process: its rate, CPU (% of one core) and peak RSS."""
    ctx = mp.get_context("spawn")
    ready, result = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=raw_subscriber, args=(port, root, len(items), ready, result))
    proc.start()
    ready.wait(30)
    start_at = run_publishers(port, root, items, rate)
    count, finished, cpu, rss = result.get(timeout=320)
    proc.join(10)
    elapsed = finished - start_at
    return {"rate": count / elapsed, "cpu_pct": 100 * cpu / elapsed, "rss_mb": rss, "count": count}


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def postgres_cpu_seconds() -> float:
    """CPU of every `postgres` process on this machine (0 when the database runs elsewhere): the share of the
    cores the database takes beside the ingest, which the raw subscriber does not need."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                total += proc_cpu_seconds(int(comm.parent.name))
        except OSError:  # gone meanwhile
            continue
    return total


def proc_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--burst", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--steady-seconds", type=float, default=20)
    ap.add_argument("--memory-devices", type=int, default=10000)
    ap.add_argument("--mqtt-url", help="use this broker, e.g. mqtt://127.0.0.1:18883")
    ap.add_argument("--broker-port", type=int, default=0, help="port for the Mosquitto started here")
    ap.add_argument("--repeat", type=int, default=2, help="burst measurements (raw, then ingest) in turn")
    ap.add_argument("--profile", help="profile the ingest into this pstats file and print the top of it")
    ap.add_argument(
        "--ingest-processes",
        type=int,
        default=1,
        help="`xborder ingest` processes sharing the load (one MQTT 5 shared subscription group)",
    )
    args = ap.parse_args()
    if args.quick:
        args.devices, args.burst, args.steady_seconds, args.memory_devices = 200, 4000, 8, 1000
    if not shutil.which("mosquitto"):
        print("bench_ingest: needs the mosquitto binary (Debian package mosquitto)")
        return 2

    from sqlalchemy import func, select, text

    from api.migrate import upgrade
    from kernel.db import Database, make_engine
    from kernel.identity import Principal, Role, TenantKind, create_tenant
    from logistics import devices as registry
    from logistics import quoting
    from logistics.network_state import NetworkState
    from logistics.tables import readings, tracker_attachments

    url = os.environ.get("XB_BENCH_DATABASE_URL")
    made_db = None
    if not url:
        made_db = f"xb_bench_{os.getpid()}"
        admin = make_engine("postgresql://postgres@127.0.0.1:5432/postgres")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"CREATE DATABASE {made_db}"))
        admin.dispose()
        url = f"postgresql://postgres@127.0.0.1:5432/{made_db}"
    upgrade(url)
    db = Database(make_engine(url))
    now = datetime.now(UTC)
    n_dev = max(args.devices, args.memory_devices)
    print(f"setting up {n_dev} devices on {n_dev // 10} waybills ...", flush=True)
    with db.session() as s:
        tenant = create_tenant(s, "bench forwarder", TenantKind.FORWARDER, now)["id"]
    principal = Principal("bench", tenant, Role.FORWARDER)
    state = NetworkState()
    q = quoting.RequestQuote("CNYIB", "CNCTU", now, None, 100, 0.5, "LCL", False, None, "9610", 8)
    with db.session() as s:
        quote = quoting.quote(s, state, principal, q, now)
    option = quote.options[0]
    waybill_of: dict[str, str] = {}
    for w in range(n_dev // 10):
        with db.session() as s:
            cmd = quoting.BookShipment(quote.id, option["id"])
            no = quoting.book_shipment(s, state, principal, cmd, now).waybill_no
            for k in range(10):
                dev = f"bench-{w}-{k}"
                registry.register(s, principal, dev, "parcel", 60, now)
                s.execute(tracker_attachments.insert().values(device_id=dev, waybill_no=no, attached_at=now))
                waybill_of[dev] = no
    device_ids = list(waybill_of)
    origin = json.loads(json.dumps(option["legs"][0]["origin"]))
    node = state.network.nodes[origin]

    def readings_for(
        devs: list[str], n: int, start_seq: int, ts: str | datetime, step: timedelta = timedelta(seconds=1)
    ) -> list[tuple[str, int, str]]:
        """Each device's readings in seq order, fix times rising by `step` from `ts` (or "__TS__": the
        publisher stamps its publish time). Every phase's fix times follow the previous phase's, so that
        none of them is a late reading (that is a separate case, with its own cost)."""
        out = []
        for i in range(n):
            dev = devs[i % len(devs)]
            seq = start_seq + i // len(devs)
            stamp = ts if isinstance(ts, str) else (ts + step * i).isoformat().replace("+00:00", "Z")
            out.append(
                (
                    dev,
                    seq,
                    json.dumps(
                        {
                            "seq": seq,
                            "ts": stamp,
                            "lat": node.lat,
                            "lon": node.lon,
                            "accuracy_m": 5,
                            "battery_pct": 90,
                        }
                    ),
                )
            )
        return out

    def stored() -> int:
        with db.session() as s:
            return int(s.execute(select(func.count()).select_from(readings)).scalar_one())

    def wait_stored(target: int, start_at: float, limit: float) -> float:
        """When `target` readings are stored (time.time()). Polls seldom (a count is work for the database
        the ingest shares the machine with), then often near the end, so the time is within 20 ms."""
        while time.time() - start_at < limit:
            missing = target - stored()
            if missing <= 0:
                return time.time()
            time.sleep(0.02 if missing < 200 else 0.25)
        return time.time()

    tmp = Path(tempfile.mkdtemp(prefix="xb-bench-"))
    broker = None
    if args.mqtt_url:
        port = urlparse(args.mqtt_url).port or 1883
    else:
        broker, port = start_broker(tmp, args.broker_port)
    # Own topic roots and share group: the ingest reads `root`; the raw subscriber's messages go to
    # `raw_root`, so that the ingest never works while the baseline is measured.
    tag = f"xb-bench-{os.getpid()}"
    root, raw_root = f"{tag}/v1", f"{tag}-raw/v1"
    # The ingest's own tuning (XB_INGEST_BATCH_SIZE, _BATCH_SECONDS, _MAX_INFLIGHT, _READ_PAUSE_MS) passes
    # through; nothing else.
    env = {k: v for k, v in os.environ.items() if not k.startswith("XB_") or k.startswith("XB_INGEST_")}
    env.update(
        {
            "XB_DATABASE_URL": url,
            "XB_MQTT_URL": f"mqtt://127.0.0.1:{port}",
            "XB_LOG_LEVEL": "warning",
            "XB_INGEST_SHARE_GROUP": tag,
            "XB_MQTT_TOPIC_ROOT": root,
            "XB_MQTT_CLIENT_PREFIX": tag,
            "XB_MQTT_SESSION_EXPIRY_S": "120",  # no session left behind on a shared broker
        }
    )
    ingests: list[subprocess.Popen[bytes]] = []
    for k in range(args.ingest_processes):
        command = [sys.executable, "-m", "api.cli", "ingest", "--id", f"bench-ingest-{k}"]
        if args.profile:
            out = args.profile if k == 0 else f"{args.profile}.{k}"
            profiled = str(ROOT / "bench/profiled_ingest.py")
            command = [sys.executable, profiled, out, "--id", f"bench-ingest-{k}"]
        ingests.append(subprocess.Popen(command, env=env, cwd=ROOT))

    def ingest_cpu() -> float:
        return sum(proc_cpu_seconds(p.pid) for p in ingests)

    def ingest_rss() -> float:
        return max(proc_peak_rss_mb(p.pid) for p in ingests)

    who = "xborder ingest" if len(ingests) == 1 else f"{len(ingests)} ingest procs"
    try:
        time.sleep(6)
        idle_rss = ingest_rss()  # started and subscribed, no reading yet
        # 1. burst, beside a raw subscriber: raw, ingest, raw, ingest (the machine's load varies)
        burst_devs = device_ids[: args.devices]
        print(
            f"\nburst of {args.burst} readings from {len(burst_devs)} devices (QoS 1, 2 publisher processes)"
        )
        ratios = []
        for run in range(args.repeat):
            t0 = (
                now - timedelta(seconds=args.burst * args.repeat + 3600) + timedelta(seconds=run * args.burst)
            )
            raw = raw_baseline(port, raw_root, readings_for(burst_devs, args.burst, 1 + run * 100_000, t0))
            items = readings_for(burst_devs, args.burst, 1_000_000 + run * 100_000, t0)
            before = stored()
            cpu0, pg0 = ingest_cpu(), postgres_cpu_seconds()
            start_at = run_publishers(port, root, items)
            finished = wait_stored(before + len(items), start_at, 600)
            elapsed = finished - start_at
            done = stored() - before
            ingest_rate = done / elapsed
            burst_cpu = ingest_cpu() - cpu0
            pg_cpu = postgres_cpu_seconds() - pg0  # the bench's own polling (a count now and then) included
            ratios.append(ingest_rate / raw["rate"])
            print(f"  run {run + 1}: raw paho subscriber (count only)     {raw['rate']:7.0f} msg/s")
            print(
                f"  run {run + 1}: {who:14s} (committed + applied) {ingest_rate:7.0f} readings/s   "
                f"ratio {ingest_rate / raw['rate']:.2f}   ingest CPU {burst_cpu:.1f} s "
                f"({1e3 * burst_cpu / max(1, done):.2f} ms per reading)"
                + (f"   PostgreSQL CPU {pg_cpu:.1f} s" if pg_cpu else "")
            )
        print(f"  ratio ingest / raw: {' '.join(f'{r:.2f}' for r in ratios)}")

        # 2. steady rate: CPU beside the raw subscriber's, and publish -> status latency
        n_steady = int(args.rate * args.steady_seconds)
        raw_steady = raw_baseline(port, raw_root, readings_for(burst_devs, n_steady, 10, "__TS__"), args.rate)
        latencies: list[float] = []
        dev_by_waybill = {}
        for dev in burst_devs:
            dev_by_waybill.setdefault(waybill_of[dev], dev)
        watched = set(dev_by_waybill)
        steady_from = [datetime.now(UTC)]
        stale = [0]

        def on_status(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
            no = m.topic.split("/")[-2]
            if no not in watched:
                return
            data = json.loads(m.payload)
            at = (data.get("position") or {}).get("at")
            if at and not m.retain:
                sent = datetime.fromisoformat(at.replace("Z", "+00:00"))
                if sent >= steady_from[0]:  # a reading of the steady phase (its fix time is its publish time)
                    latencies.append((datetime.now(UTC) - sent).total_seconds())
                else:
                    stale[0] += 1

        sub = client(port, f"{tag}-status-sub")
        sub.on_message = on_status
        sub.subscribe(f"{root}/waybills/+/status", qos=0)
        sub.loop_start()
        items = readings_for(burst_devs, n_steady, 2_000_000, "__TS__")
        before = stored()
        steady_from[0] = datetime.now(UTC)
        cpu0 = ingest_cpu()
        start_at = run_publishers(port, root, items, rate=args.rate)
        time.sleep(args.steady_seconds)
        wall = wait_stored(before + n_steady, start_at, args.steady_seconds * 5) - start_at
        cpu = ingest_cpu() - cpu0
        time.sleep(0.5)
        sub.disconnect()
        sub.loop_stop()
        print(f"\nsteady {args.rate:.0f} readings/s for {args.steady_seconds:.0f} s ({n_steady} readings)")
        print(f"  raw paho subscriber CPU              {raw_steady['cpu_pct']:6.1f} % of one core")
        print(
            f"  {who:14s} CPU (alone)          {100 * cpu / wall:6.1f} % of one core   "
            f"({stored() - before} of {n_steady} committed in {wall:.1f} s)"
        )
        if latencies:
            print(
                f"  publish -> status message latency     p50 {1000 * pct(latencies, 0.5):.0f} ms   "
                f"p95 {1000 * pct(latencies, 0.95):.0f} ms   p99 {1000 * pct(latencies, 0.99):.0f} ms   "
                f"(n={len(latencies)}, {stale[0]} status messages of older readings)"
            )
        else:
            print("  publish -> status message latency     no status message seen")

        # 3. memory at many devices
        items = readings_for(
            device_ids[: args.memory_devices],
            args.memory_devices * 2,
            3_000_000,
            datetime.now(UTC),
            step=timedelta(milliseconds=1),  # at most a minute ahead: within the allowed clock skew
        )
        before = stored()
        start_at = run_publishers(port, root, items)
        wait_stored(before + len(items), start_at, 600)
        print(
            f"\nmemory after readings from {args.memory_devices} devices "
            f"({stored() - before} of {len(items)} committed)"
        )
        print(f"  raw paho subscriber peak RSS         {raw['rss_mb']:6.0f} MB")
        print(
            f"  {who:14s} peak RSS (largest)   {ingest_rss():6.0f} MB   "
            f"({idle_rss:.0f} MB once started, before any reading)"
        )
    finally:
        for p in ingests:
            p.terminate()
        for p in ingests:
            p.wait(60)
        if broker is not None:
            broker.terminate()
            broker.wait(10)
        db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        if made_db:
            admin = make_engine("postgresql://postgres@127.0.0.1:5432/postgres")
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text(f"DROP DATABASE IF EXISTS {made_db} WITH (FORCE)"))
            admin.dispose()
    if args.profile:
        print_profile(args.profile)
    return 0


def print_profile(path: str) -> None:
    import pstats

    sql = Path(f"{path}.sql.json")
    if sql.exists():
        counts = json.loads(sql.read_text())
        print(
            f"\nSQL statements per batch ({counts['batches']} batches, "
            f"{counts['messages'] / max(1, counts['batches']):.0f} messages per batch)"
        )
        for kind, n in counts["statements_per_batch"].items():
            print(f"  {n:8.2f}  {kind}")
    print(f"\nprofile of the ingest process (all threads): {path}")
    pstats.Stats(path).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    raise SystemExit(main())
