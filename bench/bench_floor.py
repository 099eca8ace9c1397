"""The warehouse floor: picking and partial shipment, the expired-lots job and delivery-run planning, each
beside a baseline measured in the same run.

- ship: shipping a whole order nobody picked (`ship_order`, the baseline) against picking it and shipping
  the picked units, and against two partial shipments (pick half, ship, pick the rest, ship);
- expiry: one job run that moves N orders off an expired lot to a fresh one, against allocating the same
  N orders afresh; then the same job committed in batches of N/4 orders (`run_expiry`), with its longest
  batch beside the one-transaction run;
- delivery runs: `plan_run` (read the day's orders, plan, store the stops) against the bare
  `routing.vrp.plan_delivery_run` on the same stops and vans, same time limit.

One client, one transaction per call, latencies p50/p95/p99 in ms, peak RSS of the process. Every scenario
ends with the stock audit (`warehouse.audit`) and must find nothing.

Run: `python bench/bench_floor.py [--quick]`. Database: `XB_BENCH_DATABASE_URL` (PostgreSQL), else a fresh
SQLite file in a temporary directory (migrated here).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.migrate import upgrade  # noqa: E402
from kernel.db import Database, make_engine  # noqa: E402
from kernel.identity import Role, TenantKind, create_tenant  # noqa: E402
from routing.vrp import Depot, Stop, Van, plan_delivery_run  # noqa: E402
from warehouse import delivery_runs, expiry, picking_service  # noqa: E402
from warehouse.audit import audit  # noqa: E402
from warehouse.catalog import CreateSku, CreateWarehouse, create_sku, create_warehouse  # noqa: E402
from warehouse.counting import CountLine  # noqa: E402
from warehouse.inbound import CreateInbound, InboundLine, ReceiveInbound, create_inbound, receive_inbound  # noqa: E402
from warehouse.orders import AllocateOrder, OrderAddress, OrderLine, ShipOrder, allocate_order, ship_order  # noqa: E402
from warehouse.picking import PickRequest  # noqa: E402
from warehouse.picking_service import PickOrder  # noqa: E402
from warehouse.ports import NoEta  # noqa: E402
from warehouse.scope import Scope  # noqa: E402

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
ADMIN = Scope("tn_platform", Role.ADMIN)
DEPOT = (51.43, 6.76)  # Duisburg


def percentile(xs: Sequence[float], p: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def line(name: str, ms: Sequence[float], units: str = "op") -> str:
    total_s = sum(ms) / 1000
    rate = len(ms) / total_s if total_s else float("nan")
    return (
        f"  {name:<44} n={len(ms):>4}  p50 {percentile(ms, 50):7.2f}  p95 {percentile(ms, 95):7.2f}  "
        f"p99 {percentile(ms, 99):7.2f} ms   {rate:8.1f} {units}/s"
    )


def timed(fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return (time.perf_counter() - t0) * 1000, out


def world(db: Database, lots: dict[str, tuple[int, date | None]], sku: str = "BOX") -> tuple[str, str]:
    """A fresh seller with one SKU's lots {lot: (qty, expires_on)} at a fresh warehouse near Duisburg."""
    code = "F" + secrets.token_hex(4).upper()
    tracked = any(lot for lot in lots)
    with db.session() as s:
        create_warehouse(
            s, CreateWarehouse(code, "bench", "DE", Decimal(str(DEPOT[0])), Decimal(str(DEPOT[1]))), NOW
        )
        seller = str(create_tenant(s, "bench floor", TenantKind.SELLER, NOW)["id"])
        create_sku(s, CreateSku(seller, sku, sku, Decimal("2"), Decimal("0.01"), lot_tracked=tracked), NOW)
        lines = tuple(InboundLine(sku, q, lot or None, e if lot else None) for lot, (q, e) in lots.items())
        asn = create_inbound(s, ADMIN, CreateInbound(code, lines, seller_id=seller), NOW, NoEta())
        counted = tuple(CountLine(ln.sku, ln.qty, ln.lot) for ln in lines)
        receive_inbound(s, ADMIN, ReceiveInbound(asn, counted), NOW)
    return seller, code


