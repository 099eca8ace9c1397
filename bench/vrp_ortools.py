"""OR-Tools routing (guided local search) on the same integer `RoutingProblem` as the PyVRP core: the
baseline `bench_vrp.py` measures PyVRP against, in the same run. It was the product's solver until PyVRP
beat it on every Solomon instance at the same time limit (see bench_vrp.py's output); it lives here, not in
`routing/`, so the product has one solver.

Callers turn their problem into a `RoutingProblem` of integer matrices (node 0 is the depot) and call
`optimise`. Both matrices are registered with OR-Tools as transit *matrices*, not Python callbacks, so the
search never calls back into the interpreter for an arc.

Time windows are a time dimension whose transit from i to j is the service time at i plus the travel time
i -> j; waiting is slack. Capacity is a second dimension. A fixed cost per vehicle, when set, makes the search
trade distance for fewer vehicles. With `drop_penalty` set a stop may stay unserved at that price (delivery
runs report it instead of failing); without it every stop must be served or there is no solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.vrp.core import Plan, RoutingProblem, VehicleRoute

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
class SearchPlan:
    """How to search.

    With several `first_solutions`, each builds a solution and improves it to a local optimum (greedy
    descent; together they get `portfolio_share` of the time limit, split evenly, what one leaves unused
    going to the next); the metaheuristic then starts from the best of them for the rest of the time.
    No single construction wins everywhere on VRPTW: savings and cheapest-arc suit long horizons with many
    vehicles, insertion suits tight windows.

    `solution_limit` bounds each phase by work done instead of wall time, which makes a run reproducible
    (OR-Tools routing is single-threaded and deterministic but for the clock) as long as no phase runs into
    its share of the time limit first: give it a generous time limit.
    """

    # Most robust first: insertion copes with tight windows, where cheapest-arc may find nothing at all.
    first_solutions: tuple[FirstSolution, ...] = (
        "LOCAL_CHEAPEST_INSERTION",
        "PARALLEL_CHEAPEST_INSERTION",
        "SAVINGS",
        "PATH_CHEAPEST_ARC",
    )
    metaheuristic: Metaheuristic = "GUIDED_LOCAL_SEARCH"
    portfolio_share: float = 0.6
    guided_local_search_lambda: float | None = None
    solution_limit: int | None = None
    # Further RoutingSearchParameters in protobuf text format, e.g. "use_iterated_local_search: true".
    overrides: str = ""


TUNED = SearchPlan()
NAIVE = SearchPlan(first_solutions=("PATH_CHEAPEST_ARC",), metaheuristic="GREEDY_DESCENT")


def optimise(problem: RoutingProblem, time_limit_s: float, plan: SearchPlan = TUNED) -> Plan:
    """Solve the problem with OR-Tools routing; `found` is False when no solution was found in time."""
    if not time_limit_s > 0:
        raise ValueError(f"time limit must be positive, got {time_limit_s}")
    if not plan.first_solutions:
        raise ValueError("a search plan needs at least one first-solution strategy")
    if problem.prizes is not None or problem.pickup is not None or problem.forbidden:
        raise ValueError("the OR-Tools baseline models required deliveries only")
    deadline = time.monotonic() + time_limit_s
    if len(plan.first_solutions) == 1:
        built = _Built(problem)
        params = _params(plan, plan.first_solutions[0], plan.metaheuristic, time_limit_s)
        return built.plan(built.model.SolveWithParameters(params))

    best: tuple[int, list[list[int]]] | None = None
    portfolio_end = time.monotonic() + time_limit_s * plan.portfolio_share
    for i, strategy in enumerate(plan.first_solutions):
        # Time a construction does not use (it reached its local optimum early) goes to the ones after it.
        share = max((portfolio_end - time.monotonic()) / (len(plan.first_solutions) - i), 0.01)
        built = _Built(problem)
        solution = built.model.SolveWithParameters(_params(plan, strategy, "GREEDY_DESCENT", share))
        if solution is not None and (best is None or solution.ObjectiveValue() < best[0]):
            best = (solution.ObjectiveValue(), built.index_routes(solution))
    built = _Built(problem)
    rest = max(deadline - time.monotonic(), 0.01)
    if best is None:
        # No construction succeeded in its share: let the metaheuristic's own construction have the rest.
        params = _params(plan, "LOCAL_CHEAPEST_INSERTION", plan.metaheuristic, rest)
        return built.plan(built.model.SolveWithParameters(params))
    params = _params(plan, plan.first_solutions[0], plan.metaheuristic, rest)
    built.model.CloseModelWithParameters(params)
    start = built.model.ReadAssignmentFromRoutes(best[1], True)
    if start is None:  # cannot happen for routes read back from the same model; fail loudly if it does
        raise RuntimeError("OR-Tools rejected a solution it produced itself")
    return built.plan(built.model.SolveFromAssignmentWithParameters(start, params))


def _params(plan: SearchPlan, first: FirstSolution, meta: Metaheuristic, seconds: float) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first)
    params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, meta)
    if plan.guided_local_search_lambda is not None:
        params.guided_local_search_lambda_coefficient = plan.guided_local_search_lambda
    if plan.overrides:
        text_format.Merge(plan.overrides, params)
    if plan.solution_limit is not None:
        params.solution_limit = plan.solution_limit
        # Each LNS sub-search is otherwise cut at 100 ms of wall time: on a busy machine that alone changes
        # the outcome. A work-limited run must not depend on the clock.
        params.lns_time_limit.FromTimedelta(timedelta(seconds=max(seconds, 1.0)))
    params.time_limit.FromTimedelta(timedelta(seconds=seconds))
    error = pywrapcp.FindErrorInRoutingSearchParameters(params)
    if error:
        raise ValueError(f"invalid routing search parameters: {error}")
    return params


class _Built:
    """One OR-Tools model of the problem (a model is solved once, so each phase builds its own)."""

    def __init__(self, problem: RoutingProblem) -> None:
        n, k = problem.nodes, problem.vehicles
        self.problem = problem
        self.manager = manager = pywrapcp.RoutingIndexManager(n, k, 0)
        self.model = model = pywrapcp.RoutingModel(manager)

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
        self.time = dim = model.GetDimensionOrDie("Time")
        for node in range(1, n):
            ready, due = problem.windows[node]
            dim.CumulVar(manager.NodeToIndex(node)).SetRange(ready, due)
        depot_ready, depot_due = problem.windows[0]
        for v, (shift_start, shift_end) in enumerate(problem.shifts):
            lo, hi = max(depot_ready, shift_start), min(depot_due, shift_end)
            dim.CumulVar(model.Start(v)).SetRange(lo, hi)
            dim.CumulVar(model.End(v)).SetRange(lo, hi)
        # Reported times are tight, not arbitrary: back as early as possible, then leave as late as allowed.
        for v in range(k):
            model.AddVariableMinimizedByFinalizer(dim.CumulVar(model.End(v)))
        for v in range(k):
            model.AddVariableMaximizedByFinalizer(dim.CumulVar(model.Start(v)))

    def index_routes(self, solution: Any) -> list[list[int]]:
        """Each vehicle's visits as OR-Tools variable indices (what ReadAssignmentFromRoutes takes)."""
        model, routes = self.model, []
        for v in range(self.problem.vehicles):
            route, index = [], solution.Value(model.NextVar(model.Start(v)))
            while not model.IsEnd(index):
                route.append(index)
                index = solution.Value(model.NextVar(index))
            routes.append(route)
        return routes

    def plan(self, solution: Any) -> Plan:
        model, manager, dim = self.model, self.manager, self.time
        status = _status_name(model.status())
        if solution is None:
            return Plan(found=False, status=status)
        routes: list[VehicleRoute] = []
        served: set[int] = set()
        for v in range(self.problem.vehicles):
            index = model.Start(v)
            depart = solution.Value(dim.CumulVar(index))
            nodes: list[int] = []
            starts: list[int] = []
            index = solution.Value(model.NextVar(index))
            while not model.IsEnd(index):
                nodes.append(manager.IndexToNode(index))
                starts.append(solution.Value(dim.CumulVar(index)))
                index = solution.Value(model.NextVar(index))
            if nodes:
                routes.append(VehicleRoute(v, nodes, starts, depart, solution.Value(dim.CumulVar(index))))
                served.update(nodes)
        dropped = [node for node in range(1, self.problem.nodes) if node not in served]
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
