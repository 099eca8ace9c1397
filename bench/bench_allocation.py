"""Order allocation throughput and p99 latency on PostgreSQL, beside a bare insert of the same rows.

16 concurrent clients (by default 16 processes of one client each, so no two clients share a GIL; each
process has its own engine and connection) allocate orders through `warehouse.orders.allocate_order`, the
function `POST /v1/orders` runs in its transaction, over 12 warehouses and 10,000 SKUs (a hot set of
low-stock SKUs makes orders fight for the last units). The baseline inserts the same order, line and
reservation rows with no reading, planning or locking, on the same clients. Afterwards the books are audited
and oversells counted. The clock starts when every client process has imported and connected; the
baselines and the allocation run interleaved in rounds, so a drifting machine load hits them alike.

Run: `python bench/bench_allocation.py` (full) or `--quick`. Database: `XB_BENCH_DATABASE_URL`
(default postgresql://postgres@127.0.0.1:5432/xb_warehouse). The bench's rows are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, select, text  # noqa: E402

from kernel.db import Database, make_engine  # noqa: E402
from kernel.identity import Role, TenantKind, create_tenant  # noqa: E402
from kernel.ids import new_id  # noqa: E402
from warehouse import tables as t  # noqa: E402
from warehouse.audit import audit, oversold_units  # noqa: E402
from warehouse.orders import AllocateOrder, OrderAddress, OrderLine, allocate_order  # noqa: E402
from warehouse.scope import Scope  # noqa: E402

NOW = datetime(2027, 3, 1, tzinfo=UTC)
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/xb_warehouse"
GOAL_PER_S = 300.0
SITES = [  # 12 warehouses across the markets Yibin sells to
    ("DE", 51.43, 6.76),
    ("PL", 51.76, 19.46),
    ("NL", 51.92, 4.48),
    ("HU", 47.50, 19.04),
    ("CZ", 50.08, 14.44),
    ("FR", 48.86, 2.35),
    ("IT", 45.46, 9.19),
    ("ES", 40.42, -3.70),
    ("SG", 1.35, 103.82),
    ("VN", 10.82, 106.63),
    ("US", 33.94, -118.41),
    ("US", 40.71, -74.01),
]
COUNTRIES = ["DE", "PL", "NL", "HU", "FR", "IT", "ES", "AT", "SG", "VN", "TH", "US", "CA"]


def percentile(xs: Sequence[float], p: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def setup(db: Database, run: str, n_skus: int, rng: random.Random) -> tuple[str, list[str], list[str], int]:
    """Seller, 12 warehouses, SKUs and opening stock (balances and the matching ledger), bulk-inserted."""
    with db.session() as s:
        seller = str(create_tenant(s, f"bench seller {run}", TenantKind.SELLER, NOW)["id"])
        codes = [f"B{run}{i:02d}" for i in range(len(SITES))]
        s.execute(
            t.warehouses.insert(),
            [
                {
                    "code": c,
                    "name": f"bench {c}",
                    "country": cc,
                    "lat": lat,
                    "lon": lon,
                    "node_id": None,
                    "handling_cost": rng.choice([1, 2, 3]),
                    "currency": "USD",
                    "created_at": NOW,
                }
                for c, (cc, lat, lon) in zip(codes, SITES, strict=True)
            ],
        )
        skus = [f"S{i:05d}" for i in range(n_skus)]
        s.execute(
            t.skus.insert(),
            [
                {
                    "id": new_id("sku"),
                    "seller_id": seller,
                    "sku": k,
                    "name": k,
                    "weight_kg": 1,
                    "volume_m3": 0.01,
                    "lot_tracked": False,
                    "dangerous_goods": False,
                    "created_at": NOW,
                }
                for k in skus
            ],
        )
        rows = []
        for k in skus:
            hot = k < f"S{50:05d}"
            for c in rng.sample(codes, 3):
                rows.append(
                    {
                        "seller_id": seller,
                        "warehouse": c,
                        "zone": "pick",
                        "sku": k,
                        "lot": "",
                        "on_hand": rng.randint(1, 3) if hot else rng.randint(20, 60),
                        "reserved": 0,
                    }
                )
        s.execute(t.balances.insert(), rows)
        mv = new_id("mv")
        s.execute(
            t.movements.insert().values(
                id=mv, seller_id=seller, kind="receipt", reference="bench", created_at=NOW
            )
        )
        total = sum(r["on_hand"] for r in rows)
        ledger = [
            {
                "movement_id": mv,
                "seller_id": seller,
                "warehouse": r["warehouse"],
                "zone": "pick",
                "sku": r["sku"],
                "lot": "",
                "qty": r["on_hand"],
            }
            for r in rows
        ]
        ledger += [
            {
                "movement_id": mv,
                "seller_id": seller,
                "warehouse": None,
                "zone": "supplier",
                "sku": r["sku"],
                "lot": "",
                "qty": -r["on_hand"],
            }
            for r in rows
        ]
        for i in range(0, len(ledger), 5000):
            s.execute(t.ledger.insert(), ledger[i : i + 5000])
    return seller, codes, skus, total


def make_orders(n: int, skus: list[str], rng: random.Random) -> list[dict[str, Any]]:
    orders = []
    for i in range(n):
        lines = []
        for sku in rng.sample(skus[:50] if rng.random() < 0.2 else skus, rng.choice([1, 1, 2, 3])):
            lines.append({"sku": sku, "qty": rng.choice([1, 1, 2])})
        orders.append({"order_ref": f"O{i}", "ship_to": {"country": rng.choice(COUNTRIES)}, "lines": lines})
    return orders


# --- workers (run in each process) ------------------------------------------------------------------

_DB: Database | None = None


def _db(url: str, pool: int) -> Database:
    global _DB
    if _DB is None:
        _DB = Database(make_engine(url, pool_size=pool))
    return _DB


def allocate_command(order: dict[str, Any]) -> AllocateOrder:
    """The command `POST /v1/orders` builds from this order's body."""
    return AllocateOrder(
        order["order_ref"],
        OrderAddress(order["ship_to"]["country"]),
        tuple(OrderLine(ln["sku"], ln["qty"]) for ln in order["lines"]),
    )