def order(db: Database, seller: str, ref: str, qty: int, rng: random.Random, sku: str = "BOX") -> str:
    ship_to = OrderAddress("DE", DEPOT[0] + rng.uniform(-0.25, 0.25), DEPOT[1] + rng.uniform(-0.4, 0.4))
    cmd = AllocateOrder(ref, ship_to, (OrderLine(sku, qty),))
    with db.session() as s:
        return allocate_order(s, Scope(seller, Role.SELLER), cmd, NOW).id


def check(db: Database, seller: str) -> None:
    with db.session() as s:
        findings = audit(s, [seller])
    assert findings == [], findings


def bench_ship(db: Database, n: int, rng: random.Random) -> None:
    print(f"ship: {n} orders of 4 units per way", flush=True)
    seller, _ = world(db, {"": (n * 12 + 10, None)})
    scope = Scope(seller, Role.SELLER)
    whole, picked, partial = [], [], []
    for i in range(n):
        oid = order(db, seller, f"W{i}", 4, rng)
        with db.session() as s:
            whole.append(timed(ship_order, s, scope, oid, NOW)[0])
    for i in range(n):
        oid = order(db, seller, f"P{i}", 4, rng)
        ms = 0.0
        with db.session() as s:
            ms += timed(picking_service.pick_order, s, ADMIN, PickOrder(oid, (PickRequest("BOX", 4),)), NOW)[
                0
            ]
        with db.session() as s:
            ms += timed(ship_order, s, scope, ShipOrder(oid), NOW)[0]
        picked.append(ms)
    for i in range(n):
        oid = order(db, seller, f"H{i}", 4, rng)
        ms = 0.0
        for _ in range(2):
            with db.session() as s:
                ms += timed(
                    picking_service.pick_order, s, ADMIN, PickOrder(oid, (PickRequest("BOX", 2),)), NOW
                )[0]
            with db.session() as s:
                ms += timed(ship_order, s, scope, ShipOrder(oid), NOW)[0]
        partial.append(ms)
    print(line("baseline: ship whole order (no pick)", whole, "orders"))
    print(line("pick all, ship picked (2 transactions)", picked, "orders"))
    print(line("two partial shipments (4 transactions)", partial, "orders"))
    print(f"  pick+ship / baseline at p50: {percentile(picked, 50) / percentile(whole, 50):.2f}x")
    check(db, seller)


