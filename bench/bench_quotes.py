"""Quote latency and memory: the Pareto planner beside a single-criterion earliest-arrival search.

(a) the Yibin reference network with an 8-week timetable;
(b) a generated network of ~1,500 terminals and 300 multi-stop lines (each stop-to-stop hop a service in each
    direction, 2-5 departures a week by mode, plus a road feeder per terminal) over 8 weeks: ~185k scheduled
    legs; quotes between random terminals, each with its own cargo.
Run: `python bench/bench_quotes.py` (full) or `--quick` (small, for `make bench`). Prints p50/p95/p99 in ms.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routing.errors import NoRoute  # noqa: E402
from routing.network import Network, default_planning, load_network, load_reference_network  # noqa: E402
from routing.planner import Cargo, QuoteRequest, earliest_arrival, plan  # noqa: E402
from routing.timetable import Timetable, expand  # noqa: E402

T0 = datetime(2027, 3, 1, tzinfo=UTC)
GOALS_MS = {"reference": 20.0, "generated": 300.0}
SPEED = {"rail": 35.0, "sea": 28.0, "river": 12.0, "air": 700.0, "road": 55.0}
FREQ = {"rail": 4, "sea": 2, "river": 2, "air": 5}  # departures/week per direction: ~200k legs in 8 weeks


def percentile(xs: Sequence[float], p: float) -> float:
    s = sorted(xs)
    k = (len(s) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def reference_queries(n: int, rng: random.Random) -> list[QuoteRequest]:
    destinations = [
        "DEDUI",
        "PLLOD",
        "NLRTM",
        "DEHAM",
        "NLTLB",
        "HUBUD",
        "SGSIN",
        "MYPKG",
        "VNSGN",
        "VNHAN",
        "THBKK",
        "THLCH",
        "USLAX",
        "CNSHA",
        "BEBRU",
        "LAVTE",
    ]
    cargos = [
        Cargo(12000, 60, "40HC"),
        Cargo(18000, 28, "20GP"),
        Cargo(3000, 12, "LCL"),
        Cargo(15000, 50, "40RF", temperature=(2, 8)),
        Cargo(8000, 40, "40GP", dangerous_goods=True),
        Cargo(600, 3, "AIR"),
    ]
    out = []
    for _ in range(n):
        origin: str | tuple[float, float] = rng.choice(["CNYIB", "CNYIB", "CNYIB", (28.8, 104.62), "CNCDU"])
        dest = rng.choice(destinations)
        ready = T0 + timedelta(hours=rng.randrange(0, 14 * 24))
        out.append(
            QuoteRequest(origin, dest, ready, None, rng.choice(cargos), rng.choice(["9610", "9710", "9810"]))
        )
    return out


def generated_network(nodes: int, lines: int, stops: int, seed: int = 7) -> dict[str, Any]:
    """A synthetic Eurasian network: terminals scattered over a box, lines walking between near neighbours."""
    rng = random.Random(seed)
    pts = [(rng.uniform(5, 55), rng.uniform(5, 125)) for _ in range(nodes)]
    node_rows = [
        {
            "id": f"T{i:04d}",
            "name": f"Terminal {i}",
            "unlocode": None,
            "lat": round(lat, 4),
            "lon": round(lon, 4),
            "kind": ["rail_terminal", "seaport"],
            "country": "ZZ",
        }
        for i, (lat, lon) in enumerate(pts)
    ]
    # neighbours on a coarse grid, so the walk stays local
    cell: dict[tuple[int, int], list[int]] = {}
    for i, (lat, lon) in enumerate(pts):
        cell.setdefault((int(lat // 4), int(lon // 4)), []).append(i)

    def near(i: int, k: int) -> list[int]:
        lat, lon = pts[i]
        cx, cy = int(lat // 4), int(lon // 4)
        cand = [
            j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in cell.get((cx + dx, cy + dy), []) if j != i
        ]
        cand.sort(key=lambda j: (pts[j][0] - lat) ** 2 + (pts[j][1] - lon) ** 2)
        return cand[:k]

    legs = []
    modes = ["rail"] * 6 + ["sea"] * 2 + ["river"] + ["air"]
    for ln in range(lines):
        mode = modes[ln % len(modes)]
        cur = rng.randrange(nodes)
        seq = [cur]
        heading = rng.uniform(0, 2 * math.pi)
        for _ in range(stops - 1):
            options = [j for j in near(cur, 12) if j not in seq]
            if not options:
                break

            # prefer neighbours ahead of the heading
            here, dx, dy = pts[cur], math.cos(heading), math.sin(heading)
            ahead = sorted(options, key=lambda j: -((pts[j][0] - here[0]) * dx + (pts[j][1] - here[1]) * dy))
            cur = ahead[0] if rng.random() < 0.8 else rng.choice(options)
            seq.append(cur)
        for a, b in zip(seq, seq[1:], strict=False):
            legs.append(_leg(f"L{ln:03d}-{a}-{b}", a, b, mode, pts, freq=FREQ[mode]))
    for i in range(0, nodes):  # a road feeder from every terminal to its nearest neighbour
        for j in near(i, 1):
            legs.append(_leg(f"R{i}-{j}", i, j, "road", pts, freq=None))
    # keep the largest connected piece (validation rejects unreachable terminals)
    adj: dict[str, set[str]] = {}
    for leg in legs:
        adj.setdefault(leg["from"], set()).add(leg["to"])
        adj.setdefault(leg["to"], set()).add(leg["from"])
    best: set[str] = set()
    seen: set[str] = set()
    for start in sorted(adj):
        if start in seen:
            continue
        comp, stack = set(), [start]
        while stack:
            x = stack.pop()
            if x not in comp:
                comp.add(x)
                stack.extend(adj[x] - comp)
        seen |= comp
        if len(comp) > len(best):
            best = comp
    node_rows = [n for n in node_rows if n["id"] in best]
    legs = [leg for leg in legs if leg["from"] in best]
    planning = default_planning()
    planning["legs"] = {}
    planning["node_handling_in_hours"] = {}
    planning["handling_in_hours"] = {"rail": 2, "sea": 6, "river": 3, "air": 2, "road": 1}
    planning["cutoff_hours"] = {"rail": 2, "sea": 12, "river": 4, "air": 3, "road": 0}
    return {"meta": {"sources": {}}, "nodes": node_rows, "legs": legs, "planning": planning}


def _leg(
    leg_id: str, a: int, b: int, mode: str, pts: list[tuple[float, float]], freq: float | None
) -> dict[str, Any]:
    (la, lo), (lb, lob) = pts[a], pts[b]
    gc = 111.2 * math.hypot(la - lb, (lo - lob) * math.cos(math.radians((la + lb) / 2)))
    km = max(round(gc * 1.3, 1), 20.0)
    hours = max(round(km / SPEED[mode], 1), 0.5)
    return {
        "id": leg_id,
        "from": f"T{a:04d}",
        "to": f"T{b:04d}",
        "mode": mode,
        "corridor": leg_id.split("-")[0],
        "leg_type": "segment",
        "via": [],
        "bidirectional": True,
        "transit_time": {"min": hours, "max": hours, "unit": "hours", "basis": "estimate"},
        "distance_km": km,
        "distance_basis": "estimate",
        "great_circle_km": None,
        "departures_per_week": freq,
        "departures_basis": "estimate",
        "price": None,
        "sources": [],
        "notes": None,
    }


def generated_queries(net: Network, n: int, rng: random.Random) -> list[QuoteRequest]:
    """Random pairs of terminals, ready within the first week, each with its own cargo (as real quotes are:
    no two weigh the same, so nothing cargo-specific is reused from one quote to the next)."""
    ids = sorted(i for i in net.nodes if net.services_from.get(i))
    out = []
    for _ in range(n):
        o, d = rng.sample(ids, 2)
        kind = rng.choice(["40HC", "40HC", "40GP", "20GP", "LCL"])
        if kind == "LCL":
            cargo = Cargo(round(rng.uniform(300, 9000)), round(rng.uniform(1, 28), 1), "LCL")
        elif kind == "20GP":
            cargo = Cargo(round(rng.uniform(4000, 24000)), round(rng.uniform(10, 32), 1), "20GP")
        else:
            cargo = Cargo(round(rng.uniform(4000, 26000)), round(rng.uniform(20, 67), 1), kind)
        ready = T0 + timedelta(hours=rng.randrange(0, 7 * 24))
        out.append(QuoteRequest(o, d, ready, None, cargo, "9710"))
    return out


def run(name: str, queries: list[QuoteRequest], fn: Callable[[QuoteRequest], Any]) -> dict[str, float]:
    """Wall-clock latency per query, and the process CPU time (robust when the machine is shared)."""
    times, cpu, empty, exact, legs = [], [], 0, 0, []
    for q in queries:
        t, c = time.perf_counter(), time.process_time()
        try:
            r = fn(q)
            if not r:
                empty += 1
        except NoRoute:
            r = None
            empty += 1
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        if isinstance(r, list) and r:
            exact += all(o.exact for o in r)
            legs.extend(len(o.legs) for o in r)
    return {
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "mean": statistics.fmean(times),
        "cpu50": percentile(cpu, 50),
        "cpu95": percentile(cpu, 95),
        "empty": empty,
        "n": len(times),
        "exact": exact,
        "legs": statistics.median(legs) if legs else 0.0,
        "legs_max": max(legs, default=0),
    }


def peak_memory_mb(queries: list[QuoteRequest], fn: Callable[[QuoteRequest], Any]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    for q in queries:
        with contextlib.suppress(NoRoute):
            fn(q)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 1e6


def bookings(
    tt: Timetable, rng: random.Random, share: float = 0.05
) -> tuple[dict[str, float], dict[str, float]]:
    """Room left on departures that already carry bookings (TEU, kg), as the service passes it to the planner:
    `share` of the departures are partly or fully booked."""
    teu, kg = {}, {}
    for d in tt.departures:
        if rng.random() < share:
            used = rng.choice([0.25, 0.5, 0.9, 1.0])
            teu[d.id] = d.capacity_teu * (1 - used)
            kg[d.id] = d.capacity_kg * (1 - used)
    return teu, kg


def report(case: str, net: Network, tt: Timetable, queries: list[QuoteRequest], build_s: float) -> None:
    teu_left, kg_left = bookings(tt, random.Random(3))

    def pareto(q: QuoteRequest) -> Any:
        return plan(net, tt, q, teu_left, kg_left)

    def baseline(q: QuoteRequest) -> Any:
        return earliest_arrival(net, tt, q, teu_left, kg_left)

    for q in queries[:3]:  # warm caches (geodesic, imports)
        with contextlib.suppress(NoRoute):
            pareto(q)
    p = run("pareto", queries, pareto)
    b = run("earliest", queries, baseline)
    mem_p = peak_memory_mb(queries[:10], pareto)
    mem_b = peak_memory_mb(queries[:10], baseline)
    goal = GOALS_MS[case]
    lines = len({s.corridor for s in net.services.values() if not s.on_demand})
    print(
        f"\n== ({case}) {len(net.nodes)} nodes, {len(net.services)} services (one per leg and direction; "
        f"{lines} timetabled corridors), {len(tt.departures)} departures over "
        f"{(tt.end - tt.start).days // 7} weeks ({len(teu_left)} of them with bookings); "
        f"network + timetable built in {build_s:.1f} s"
    )
    print(
        f"{'search':<30}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'cpu p50':>9}{'cpu p95':>9}"
        f"{'no-route':>10}{'peak MB':>9}"
    )
    for label, r, m in (
        ("Pareto plan (cost,time,CO2e)", p, mem_p),
        ("earliest arrival (baseline)", b, mem_b),
    ):
        print(
            f"{label:<30}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['p99']:>9.2f}{r['mean']:>9.2f}{r['cpu50']:>9.2f}"
            f"{r['cpu95']:>9.2f}{int(r['empty']):>6}/{int(r['n']):<3}{m:>9.2f}"
        )
    answered = int(p["n"] - p["empty"])
    print(
        f"Pareto answers: {int(p['exact'])}/{answered} exact (the rest hit the label budget and were pruned "
        f"within the tolerance); legs per option: median {p['legs']:g}, max {int(p['legs_max'])}"
    )
    verdict = "meets" if p["p95"] <= goal else "MISSES"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"goal p95 <= {goal:g} ms (wall): {verdict} ({p['p95']:.1f} ms; CPU p95 {p['cpu95']:.1f} ms); "
        f"Pareto / baseline p50 = {p['p50'] / max(b['p50'], 1e-9):.1f}x; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs"
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small run (seconds)")
    ap.add_argument("--queries", type=int, default=None)
    args = ap.parse_args(argv)
    rng = random.Random(42)
    nq = args.queries or (30 if args.quick else 200)

    t = time.perf_counter()
    ref = load_reference_network()
    ref_tt = expand(ref, T0, 8)
    report("reference", ref, ref_tt, reference_queries(nq, rng), time.perf_counter() - t)

    nodes, lines, stops = (300, 60, 12) if args.quick else (1500, 300, 12)
    t = time.perf_counter()
    gen = load_network(generated_network(nodes, lines, stops))
    gen_tt = expand(gen, T0, 8)
    build = time.perf_counter() - t
    report("generated", gen, gen_tt, generated_queries(gen, max(10, nq // 2), rng), build)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
