"""The integer routing core shared by Solomon/VRPLIB instances and warehouse delivery runs (PyVRP).

Callers turn their problem into a `RoutingProblem` of integer matrices (node 0 is the depot) and call
`optimise`, which builds a PyVRP model and runs its iterated local search (hybrid genetic search lineage,
Vidal 2022) for the time limit. Measured beside OR-Tools routing with guided local search on Solomon, 10 s
each (bench/bench_vrp.py): PyVRP's mean gap to the best-known distance is a tenth of OR-Tools', so OR-Tools
routing is kept only as the bench's baseline (`bench/vrp_ortools.py`); OR-Tools stays for CP-SAT.

Model:
- time: a service must *start* inside its window; waiting is allowed; each vehicle leaves the depot no
  earlier than its shift start and is back by its shift end;
- load: `delivery` leaves the depot on the van, `pickup` is collected on the way and comes back; the load
  never exceeds the vehicle's capacity at any point of the route (PyVRP tracks the load profile);
- each vehicle is its own vehicle type (heterogeneous fleet: capacity, shift, depot node 0);
- `fixed_cost` is paid per vehicle used (the "fewest vehicles first" objective);
- `prizes`: when set, every stop is optional and worth its prize; an unserved stop forgoes the prize (the
  delivery runs report it with a reason instead of failing the plan). Without prizes every stop is required.
- `pairs`: paired pickup and delivery (a transfer: collected at one stop, dropped at another by the same
  vehicle, PyVRP shipments);
- `forbidden` nodes are known unservable and are left out of the model entirely (reported as dropped).

The solver's own arithmetic is integer; callers scale so that integer feasibility implies exact
feasibility (times rounded up, windows and capacities rounded down), and check every plan independently.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyvrp import Model, minimise_fleet, solve
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    """Integer data as the solver sees it; all lists are indexed by node (0 = depot) or by vehicle."""

    cost: Sequence[Sequence[int]]
    travel: Sequence[Sequence[int]]
    service: Sequence[int]
    demand: Sequence[int]  # delivered: loaded at the depot
    windows: Sequence[tuple[int, int]]
    capacities: Sequence[int]
    shifts: Sequence[tuple[int, int]]
    fixed_cost: int = 0
    pickup: Sequence[int] | None = None  # collected on the way, brought back to the depot
    prizes: Sequence[int] | None = None  # by node (index 0 ignored); set: every stop is optional
    # Paired pickup and delivery: (pickup node, delivery node, amount). The same vehicle collects `amount`
    # at the first and drops it at the second, later in its route (both or neither are served). These
    # nodes' own `demand`/`pickup` are ignored.
    pairs: Sequence[tuple[int, int, int]] = ()
    # Nodes that must stay unserved (e.g. a window outside every shift).
    forbidden: frozenset[int] = frozenset()

    @property
    def nodes(self) -> int:
        return len(self.demand)

    @property
    def vehicles(self) -> int:
        return len(self.capacities)


@dataclass(frozen=True, slots=True)
class VehicleRoute:
    vehicle: int
    nodes: list[int]
    starts: list[int]  # service start at each node, same order as `nodes`
    depart: int
    back: int


@dataclass(frozen=True, slots=True)
class Plan:
    routes: list[VehicleRoute] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    objective: int = 0
    found: bool = False
    status: str = ""


def optimise(
    problem: RoutingProblem, time_limit_s: float, *, seed: int = 0, max_iterations: int | None = None
) -> Plan:
    """Solve the problem with PyVRP; `found` is False when no feasible solution was found in time.

    The search is single-threaded and deterministic for a seed but for the clock: a run stopped by
    `max_iterations` (before the time limit) is repeatable exactly; one stopped by the time limit depends on
    how much CPU it got."""
    if not time_limit_s > 0:
        raise ValueError(f"time limit must be positive, got {time_limit_s}")
    n = problem.nodes
    paired = {p for p, _, _ in problem.pairs} | {d for _, d, _ in problem.pairs}
    pairs = [x for x in problem.pairs if x[0] not in problem.forbidden and x[1] not in problem.forbidden]
    served_nodes = [i for i in range(1, n) if i not in problem.forbidden and i not in paired]
    if not served_nodes and not pairs:
        return Plan([], sorted(problem.forbidden), 0, True, "nothing to route")
    m = Model()
    locations = [m.add_location(0.0, 0.0) for _ in range(n)]  # coordinates unused: edges are explicit
    d_ready, d_due = problem.windows[0]
    depot = m.add_depot(locations[0], tw_early=d_ready, tw_late=d_due)
    # Identical vehicles (payload and shift) are one vehicle type: the search then does not tell them apart,
    # and the fleet can be minimised (which PyVRP does for a single type only).
    groups: dict[tuple[int, int, int], list[int]] = {}
    for v, capacity in enumerate(problem.capacities):
        groups.setdefault((capacity, *problem.shifts[v]), []).append(v)
    for (capacity, start, end), members in groups.items():
        m.add_vehicle_type(
            num_available=len(members),
            capacity=capacity,
            start_depot=depot,
            end_depot=depot,
            fixed_cost=problem.fixed_cost,
            tw_early=max(start, d_ready),
            tw_late=min(end, d_due),
        )
    pickup = problem.pickup or [0] * n
    for node in served_nodes:
        ready, due = problem.windows[node]
        m.add_client(
            locations[node],
            delivery=problem.demand[node],
            pickup=pickup[node],
            service_duration=problem.service[node],
            tw_early=ready,
            tw_late=due,
            prize=0 if problem.prizes is None else problem.prizes[node],
            required=problem.prizes is None,
            name=str(node),
        )
    for p, d, amount in pairs:
        (p_ready, p_due), (d_ready, d_due) = problem.windows[p], problem.windows[d]
        m.add_shipment(
            locations[p],
            locations[d],
            pickup_tw_early=p_ready,
            pickup_tw_late=p_due,
            pickup_service_duration=problem.service[p],
            delivery_tw_early=d_ready,
            delivery_tw_late=d_due,
            delivery_service_duration=problem.service[d],
            amount=amount,
            # a pair is worth both its stops' prizes
            prize=0 if problem.prizes is None else problem.prizes[p] + problem.prizes[d],
            required=problem.prizes is None,
            name=f"{p}>{d}",
        )
    wanted = [0, *served_nodes, *(x for p, d, _ in pairs for x in (p, d))]
    for a in wanted:
        for b in wanted:
            if a != b:
                m.add_edge(
                    locations[a], locations[b], distance=problem.cost[a][b], duration=problem.travel[a][b]
                )

    def stop(seconds: float, iterations: int | None) -> StoppingCriterion:
        limit: StoppingCriterion = MaxRuntime(seconds)
        return limit if iterations is None else MultipleCriteria([limit, MaxIterations(iterations)])

    data = m.data()
    with warnings.catch_warnings():
        # PyVRP warns when its penalties max out, i.e. no feasible solution is in sight: that is reported
        # below as `found=False` (and the delivery runs never get there: their stops are optional).
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        if problem.fixed_cost and len(groups) == 1 and problem.prizes is None:
            # Fewest vehicles, then distance: a third of the time minimises the fleet, the rest routes that
            # fleet for distance alone. A huge fixed cost per vehicle in one search (the general way, used
            # below otherwise) measured worse: R201 at 10 s was 8.3 % over the best-known distance with 4
            # vehicles, this way at the best-known 1,252.37 (bench_vrp.py).
            share = None if max_iterations is None else max(max_iterations // 3, 1)
            fleet = minimise_fleet(data, stop(time_limit_s / 3, share), seed=seed)
            data = data.replace(vehicle_types=[fleet.replace(fixed_cost=0)])
            time_limit_s -= time_limit_s / 3
        result = solve(data, stop=stop(time_limit_s, max_iterations), seed=seed, display=False)
    best = result.best
    if not best.is_feasible():
        return Plan(found=False, status="no feasible solution within the time limit")
    routes: list[VehicleRoute] = []
    served: set[int] = set()
    unused = {k: list(reversed(members)) for k, members in enumerate(groups.values())}
    for route in best.routes():
        nodes: list[int] = []
        starts: list[int] = []
        for activity in route.schedule():
            if activity.is_client():
                nodes.append(served_nodes[activity.idx])
            elif activity.is_pickup():
                nodes.append(pairs[activity.idx][0])
            elif activity.is_delivery():
                nodes.append(pairs[activity.idx][1])
            else:
                continue
            starts.append(activity.start_time)
        if nodes:
            routes.append(
                VehicleRoute(
                    unused[route.vehicle_type()].pop(), nodes, starts, route.start_time(), route.end_time()
                )
            )
            served.update(nodes)
    dropped = [node for node in range(1, n) if node not in served]
    return Plan(routes, dropped, int(result.cost()), True, "feasible")
