"""Load and soak: the service under a mix of quotes, bookings, orders and reads, beside a bare FastAPI app.

Starts `xborder serve --migrate` (SQLite in a temp dir, or PostgreSQL with `XB_BENCH_DATABASE_URL`; the
embedded broker on a free port), seeds the demo tenants and keys (`xborder seed`) and a large stock for one
seller, and, in the same run, a bare FastAPI app (one sync endpoint returning a small JSON object, uvicorn
with the same settings as `serve`: one process, uvicorn's defaults, log level warning). Then, at each
concurrency level (1, 8, 32, 64 clients, each on its own keep-alive connection), drives:
- the mix: quotes 15 %, bookings 5 % (of a quote the client made), orders 10 %, and reads:
  GET /v1/waybills 20 %, /v1/inventory 20 %, /v1/orders 15 % and the dashboard page `/` 15 %;
- the bare endpoint, the same number of requests;
and prints throughput, p50/p99 per kind of request, errors (any status >= 400, by status) and the ratio of the
mix's throughput to the bare endpoint's. Each level is bounded by a request count and a time limit.
`--soak-seconds S` then runs the mix at a steady `--soak-clients` for S seconds and prints the server's RSS
every `--rss-every` seconds and its growth. The clients are a small asyncio HTTP/1.1 client in this process
(a few tens of microseconds of CPU per request), so they take as little as possible of the machine's cores.
Loopback only; every process it starts is stopped at the end.

Run: `python bench/bench_load.py` or `--quick`; `--soak-seconds 120` adds a soak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MIX = [
    ("quote", 15),
    ("booking", 5),
    ("order", 10),
    ("GET /v1/waybills", 20),
    ("GET /v1/inventory", 20),
    ("GET /v1/orders", 15),
    ("GET /", 15),
]
READS = {"GET /v1/waybills", "GET /v1/inventory", "GET /v1/orders", "GET /"}
SKU, WAREHOUSE = "BAMBOO-CUTL-6", "PLLOD"  # the second demo seller's SKU, stocked at Łódź
BARE_APP = """
import sys
import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, str]:
    return {"status": "ok"}


config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="on")
uvicorn.Server(config).run()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(xs: Sequence[float], p: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path | None) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text() if log else ''}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


# --- a small keep-alive HTTP/1.1 client --------------------------------------------------------------