def bench_expiry(db: Database, n: int, rng: random.Random) -> None:
    print(f"expiry: {n} orders of 2 units on a lot that expires", flush=True)
    soon, later = NOW.date() + timedelta(days=1), NOW.date() + timedelta(days=300)
    seller, _ = world(db, {"OLD": (n * 2, soon), "NEW": (n * 2 + 4, later)})
    for i in range(n):
        order(db, seller, f"E{i}", 2, rng)
    expired_at = NOW + timedelta(days=2)
    with db.session() as s:
        job_ms, out = timed(expiry.handle_expired_lots, s, expired_at)
    mine = [r for r in out["reservations"] if sum(p["qty"] for p in r["reallocated"]) == 2]
    base_seller, _ = world(db, {"NEW": (n * 2 + 4, later)})
    alloc = []
    for i in range(n):
        body = {"order_ref": f"A{i}", "ship_to": {"country": "DE"}, "lines": [{"sku": "BOX", "qty": 2}]}
        with db.session() as s:
            alloc.append(timed(allocate_order, s, Scope(base_seller, Role.SELLER), body, expired_at)[0])
    print(
        f"  job run: {job_ms:9.1f} ms for {len(out['reservations'])} reservation(s) "
        f"({len(mine)} of this run's moved whole), {len(out['quarantined'])} balance(s) quarantined, "
        f"{len(out['deferred'])} deferred; {job_ms / max(1, len(out['reservations'])):.2f} ms per reservation"
    )
    print(line("baseline: allocate the same orders afresh", alloc, "orders"))
    print(
        f"  job per reservation / allocation p50: "
        f"{job_ms / max(1, len(out['reservations'])) / percentile(alloc, 50):.2f}x"
    )
    check(db, seller)
    check(db, base_seller)
    # the same job committed in batches (what the scheduler runs): total time and the longest transaction
    batch = max(1, n // 4)
    b_seller, _ = world(db, {"OLD": (n * 2, soon), "NEW": (n * 2 + 4, later)})
    for i in range(n):
        order(db, b_seller, f"B{i}", 2, rng)
    spans: list[float] = []
    real = expiry.reallocate_orders

    def timed_batch(session: Any, ids: list[str], now: datetime) -> Any:
        ms, out = timed(real, session, ids, now)
        spans.append(ms)
        return out

    expiry.reallocate_orders = timed_batch  # type: ignore[assignment]
    try:
        batched_ms, bout = timed(expiry.run_expiry, db, expired_at, batch)
    finally:
        expiry.reallocate_orders = real
    print(
        f"  batched run (batch of {batch} orders): {batched_ms:9.1f} ms for {len(bout['reservations'])}"
        f" reservation(s) in {bout['batches']} transaction(s), {len(bout['deferred'])} deferred;"
        f" {batched_ms / max(1, len(bout['reservations'])):.2f} ms per reservation;"
        f" longest order batch {max(spans, default=0.0):.1f} ms vs one transaction {job_ms:.1f} ms"
    )
    check(db, b_seller)


def plan_and_read(s: Any, op: Scope, cmd: delivery_runs.PlanDeliveryRun) -> dict[str, Any]:
    """What `POST .../delivery-runs` runs: plan and store the run, then read it back."""
    return delivery_runs.planned_run_view(s, op, delivery_runs.plan_run(s, op, cmd, NOW))


def bench_runs(db: Database, stops: int, repeats: int, limit_s: float, rng: random.Random) -> None:
    print(
        f"delivery runs: {stops} shipped orders, 3 vans, time limit {limit_s} s, {repeats} day(s)", flush=True
    )
    stored, bare, km_stored, km_bare = [], [], [], []
    for d in range(repeats):
        seller, code = world(db, {"": (stops * 2, None)})
        scope = Scope(seller, Role.SELLER)
        ids = [order(db, seller, f"R{d}-{i}", 1, rng) for i in range(stops)]
        for oid in ids:
            with db.session() as s:
                ship_order(s, scope, ShipOrder(oid), NOW)
        cmd = delivery_runs.PlanDeliveryRun(
            code, NOW.date(), tuple(delivery_runs.VanSpec(f"V{v}", 400) for v in range(3)), limit_s
        )
        op = Scope("bench-operator", Role.OPERATOR, (code,))

        with db.session() as s:
            ms, run = timed(plan_and_read, s, op, cmd)
        stored.append(ms)
        km_stored.append(run["distance_km"])
        points = [(s["order_id"], s["lat"], s["lon"]) for v in run["vans"] for s in v["stops"]]
        start = datetime.combine(NOW.date(), datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
        vans = [Van(f"V{v}", 400, start, start + timedelta(hours=10)) for v in range(3)]
        ms, plan = timed(
            plan_delivery_run,
            Depot(code, *DEPOT),
            [Stop(i, la, lo, 2.0) for i, la, lo in points],
            vans,
            time_limit_s=limit_s,
        )
        bare.append(ms)
        km_bare.append(plan.distance_km)
    print(line("plan_run (read, plan, store)", stored, "runs"))
    print(line("baseline: bare plan_delivery_run", bare, "runs"))
    print(
        f"  distance km, stored vs bare (mean): {sum(km_stored) / len(km_stored):.1f}"
        f" vs {sum(km_bare) / len(km_bare):.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    url = os.environ.get("XB_BENCH_DATABASE_URL")
    tmp = None
    if not url:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'floor.db'}"
    upgrade(url)
    db = Database(make_engine(url))
    backend = "PostgreSQL" if db.is_postgres else "SQLite"
    n, stops, repeats, limit = (40, 25, 2, 1.0) if args.quick else (200, 60, 3, 2.0)
    print(f"bench_floor on {backend}", flush=True)
    bench_ship(db, n, rng)
    bench_expiry(db, n, rng)
    bench_runs(db, stops, repeats, limit, rng)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    db.engine.dispose()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