def _allocate(db: Database, seller: str, order: dict[str, Any]) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        with db.session() as s:
            allocate_order(s, Scope(seller, Role.SELLER), allocate_command(order), NOW)
        outcome = "ok"
    except Exception as exc:  # 409 is an expected outcome; anything else is reported
        outcome = "409" if getattr(exc, "status", None) == 409 else f"error {type(exc).__name__}: {exc}"
    return outcome, time.perf_counter() - started


def _bare_insert(
    db: Database, seller: str, order: dict[str, Any], balance_ids: list[int]
) -> tuple[str, float]:
    """The same rows an allocation writes (order, lines, one reservation per line), nothing else, as three
    Core statements on the session."""
    started = time.perf_counter()
    oid = new_id("ord")
    with db.session() as s:
        s.execute(
            t.orders.insert().values(
                id=oid,
                seller_id=seller,
                order_ref=order["order_ref"],
                status="BASE",
                ship_to=order["ship_to"],
                explanation=["baseline"],
                created_at=NOW,
            )
        )
        s.execute(
            t.order_lines.insert(),
            [
                {"order_id": oid, "line_no": i, "sku": ln["sku"], "qty": ln["qty"]}
                for i, ln in enumerate(order["lines"], 1)
            ],
        )
        s.execute(
            t.reservations.insert(),
            [
                {
                    "order_id": oid,
                    "line_no": i,
                    "balance_id": balance_ids[i % len(balance_ids)],
                    "warehouse": "X",
                    "sku": ln["sku"],
                    "lot": "",
                    "qty": ln["qty"],
                    "status": "BASELINE",
                }
                for i, ln in enumerate(order["lines"], 1)
            ],
        )
    return "ok", time.perf_counter() - started


_ONE_INSERT = text(
    """
WITH o AS (
    INSERT INTO wh_orders (id, seller_id, order_ref, status, ship_to, explanation, currency, created_at)
    VALUES (:id, :seller_id, :order_ref, 'BASE', CAST(:ship_to AS json), CAST(:explanation AS json), 'USD',
            :created_at)
    RETURNING id
), l AS (
    INSERT INTO wh_order_lines (order_id, line_no, sku, qty)
    SELECT o.id, x.line_no, x.sku, x.qty
    FROM o, json_to_recordset(CAST(:lines AS json)) AS x(line_no int, sku text, qty int)
), r AS (
    INSERT INTO wh_reservations (order_id, line_no, balance_id, warehouse, sku, lot, qty, status)
    SELECT o.id, x.line_no, x.balance_id, 'X', x.sku, '', x.qty, 'BASELINE'
    FROM o, json_to_recordset(CAST(:lines AS json)) AS x(line_no int, balance_id int, sku text, qty int)
)
SELECT count(*) FROM o
"""
)


