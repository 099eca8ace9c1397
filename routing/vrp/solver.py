"""Solve VRPTW instances (Solomon or VRPLIB) with PyVRP, and check any solution without it.

Arcs go to the solver as integers scaled by `SCALE`: arc *costs* are rounded (the search ranks solutions by
almost exactly their Euclidean length) and arc *times* are rounded up, so a schedule the solver accepts is
feasible in exact arithmetic too. The distance reported is always recomputed with exact Euclidean arcs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from routing.vrp.core import RoutingProblem, optimise
from routing.vrp.solomon import Instance

Objective = Literal["distance", "vehicles"]
OBJECTIVES: tuple[Objective, ...] = ("distance", "vehicles")
SCALE = 1000
# Time windows are checked with this slack so that float noise in hypot() never rejects an exact schedule.
TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Solution:
    routes: list[list[int]]
    vehicles: int
    distance: float
    feasible: bool


def solve(
    instance: Instance,
    time_limit_s: float,
    objective: Objective = "distance",
    *,
    seed: int = 0,
    max_iterations: int | None = None,
) -> Solution:
    """Best solution found within the time limit; `feasible` is False (and routes empty) if none was found."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    problem = to_problem(instance, objective)
    result = optimise(problem, time_limit_s, seed=seed, max_iterations=max_iterations)
    if not result.found:
        return Solution([], 0, 0.0, False)
    routes = [r.nodes for r in result.routes]
    return Solution(routes, len(routes), route_distance(instance, routes), not check(instance, routes))


def to_problem(instance: Instance, objective: Objective = "distance") -> RoutingProblem:
    """The integer model of an instance: scaled rounded costs, scaled rounded-up travel times."""
    sites = instance.sites
    n = len(sites)
    exact = [[math.hypot(a.x - b.x, a.y - b.y) for b in sites] for a in sites]
    cost = [[round(d * SCALE) for d in row] for row in exact]
    travel = [[_ceil_scaled(d) for d in row] for row in exact]
    fixed = 0
    if objective == "vehicles":
        # Larger than the whole distance of any solution (it has at most n + vehicles arcs): one vehicle
        # fewer always beats any saving in distance, i.e. vehicles first, then distance.
        fixed = (n + instance.vehicles) * max(max(row) for row in cost) + 1
    return RoutingProblem(
        cost=cost,
        travel=travel,
        service=[_ceil_scaled(s.service) for s in sites],
        demand=[s.demand for s in sites],
        windows=[(_ceil_scaled(s.ready), _floor_scaled(s.due)) for s in sites],
        capacities=[instance.capacity] * instance.vehicles,
        shifts=[(_ceil_scaled(instance.depot.ready), _floor_scaled(instance.depot.due))] * instance.vehicles,
        fixed_cost=fixed,
    )


def _floor_scaled(value: float) -> int:
    # round(.., 6) first: 3.3 * 1000 is 3299.9999999999995 in floats, and must not floor to 3299.
    return math.floor(round(value * SCALE, 6))


def _ceil_scaled(value: float) -> int:
    # round(.., 6) first: float noise such as 5000.000000001 must not round up to 5001.
    return math.ceil(round(value * SCALE, 6))


def route_distance(instance: Instance, routes: Sequence[Sequence[int]], *, dimacs: bool = False) -> float:
    """Total length of the routes, each from and back to the depot. With `dimacs`, each arc is truncated to
    one decimal first (the convention of the DIMACS challenge best-known distances)."""
    total = 0.0
    for route in routes:
        path = [0, *route, 0]
        for a, b in zip(path, path[1:], strict=False):
            d = instance.distance(a, b)
            total += math.floor(d * 10 + 1e-9) / 10 if dimacs else d
    return total


def check(instance: Instance, routes: Sequence[Sequence[int]]) -> list[str]:
    """Every way the routes break the instance (empty list: feasible). Plain arithmetic, no solver:
    fleet size, each customer exactly once, capacity, service starting within each window, back by the
    depot's due date."""
    problems: list[str] = []
    n = len(instance.customers)
    if len(routes) > instance.vehicles:
        problems.append(f"{len(routes)} routes but the fleet has {instance.vehicles} vehicles")
    seen: dict[int, int] = {}
    for r, route in enumerate(routes):
        if not route:
            problems.append(f"route {r} is empty")
            continue
        unknown = [c for c in route if not 1 <= c <= n]
        if unknown:
            problems.append(f"route {r} visits unknown customer(s) {unknown} (customers are 1..{n})")
            continue
        for c in route:
            if c in seen:
                problems.append(f"customer {c} is visited twice (routes {seen[c]} and {r})")
            seen[c] = r
        load = sum(instance.sites[c].demand for c in route)
        if load > instance.capacity:
            problems.append(f"route {r} carries {load}, over the capacity {instance.capacity}")
        clock, here = instance.depot.ready, 0
        for c in route:
            site = instance.sites[c]
            arrival = clock + instance.distance(here, c)
            if arrival > site.due + TOLERANCE:
                problems.append(
                    f"route {r} reaches customer {c} at {arrival:.3f}, after its due date {site.due:g}"
                )
            clock, here = max(arrival, site.ready) + site.service, c
        back = clock + instance.distance(here, 0)
        if back > instance.depot.due + TOLERANCE:
            problems.append(f"route {r} is back at the depot at {back:.3f}, after {instance.depot.due:g}")
    missing = sorted(set(range(1, n + 1)) - set(seen))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        problems.append(f"{len(missing)} customer(s) never visited: {shown}")
    return problems