class Conn:
    """One keep-alive connection; requests on it run one at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, key: str | None = None, body: object = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(data)}\r\n"
        if key:
            head += f"Authorization: Bearer {key}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + data)
        status = int((await self.reader.readline()).split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            payload = b""
            while (size := int((await self.reader.readline()).strip(), 16)) > 0:
                payload += await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            payload = await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.reader = self.writer = None
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --- the service and what the mix needs --------------------------------------------------------------


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int
    keys: dict[str, str]
    ready_at: str
    log: Path


def start_service(tmp: Path) -> Service:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XB_")}
    env.update(
        {
            "XB_DATABASE_URL": os.environ.get("XB_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'load.db'}",
            "XB_PORT": str(port),
            "XB_LOG_LEVEL": "warning",
            "XB_MQTT_EMBEDDED_PORT": str(free_port()),
            "XB_MQTT_CLIENT_PREFIX": f"xb-load-{port}",
            "XB_INGEST_SHARE_GROUP": f"load-{port}",
            "XB_MQTT_SESSION_EXPIRY_S": "30",
            "XB_MQTT_SERVICE_USER": "xborder-service",
            "XB_MQTT_SERVICE_PASSWORD": f"load-{uuid.uuid4().hex}",
        }
    )
    log = tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--migrate"], env=env, cwd=ROOT, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, base + "/healthz", log)
    keys_file = tmp / "keys.json"
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed", "--keys-file", str(keys_file)],
        env=env, cwd=ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    stored = json.loads(keys_file.read_text())
    keys = {name: entry["key"] for name, entry in stored.items()}
    # Stock enough that no order of the run finds the shelf empty.
    seller = {"Authorization": f"Bearer {keys['seller2']}"}
    operator = {"Authorization": f"Bearer {keys['operator']}"}
    r = httpx.post(
        base + "/v1/inbound",
        headers=seller,
        json={"warehouse": WAREHOUSE, "lines": [{"sku": SKU, "qty": 1_000_000}]},
    )
    r.raise_for_status()
    httpx.post(
        base + f"/v1/inbound/{r.json()['id']}/receipts", headers=operator,
        json={"lines": [{"sku": SKU, "qty": 1_000_000}]}, timeout=60,
    ).raise_for_status()  # fmt: skip
    now = datetime.fromisoformat(httpx.get(base + "/healthz").json()["now"].replace("Z", "+00:00"))
    return Service(proc, port, keys, (now + timedelta(days=3)).isoformat(), log)


def start_bare() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], cwd=ROOT)
    wait_healthy(proc, f"http://127.0.0.1:{port}/bare", None)
    return proc, port


# --- driving -----------------------------------------------------------------------------------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    done: int = 0
    seconds: float = 0.0


class MixClient:
    """One client of the mix: its own connection, its own quotes to book."""

    def __init__(self, svc: Service, rng: random.Random) -> None:
        self.svc, self.rng = svc, rng
        self.conn = Conn(svc.port)
        self.quotes: list[tuple[str, str]] = []

    async def quote(self, out: Results) -> None:
        body = {
            "origin": "CNYIB",
            "destination": self.rng.choice(["DEDUI", "PLLOD", "NLRTM", "HUBUD"]),
            "ready_at": self.svc.ready_at,
            "cargo": {"weight_kg": 800, "volume_m3": 3, "equipment": "LCL"},
            "customs_mode": "9810",
        }
        status, payload = await self.timed(
            out, "quote", "POST", "/v1/quotes", self.svc.keys["forwarder"], body
        )
        if status == 201:
            q = json.loads(payload)
            if q["options"]:
                self.quotes.append((q["id"], q["options"][0]["id"]))

    async def one(self, kind: str, out: Results) -> None:
        keys = self.svc.keys
        if kind == "quote":
            await self.quote(out)
        elif kind == "booking":
            if not self.quotes:
                await self.quote(out)
            if self.quotes:
                quote_id, option_id = self.quotes.pop()
                body = {"quote_id": quote_id, "option_id": option_id}
                await self.timed(out, kind, "POST", "/v1/bookings", keys["forwarder"], body)
        elif kind == "order":
            body = {
                "order_ref": "L-" + uuid.uuid4().hex[:12],
                "ship_to": {"country": "DE"},
                "lines": [{"sku": SKU, "qty": 1}],
            }
            await self.timed(out, kind, "POST", "/v1/orders", keys["seller2"], body)
        elif kind == "GET /v1/waybills":
            await self.timed(out, kind, "GET", "/v1/waybills", keys["forwarder"])
        elif kind == "GET /v1/inventory":
            await self.timed(out, kind, "GET", "/v1/inventory", keys["seller2"])
        elif kind == "GET /v1/orders":
            await self.timed(out, kind, "GET", "/v1/orders", keys["seller2"])
        else:
            await self.timed(out, kind, "GET", "/", None)

    async def timed(
        self, out: Results, kind: str, method: str, path: str, key: str | None, body: object = None
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        status, payload = await self.conn.request(method, path, key, body)
        out.latencies[kind].append(time.perf_counter() - started)
        out.done += 1
        if status >= 400:
            out.errors[f"{kind} {status}"] += 1
        return status, payload


async def drive_mix(svc: Service, clients: int, requests: int, seconds: float, seed: int) -> Results:
    out = Results()
    kinds, weights = zip(*MIX, strict=True)
    deadline = time.monotonic() + seconds
    rng = random.Random(seed)
    workers = [MixClient(svc, random.Random(rng.random())) for _ in range(clients)]

    async def run(c: MixClient) -> None:
        while out.done < requests and time.monotonic() < deadline:
            await c.one(c.rng.choices(kinds, weights)[0], out)

    started = time.perf_counter()
    await asyncio.gather(*(run(c) for c in workers))
    out.seconds = time.perf_counter() - started
    for c in workers:
        c.conn.close()
    return out


async def drive_bare(port: int, clients: int, requests: int, seconds: float) -> Results:
    out = Results()
    deadline = time.monotonic() + seconds

    async def run() -> None:
        conn = Conn(port)
        while out.done < requests and time.monotonic() < deadline:
            started = time.perf_counter()
            status, _ = await conn.request("GET", "/bare")
            out.latencies["GET /bare"].append(time.perf_counter() - started)
            out.done += 1
            if status >= 400:
                out.errors[f"bare {status}"] += 1
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(clients)))
    out.seconds = time.perf_counter() - started
    return out


def report_level(clients: int, mix: Results, bare: Results) -> tuple[float, float, float]:
    mix_rps, bare_rps = mix.done / mix.seconds, bare.done / bare.seconds
    reads = [x for k, xs in mix.latencies.items() if k in READS for x in xs]
    read_p99 = percentile(reads, 99) * 1000
    print(
        f"\n{clients:3d} clients: mix {mix.done:,} requests in {mix.seconds:.1f} s = {mix_rps:7.1f}/s;"
        f" bare {bare.done:,} in {bare.seconds:.1f} s = {bare_rps:7.1f}/s; ratio {mix_rps / bare_rps:.2f};"
        f" all reads p99 {read_p99:.0f} ms",
        flush=True,
    )
    for kind, _ in [*MIX, ("GET /bare", 0)]:
        xs = (bare if kind == "GET /bare" else mix).latencies.get(kind, [])
        if xs:
            print(
                f"    {kind:20s} n={len(xs):5d}  p50 {percentile(xs, 50) * 1000:7.1f} ms"
                f"  p99 {percentile(xs, 99) * 1000:7.1f} ms"
            )
    errors = mix.errors + bare.errors
    print(f"    errors: {dict(errors) if errors else 'none'}", flush=True)
    return mix_rps, bare_rps, read_p99


def soak(svc: Service, clients: int, seconds: float, every: float) -> None:
    print(
        f"\nsoak: the mix at {clients} clients for {seconds:.0f} s; server RSS every {every:.0f} s",
        flush=True,
    )
    samples: list[tuple[float, float]] = [(0.0, rss_mb(svc.proc.pid))]
    total = Results()
    started = time.monotonic()
    step = 0
    while (elapsed := time.monotonic() - started) < seconds:
        step += 1
        out = asyncio.run(drive_mix(svc, clients, 10**9, min(every, seconds - elapsed), seed=1000 + step))
        total.done += out.done
        total.errors += out.errors
        t = time.monotonic() - started
        samples.append((t, rss_mb(svc.proc.pid)))
        reads = [x for k, xs in out.latencies.items() if k in READS for x in xs]
        print(
            f"    t={t:6.0f} s  RSS {samples[-1][1]:7.1f} MB  {out.done / out.seconds:6.1f} req/s"
            f"  read p99 {percentile(reads, 99) * 1000:6.0f} ms  errors {sum(out.errors.values())}",
            flush=True,
        )
    # Growth after the first interval (caches, pools and the allocator's arenas fill up first), and its slope.
    later = samples[1:] if len(samples) > 2 else samples
    ts, ms = [t for t, _ in later], [m for _, m in later]
    mean_t, mean_m = sum(ts) / len(ts), sum(ms) / len(ms)
    var = sum((t - mean_t) ** 2 for t in ts)
    slope = sum((t - mean_t) * (m - mean_m) for t, m in zip(ts, ms, strict=True)) / var if var else 0.0
    print(
        f"soak: {total.done:,} requests, errors {dict(total.errors) or 'none'};"
        f" RSS {samples[0][1]:.1f} MB at start,"
        f" {later[0][1]:.1f} MB after the first interval, {samples[-1][1]:.1f} MB at the end"
        f" ({samples[-1][1] - later[0][1]:+.1f} MB; fitted slope {slope * 60:+.2f} MB/min)",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="1,8,32,64", help="concurrent clients, comma-separated")
    ap.add_argument("--requests", type=int, default=2000, help="requests per level and side")
    ap.add_argument("--seconds", type=float, default=60.0, help="time limit per level and side")
    ap.add_argument("--soak-seconds", type=float, default=0.0)
    ap.add_argument("--soak-clients", type=int, default=16)
    ap.add_argument("--rss-every", type=float, default=10.0)
    ap.add_argument("--quick", action="store_true", help="400 requests per level, 20 s at most each")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.seconds = 400, 20.0
    levels = [int(x) for x in args.levels.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the servers
    db = "PostgreSQL" if os.environ.get("XB_BENCH_DATABASE_URL") else "SQLite"
    tmp = Path(tempfile.mkdtemp(prefix="xb-load-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        svc = start_service(tmp)
        procs.append(svc.proc)
        bare_proc, bare_port = start_bare()
        procs.append(bare_proc)
        print(
            f"xborder serve on {db} (pid {svc.proc.pid}, RSS {rss_mb(svc.proc.pid):.0f} MB)"
            f" beside a bare FastAPI endpoint; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f};"
            f" {args.requests} requests or {args.seconds:.0f} s per level and side",
            flush=True,
        )
        asyncio.run(drive_mix(svc, 4, 100, 30, seed=0))  # warm: the first quote loads the timetable's caches
        asyncio.run(drive_bare(bare_port, 4, 100, 30))
        summary = []
        for i, clients in enumerate(levels):
            mix = asyncio.run(drive_mix(svc, clients, args.requests, args.seconds, seed=i + 1))
            bare = asyncio.run(drive_bare(bare_port, clients, args.requests, args.seconds))
            summary.append((clients, *report_level(clients, mix, bare)))
        print(f"\n{'clients':>7s} {'mix/s':>8s} {'bare/s':>8s} {'ratio':>6s} {'read p99 ms':>12s}")
        for clients, mix_rps, bare_rps, read_p99 in summary:
            print(f"{clients:7d} {mix_rps:8.1f} {bare_rps:8.1f} {mix_rps / bare_rps:6.2f} {read_p99:12.0f}")
        print(
            "goals: ratio >= 0.40, read p99 < 100 ms at 64 clients, no memory growth in the soak", flush=True
        )
        if args.soak_seconds > 0:
            soak(svc, args.soak_clients, args.soak_seconds, args.rss_every)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
