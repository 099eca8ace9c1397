"""Delivery-run solver (PyVRP) against best-known solutions, beside OR-Tools routing in the same run.

1. Solomon VRPTW (the instances in ../shared/data/solomon/, else the bundled copies), each solver given the
   same wall-clock limit, one thread each, every plan checked by `routing.vrp.check` (plain arithmetic):
     pyvrp   - routing.vrp.solve as shipped (PyVRP iterated local search, seed 0)
     ortools - OR-Tools routing, our best parameters (portfolio of constructions, then guided local search:
               bench/vrp_ortools.py, the solver this one replaced)
   Gaps never mix conventions: distance objective -> DIMACS best-known (arcs truncated to one decimal, our
   routes re-measured so); vehicles objective -> the hierarchical best-known (vehicles, then exact distance).
2. A warehouse's realistic day: 150 stops (30 of them returns collected on the way), 8 vans with shifts,
   a third of the stops with 2-hour windows, geodesic matrix; planned with a 3 s search budget (the wall
   time shown includes the matrix and the checker), beside a 30 s plan of the same day (not with --quick).
3. With --pickup400: a generated 400-stop day with 100 pickups, 30 s against 300 s (the long run is the
   reference for the gap).

Usage: python bench/bench_vrp.py [--quick] [--long] [--pickup400] [--time-limit S] [--instances C101,R101]
  --quick  distance objective only (the vehicles objective doubles the run)
  --long   also 60 s per solve
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from routing.vrp import (
    Depot,
    Instance,
    Stop,
    Van,
    best_known,
    bundled,
    check,
    load,
    plan_delivery_run,
    route_distance,
)
from routing.vrp.solomon import BUNDLED, BestKnown
from routing.vrp.solver import solve, to_problem

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vrp_ortools  # noqa: E402  (the baseline lives beside this script, not in the product)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "solomon"


@dataclass
class Row:
    instance: str
    method: str
    objective: str
    limit: float
    vehicles: int
    bks_vehicles: int
    measured: float
    bks: float
    feasible: bool
    wall_s: float
    cpu_s: float

    @property
    def gap(self) -> float:
        return 100.0 * (self.measured / self.bks - 1.0)


def _instance(name: str) -> tuple[Instance, str]:
    f = SHARED / f"{name.lower()}.txt"
    if f.exists():
        return load(f), str(SHARED)
    return bundled(name), "bundled copy"


def _ortools(inst: Instance, limit: float, objective: str) -> list[list[int]] | None:
    plan = vrp_ortools.optimise(to_problem(inst, objective), limit)  # type: ignore[arg-type]
    return [r.nodes for r in plan.routes] if plan.found else None


def _run(inst: Instance, bks: BestKnown, method: str, objective: str, limit: float) -> Row:
    wall, cpu = time.perf_counter(), time.process_time()
    if method == "pyvrp":
        sol = solve(inst, limit, objective)  # type: ignore[arg-type]
        routes: list[list[int]] | None = sol.routes if sol.feasible or sol.routes else None
    else:
        routes = _ortools(inst, limit, objective)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    routes = routes or []
    feasible = bool(routes) and not check(inst, routes)
    if objective == "vehicles":
        measured, ref, ref_v = route_distance(inst, routes), bks.hier_distance, bks.hier_vehicles
    else:
        measured, ref, ref_v = (
            route_distance(inst, routes, dimacs=True),
            bks.dist_distance_dimacs,
            bks.dist_vehicles,
        )
    return Row(inst.name, method, objective, limit, len(routes), ref_v, measured, ref, feasible, wall, cpu)


def solomon(names: list[str], limits: list[float], objectives: list[str]) -> None:
    table = best_known()
    rows: list[Row] = []
    header = (
        f"{'instance':8} {'method':7} {'objective':9} {'limit':>5} {'veh':>4} {'bks':>4} {'distance':>9} "
        f"{'bks dist':>9} {'gap %':>7} {'wall s':>7} {'cpu s':>6}  feasible"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        inst, source = _instance(name)
        for objective in objectives:
            for limit in limits:
                for method in ("pyvrp", "ortools"):
                    r = _run(inst, table[name], method, objective, limit)
                    rows.append(r)
                    print(
                        f"{r.instance:8} {r.method:7} {r.objective:9} {r.limit:5g} {r.vehicles:4d} "
                        f"{r.bks_vehicles:4d} {r.measured:9.2f} {r.bks:9.2f} {r.gap:7.2f} {r.wall_s:7.2f} "
                        f"{r.cpu_s:6.2f}  {'yes' if r.feasible else 'NO'}",
                        flush=True,
                    )
    print(
        f"(instances from {source}; cpu s below wall s: the machine was shared, the solver got that much CPU)"
    )
    print()
    print(
        f"{'method':7} {'objective':9} {'limit':>5} {'feasible':>8} {'mean gap %':>10} {'worst gap %':>11} "
        f"{'vehicles over bks':>17}"
    )
    for objective in objectives:
        for limit in limits:
            for method in ("pyvrp", "ortools"):
                rs = [r for r in rows if (r.method, r.objective, r.limit) == (method, objective, limit)]
                good = [r for r in rs if r.feasible]
                mean = f"{statistics.fmean(r.gap for r in good):10.2f}" if good else f"{'-':>10}"
                worst = f"{max(r.gap for r in good):11.2f}" if good else f"{'-':>11}"
                extra = sum(r.vehicles - r.bks_vehicles for r in good)
                print(
                    f"{method:7} {objective:9} {limit:5g} {len(good):>4}/{len(rs):<3} {mean} {worst} "
                    f"{extra:17d}"
                )
    print()


def generated_day(
    stops: int, vans: int, returns: int, seed: int, windows: float = 1 / 3
) -> tuple[Depot, list[Stop], list[Van]]:
    """A warehouse day around Duisburg: parcels of 0.3-25 kg within ~15 km, returns among them collected."""
    rng = random.Random(seed)
    t0 = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
    depot = Depot("DEDUI", 51.4344, 6.7623)
    out = []
    for i in range(stops):
        ready = due = None
        if rng.random() < windows:
            ready = t0 + timedelta(hours=rng.choice([1, 3, 5, 7]))
            due = ready + timedelta(hours=2)
        kg = round(rng.uniform(0.3, 25.0), 1)
        is_return = i < returns
        out.append(
            Stop(
                f"S{i}",
                depot.lat + rng.uniform(-0.13, 0.13),
                depot.lon + rng.uniform(-0.2, 0.2),
                weight_kg=0.0 if is_return else kg,
                pickup_kg=kg if is_return else 0.0,
                ready=ready,
                due=due,
            )
        )
    fleet = [Van(f"van-{i}", 600.0, t0, t0 + timedelta(hours=10)) for i in range(1, vans + 1)]
    return depot, out, fleet


def warehouse_day(reference: bool) -> None:
    depot, stops, vans = generated_day(150, 8, 30, seed=14)
    for budget in (3.0, 30.0) if reference else (3.0,):
        wall = time.perf_counter()
        plan = plan_delivery_run(depot, stops, vans, time_limit_s=budget)
        wall = time.perf_counter() - wall
        served = sum(len(r.visits) for r in plan.runs)
        print(
            f"warehouse day: 150 stops (30 returns), 8 vans: planned in {wall:.2f} s wall "
            f"({budget:g} s search budget), {served} served, {len(plan.unserved)} unserved, "
            f"{len(plan.runs)} vans used, {plan.distance_km:.1f} km, checked feasible",
            flush=True,
        )


def pickup400() -> None:
    depot, stops, vans = generated_day(400, 20, 100, seed=400, windows=0.25)
    out = {}
    for limit in (30.0, 300.0):
        wall = time.perf_counter()
        plan = plan_delivery_run(depot, stops, vans, time_limit_s=limit)
        out[limit] = plan
        print(
            f"400 stops (100 pickups), 20 vans, {limit:g} s: {plan.distance_km:.1f} km, "
            f"{len(plan.unserved)} unserved, {time.perf_counter() - wall:.1f} s wall",
            flush=True,
        )
    gap = 100 * (out[30.0].distance_km / out[300.0].distance_km - 1)
    print(f"400-stop gap of the 30 s plan to the 300 s plan: {gap:.2f} %")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="distance objective only")
    p.add_argument("--long", action="store_true", help="also 60 s per solve")
    p.add_argument("--pickup400", action="store_true", help="the 400-stop instance, 30 s vs 300 s")
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve (default 10)")
    p.add_argument("--instances", default=",".join(BUNDLED))
    args = p.parse_args(argv)
    names = [n.strip().upper() for n in args.instances.split(",") if n.strip()]
    limits = [args.time_limit, 60.0] if args.long else [args.time_limit]
    objectives = ["distance"] if args.quick else ["distance", "vehicles"]
    print(f"VRPTW: {len(names)} Solomon instances, {' and '.join(f'{x:g} s' for x in limits)} per solve.")
    solomon(names, limits, objectives)
    warehouse_day(reference=not args.quick)
    if args.pickup400:
        pickup400()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