def _bare_insert_one(
    db: Database, seller: str, order: dict[str, Any], balance_ids: list[int]
) -> tuple[str, float]:
    """The same rows in one statement, the way allocation writes them on PostgreSQL, nothing else."""
    started = time.perf_counter()
    lines = [
        {"line_no": i, "sku": ln["sku"], "qty": ln["qty"], "balance_id": balance_ids[i % len(balance_ids)]}
        for i, ln in enumerate(order["lines"], 1)
    ]
    with db.session() as s:
        s.connection().execute(
            _ONE_INSERT,
            {
                "id": new_id("ord"),
                "seller_id": seller,
                "order_ref": order["order_ref"],
                "ship_to": json.dumps(order["ship_to"]),
                "explanation": json.dumps(["baseline"]),
                "created_at": NOW,
                "lines": json.dumps(lines),
            },
        ).one()
    return "ok", time.perf_counter() - started


BASELINES = {"core insert": _bare_insert, "one-statement insert": _bare_insert_one}


MODES = ("one-statement insert", "core insert", "allocate")
Phase = tuple[str, list[dict[str, Any]]]  # (mode, this process's orders)


def run_client(
    url: str,
    seller: str,
    phases: list[Phase],
    threads: int,
    balance_ids: list[int],
    start: Any,
    out_q: Any,
) -> None:
    """One client process: `threads` clients (1 = one client per process), each with its own connection,
    running the phases in turn; every phase starts on a barrier with all the other processes."""
    db = _db(url, threads)
    conns = [db.engine.connect() for _ in range(threads)]  # every client's connection before the clock
    for c in conns:
        c.close()
    for i, (mode, orders) in enumerate(phases):
        start.wait()
        out_q.put((i, _run_phase(db, seller, mode, orders, threads, balance_ids)))


def _run_phase(
    db: Database, seller: str, mode: str, orders: list[dict[str, Any]], threads: int, balance_ids: list[int]
) -> list[tuple[str, float]]:
    lock = threading.Lock()
    queue = list(reversed(orders))
    out: list[tuple[str, float]] = []

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                order = queue.pop()
            res = (
                _allocate(db, seller, order)
                if mode == "allocate"
                else BASELINES[mode](db, seller, order, balance_ids)
            )
            with lock:
                out.append(res)

    if threads == 1:
        client()
    else:
        with ThreadPoolExecutor(threads) as ex:
            for f in [ex.submit(client) for _ in range(threads)]:
                f.result()
    return out


