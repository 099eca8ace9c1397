"""The integer routing core shared by Solomon instances and warehouse delivery runs.

Callers turn their problem into a `RoutingProblem` of integer matrices (node 0 is the depot) and call
`optimise`. Both matrices are registered with OR-Tools as transit *matrices*, not Python callbacks, so the
search never calls back into the interpreter for an arc.

Time windows are a time dimension whose transit from i to j is the service time at i plus the travel time
i -> j; waiting is slack. Capacity is a second dimension. A fixed cost per vehicle, when set, makes the search
trade distance for fewer vehicles. With `drop_penalty` set a stop may stay unserved at that price (delivery
runs report it instead of failing); without it every stop must be served or there is no solution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

FirstSolution = Literal[
    "PARALLEL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION",
    "SEQUENTIAL_CHEAPEST_INSERTION",
    "PATH_CHEAPEST_ARC",
    "SAVINGS",
    "CHRISTOFIDES",
    "AUTOMATIC",
]
Metaheuristic = Literal[
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
    "GREEDY_DESCENT",
    "AUTOMATIC",
]


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    """Integer data as the solver sees it; all lists are indexed by node (0 = depot) or by vehicle."""

    cost: Sequence[Sequence[int]]
    travel: Sequence[Sequence[int]]
    service: Sequence[int]
    demand: Sequence[int]
    windows: Sequence[tuple[int, int]]
    capacities: Sequence[int]
    shifts: Sequence[tuple[int, int]]
    fixed_cost: int = 0
    drop_penalty: int | None = None
    # Nodes that must stay unserved (e.g. a window outside every shift); needs `drop_penalty`.
    forbidden: frozenset[int] = frozenset()

    @property
    def nodes(self) -> int:
        return len(self.demand)

    @property
    def vehicles(self) -> int:
        return len(self.capacities)


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """How to search. `solution_limit` bounds the search by work done instead of wall time, which makes a
    run reproducible (OR-Tools routing is single-threaded and deterministic apart from the clock)."""

    first_solution: FirstSolution = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: Metaheuristic = "GUIDED_LOCAL_SEARCH"
    guided_local_search_lambda: float | None = None
    solution_limit: int | None = None
    # Further RoutingSearchParameters in protobuf text format, e.g. "use_iterated_local_search: true".
    overrides: str = ""


TUNED = SearchPlan()
NAIVE = SearchPlan(first_solution="PATH_CHEAPEST_ARC", metaheuristic="GREEDY_DESCENT")


@dataclass(frozen=True, slots=True)
class VehicleRoute:
    vehicle: int
    nodes: list[int]
    starts: list[int]  # service start (time cumul) at each node, same order as `nodes`
    depart: int
    back: int


@dataclass(frozen=True, slots=True)
class Plan:
    routes: list[VehicleRoute] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    objective: int = 0
    found: bool = False
    status: str = ""


def optimise(problem: RoutingProblem, time_limit_s: float, plan: SearchPlan = TUNED) -> Plan:
    """Solve the problem with OR-Tools routing; `found` is False when no solution was found in time."""
    if time_limit_s <= 0:
        raise ValueError(f"time limit must be positive, got {time_limit_s}")
    n, k = problem.nodes, problem.vehicles
    if problem.forbidden and problem.drop_penalty is None:
        raise ValueError("forbidden nodes need a drop penalty: without one every node must be served")
    manager = pywrapcp.RoutingIndexManager(n, k, 0)
    model = pywrapcp.RoutingModel(manager)

    cost_index = model.RegisterTransitMatrix([list(row) for row in problem.cost])
    model.SetArcCostEvaluatorOfAllVehicles(cost_index)
    if problem.fixed_cost:
        model.SetFixedCostOfAllVehicles(problem.fixed_cost)

    demand_index = model.RegisterUnaryTransitVector(list(problem.demand))
    model.AddDimensionWithVehicleCapacity(demand_index, 0, list(problem.capacities), True, "Load")

    timed = [[problem.service[i] + problem.travel[i][j] for j in range(n)] for i in range(n)]
    time_index = model.RegisterTransitMatrix(timed)
    horizon = max(max(end for _, end in problem.shifts), max(due for _, due in problem.windows))
    model.AddDimension(time_index, horizon, horizon, False, "Time")
    time = model.GetDimensionOrDie("Time")
    for node in range(1, n):
        ready, due = problem.windows[node]
        time.CumulVar(manager.NodeToIndex(node)).SetRange(ready, due)
        if problem.drop_penalty is not None:
            model.AddDisjunction([manager.NodeToIndex(node)], problem.drop_penalty)
        if node in problem.forbidden:
            model.ActiveVar(manager.NodeToIndex(node)).SetValue(0)
    depot_ready, depot_due = problem.windows[0]
    for v, (shift_start, shift_end) in enumerate(problem.shifts):
        lo, hi = max(depot_ready, shift_start), min(depot_due, shift_end)
        time.CumulVar(model.Start(v)).SetRange(lo, hi)
        time.CumulVar(model.End(v)).SetRange(lo, hi)
    # Reported times are tight, not arbitrary: back as early as possible, then leave as late as that allows.
    for v in range(k):
        model.AddVariableMinimizedByFinalizer(time.CumulVar(model.End(v)))
    for v in range(k):
        model.AddVariableMaximizedByFinalizer(time.CumulVar(model.Start(v)))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, plan.first_solution)
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, plan.metaheuristic
    )
    if plan.guided_local_search_lambda is not None:
        params.guided_local_search_lambda_coefficient = plan.guided_local_search_lambda
    if plan.solution_limit is not None:
        params.solution_limit = plan.solution_limit
    if plan.overrides:
        text_format.Merge(plan.overrides, params)
    params.time_limit.FromTimedelta(timedelta(seconds=time_limit_s))
    error = pywrapcp.FindErrorInRoutingSearchParameters(params)
    if error:
        raise ValueError(f"invalid routing search parameters: {error}")

    solution = model.SolveWithParameters(params)
    status = _status_name(model.status())
    if solution is None:
        return Plan(found=False, status=status)
    routes: list[VehicleRoute] = []
    served: set[int] = set()
    for v in range(k):
        index = model.Start(v)
        depart = solution.Value(time.CumulVar(index))
        nodes: list[int] = []
        starts: list[int] = []
        index = solution.Value(model.NextVar(index))
        while not model.IsEnd(index):
            node = manager.IndexToNode(index)
            nodes.append(node)
            starts.append(solution.Value(time.CumulVar(index)))
            index = solution.Value(model.NextVar(index))
        if nodes:
            routes.append(VehicleRoute(v, nodes, starts, depart, solution.Value(time.CumulVar(index))))
            served.update(nodes)
    dropped = [node for node in range(1, n) if node not in served]
    return Plan(routes, dropped, solution.ObjectiveValue(), True, status)


def _status_name(code: int) -> str:
    for name in (
        "ROUTING_NOT_SOLVED",
        "ROUTING_SUCCESS",
        "ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED",
        "ROUTING_FAIL",
        "ROUTING_FAIL_TIMEOUT",
        "ROUTING_INVALID",
        "ROUTING_INFEASIBLE",
        "ROUTING_OPTIMAL",
    ):
        if getattr(pywrapcp.RoutingModel, name, None) == code:
            return name
    return str(code)