def drive(
    url: str,
    seller: str,
    phases: list[tuple[str, list[dict[str, Any]]]],
    processes: int,
    clients: int,
    balance_ids: list[int],
) -> list[tuple[str, list[tuple[str, float]], float]]:
    """Run each phase's orders on `clients` clients in `processes` long-lived processes, one phase after the
    other; a phase's clock starts when every process is at the barrier (imported, connected, done with the
    previous phase), so start-up is never counted. Returns (mode, results, wall seconds) per phase."""
    per = clients // processes
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(processes + 1)
    out_q = ctx.Queue()
    procs = [
        ctx.Process(
            target=run_client,
            args=(url, seller, [(m, o[i::processes]) for m, o in phases], per, balance_ids, start, out_q),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    done = []
    for i, (mode, _) in enumerate(phases):
        start.wait(timeout=300)
        started = time.perf_counter()
        results: list[tuple[str, float]] = []
        for _ in procs:
            phase, out = out_q.get(timeout=1800)
            assert phase == i
            results += out
        done.append((mode, results, time.perf_counter() - started))
    for p in procs:
        p.join(timeout=60)
        if p.exitcode != 0:
            raise RuntimeError(f"client process exited with {p.exitcode}")
    return done


def report(name: str, results: list[tuple[str, float]], wall: float) -> float:
    lat = [d * 1000 for _, d in results]
    ok = sum(1 for o, _ in results if o == "ok")
    conflicts = sum(1 for o, _ in results if o == "409")
    errors = [o for o, _ in results if o not in ("ok", "409")]
    rate = len(results) / wall
    print(
        f"{name:<22} {len(results):>6} orders in {wall:6.2f} s = {rate:7.1f} orders/s   "
        f"p50 {percentile(lat, 50):6.1f} ms  p95 {percentile(lat, 95):6.1f} ms  "
        f"p99 {percentile(lat, 99):6.1f} ms"
        f"   allocated {ok}, 409 {conflicts}, errors {len(errors)}"
    )
    for e in errors[:5]:
        print("   error:", e)
    return rate


SERVER = """
import sys, uvicorn
from api.app import create_app
from api.bootstrap import build
from kernel.settings import Settings
uvicorn.run(create_app(build(Settings(database_url=sys.argv[1]))), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning", access_log=False, http=sys.argv[3])
"""


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive_http(
    url: str, seller: str, orders: list[dict[str, Any]], clients: int, parser: str = "auto"
) -> tuple[list[tuple[str, float]], float]:
    """The same allocation through the HTTP API: one uvicorn process, `clients` concurrent HTTP clients."""
    import socket
    import subprocess

    import httpx

    from kernel.identity import issue_key

    db = _db(url, 2)
    with db.session() as s:
        _, key = issue_key(s, seller, Role.SELLER, NOW)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = str(Path(__file__).resolve().parent.parent)
    server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port), parser], cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/openapi.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {key}"}
        out: list[tuple[str, float]] = []
        lock = threading.Lock()
        queue = list(reversed(orders))
        with httpx.Client(
            base_url=base, headers=headers, timeout=60, limits=httpx.Limits(max_connections=clients)
        ) as http:

            def client() -> None:
                while True:
                    with lock:
                        if not queue:
                            return
                        order = queue.pop()
                    started = time.perf_counter()
                    r = http.post("/v1/orders", json=order)
                    outcome = (
                        "ok" if r.status_code == 201 else "409" if r.status_code == 409 else f"error {r.text}"
                    )
                    with lock:
                        out.append((outcome, time.perf_counter() - started))

            started = time.time()
            server_cpu, client_cpu = _cpu_seconds(server.pid), time.process_time()
            with ThreadPoolExecutor(clients) as ex:
                for f in [ex.submit(client) for _ in range(clients)]:
                    f.result()
            wall = time.time() - started
            server_cpu, client_cpu = _cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu
        print(
            f"HTTP: server process CPU {server_cpu:.2f} s "
            f"({server_cpu / len(orders) * 1000:.2f} ms per order), "
            f"HTTP clients' CPU {client_cpu:.2f} s, over {wall:.2f} s"
        )
        return out, wall
    finally:
        server.terminate()
        server.wait(timeout=30)


def cleanup(db: Database, seller: str, codes: list[str]) -> None:
    with db.session() as s:
        orders = select(t.orders.c.id).where(t.orders.c.seller_id == seller)
        s.execute(delete(t.reservations).where(t.reservations.c.order_id.in_(orders)))
        s.execute(delete(t.order_lines).where(t.order_lines.c.order_id.in_(orders)))
        s.execute(delete(t.orders).where(t.orders.c.seller_id == seller))
        mvs = select(t.movements.c.id).where(t.movements.c.seller_id == seller)
        s.execute(delete(t.ledger).where(t.ledger.c.movement_id.in_(mvs)))
        s.execute(delete(t.movements).where(t.movements.c.seller_id == seller))
        s.execute(delete(t.balances).where(t.balances.c.seller_id == seller))
        s.execute(delete(t.skus).where(t.skus.c.seller_id == seller))
        s.execute(delete(t.warehouses).where(t.warehouses.c.code.in_(codes)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (1,500 orders)")
    ap.add_argument("--orders", type=int, default=None)
    ap.add_argument("--skus", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument(
        "--processes",
        type=int,
        default=None,
        help="client processes (default: one per client, no GIL shared between clients); "
        "clients are spread over them as threads",
    )
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds of the three runs")
    ap.add_argument("--keep", action="store_true", help="keep the bench rows")
    ap.add_argument(
        "--http", action="store_true", help="also allocate through the HTTP API (one uvicorn process)"
    )
    ap.add_argument(
        "--http-parser",
        default="auto",
        choices=["auto", "h11", "httptools"],
        help="uvicorn's HTTP implementation (auto: httptools when installed)",
    )
    args = ap.parse_args()
    n_orders = args.orders or (1_500 if args.quick else 8_000)
    processes = args.processes or args.clients
    if args.clients % processes:
        ap.error("--clients must be a multiple of --processes")
    url = os.environ.get("XB_BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        print("bench_allocation: skipped, it needs PostgreSQL (XB_BENCH_DATABASE_URL)")
        return 0
    from sqlalchemy.exc import OperationalError

    from api.migrate import upgrade

    db = Database(make_engine(url))
    try:
        with db.engine.connect():
            pass
    except OperationalError as exc:
        print(f"bench_allocation: skipped, no PostgreSQL at XB_BENCH_DATABASE_URL ({type(exc).__name__})")
        return 0
    upgrade(url)
    rng = random.Random(7)
    run = secrets.token_hex(2).upper()
    t0 = time.perf_counter()
    seller, codes, skus, stock_units = setup(db, run, args.skus, rng)
    print(
        f"setup: {len(codes)} warehouses, {len(skus)} SKUs, {stock_units} units in stock "
        f"({time.perf_counter() - t0:.1f} s); {args.clients} clients in {processes} processes; "
        f"{n_orders} orders, 20% of them on 50 hot low-stock SKUs; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    orders = make_orders(n_orders, skus, rng)
    with db.session() as s:
        bids = [
            int(x)
            for x in s.execute(
                select(t.balances.c.id).where(t.balances.c.seller_id == seller).limit(100)
            ).scalars()
        ]
    try:
        # The machine is shared and its load drifts: the three kinds of run are interleaved in rounds (in
        # turn first), each round on its own slice of the orders, and each kind's figures are the sum.
        prefix = {"one-statement insert": "B", "core insert": "C", "allocate": ""}
        phases: list[Phase] = []
        for r in range(args.rounds):
            for k in range(len(MODES)):
                mode = MODES[(r + k) % len(MODES)]
                chunk = orders[r :: args.rounds]
                phases.append((mode, [{**o, "order_ref": prefix[mode] + o["order_ref"]} for o in chunk]))
        by_mode: dict[str, tuple[list[tuple[str, float]], float]] = {m: ([], 0.0) for m in MODES}
        for mode, results, wall in drive(url, seller, phases, processes, args.clients, bids):
            got, total = by_mode[mode]
            by_mode[mode] = (got + results, total + wall)
        base_rate = report("bare insert, 1 stmt", *by_mode["one-statement insert"])
        core_rate = report("bare insert, 3 Core", *by_mode["core insert"])
        rate = report("allocate_order", *by_mode["allocate"])
        print(
            f"allocation runs at {rate / base_rate:.0%} of the one-statement bare-insert rate and "
            f"{rate / core_rate:.0%} of the three-statement Core bare insert; "
            f"goal >= {GOAL_PER_S:.0f} orders/s: "
            f"{'met' if rate >= GOAL_PER_S else 'NOT met'}"
        )
        with db.session() as s:  # the baseline rows are not orders: remove them before the audit
            ids = select(t.orders.c.id).where(t.orders.c.seller_id == seller, t.orders.c.status == "BASE")
            s.execute(delete(t.reservations).where(t.reservations.c.order_id.in_(ids)))
            s.execute(delete(t.order_lines).where(t.order_lines.c.order_id.in_(ids)))
            s.execute(delete(t.orders).where(t.orders.c.seller_id == seller, t.orders.c.status == "BASE"))
        if args.http:
            http_orders = [
                {**o, "order_ref": "H" + o["order_ref"]} for o in orders[: max(200, len(orders) // 4)]
            ]
            http_res, http_wall = drive_http(url, seller, http_orders, args.clients, args.http_parser)
            report("POST /v1/orders (HTTP)", http_res, http_wall)
        with db.session() as s:
            over = oversold_units(s)
            findings = audit(s, [seller])
            reserved = s.execute(
                select(func.sum(t.balances.c.reserved)).where(t.balances.c.seller_id == seller)
            ).scalar_one()
            ordered = s.execute(
                select(func.sum(t.reservations.c.qty))
                .join(t.orders, t.orders.c.id == t.reservations.c.order_id)
                .where(t.orders.c.seller_id == seller)
            ).scalar_one()
        print(
            f"oversold units: {over}; reserved {reserved} of {stock_units} in stock = units in reservations "
            f"{ordered}; audit findings: {len(findings)}"
        )
        for f in findings[:5]:
            print("   audit:", f)
        return 0 if over == 0 and not findings else 1
    finally:
        if not args.keep:
            cleanup(db, seller, codes)


if __name__ == "__main__":
    raise SystemExit(main())
