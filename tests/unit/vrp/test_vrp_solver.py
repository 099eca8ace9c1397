"""The PyVRP solver: feasible on the six Solomon instances, optimal on tiny ones, reproducible."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.vrp import Instance, Objective, bundled, check, route_distance, solve
from routing.vrp.solomon import BUNDLED
from tests.unit.vrp.instances import Row, tiny

LIMIT_S = 2.0


@pytest.fixture(scope="module")
def solutions() -> dict[tuple[str, Objective], object]:
    return {
        (name, obj): solve(bundled(name), LIMIT_S, obj)
        for name in BUNDLED
        for obj in ("distance", "vehicles")
    }


@pytest.mark.parametrize("objective", ["distance", "vehicles"])
@pytest.mark.parametrize("name", BUNDLED)
def test_solutions_pass_the_independent_checker(solutions: dict, name: str, objective: Objective) -> None:
    inst = bundled(name)
    sol = solutions[(name, objective)]
    assert sol.feasible
    assert check(inst, sol.routes) == []
    assert sol.vehicles == len(sol.routes) <= inst.vehicles
    assert sol.distance == pytest.approx(route_distance(inst, sol.routes), abs=1e-9)


@pytest.mark.parametrize("name", BUNDLED)
def test_vehicles_objective_uses_no_more_vehicles(solutions: dict, name: str) -> None:
    assert solutions[(name, "vehicles")].vehicles <= solutions[(name, "distance")].vehicles


def test_a_seeded_iteration_limited_search_is_reproducible() -> None:
    first = solve(bundled("RC101"), 120, "distance", seed=7, max_iterations=300)
    second = solve(bundled("RC101"), 120, "distance", seed=7, max_iterations=300)
    assert first.feasible and first.routes == second.routes


def test_no_solution_when_a_customer_cannot_be_reached_in_time() -> None:
    # 50 away but due at 20: no vehicle gets there in time.
    inst = tiny(3, 10, [(0, 0, 0, 0, 200, 0), (50, 0, 1, 0, 20, 0), (1, 1, 1, 0, 100, 0)])
    sol = solve(inst, 0.5)
    assert not sol.feasible and sol.routes == [] and sol.vehicles == 0


def test_rejects_unknown_objective_and_bad_limit() -> None:
    inst = bundled("C101")
    with pytest.raises(ValueError, match="objective"):
        solve(inst, 1, "cheapest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time limit"):
        solve(inst, 0)


def _brute_force(inst: Instance) -> tuple[int, float] | None:
    """(vehicles, distance) of the shortest feasible solution, by enumerating every ordered split."""
    customers = [c.id for c in inst.customers]
    best: tuple[int, float] | None = None
    for perm in itertools.permutations(customers):
        for cuts in itertools.product([False, True], repeat=len(perm) - 1):
            routes: list[list[int]] = [[perm[0]]]
            for c, cut in zip(perm[1:], cuts, strict=True):
                if cut:
                    routes.append([c])
                else:
                    routes[-1].append(c)
            if check(inst, routes):
                continue
            d = route_distance(inst, routes)
            if best is None or d < best[1]:
                best = (len(routes), d)
    return best


def _tightened(inst: Instance, by: float) -> Instance:
    """Every due date earlier by `by`: what is feasible here stays feasible under any rounding up of arcs
    smaller than `by` in total."""
    return dataclasses.replace(
        inst,
        depot=dataclasses.replace(inst.depot, due=inst.depot.due - by),
        customers=tuple(dataclasses.replace(c, due=max(c.ready, c.due - by)) for c in inst.customers),
    )


tenths = st.integers(0, 400).map(lambda v: v / 10)  # coordinates and times to one decimal, as in real data
customer = st.tuples(
    tenths,
    tenths,
    st.integers(1, 10),
    st.integers(0, 120),
    st.integers(5, 80),
    st.integers(0, 100).map(lambda v: v / 10),
).map(lambda t: (t[0], t[1], t[2], t[3], t[3] + t[4], t[5]))


@settings(max_examples=8, deadline=None)
@given(
    depot=st.tuples(st.integers(0, 40), st.integers(0, 40)),
    customers=st.lists(customer, min_size=2, max_size=5),
    vehicles=st.integers(1, 3),
)
def test_tiny_instances_are_solved_to_optimality(
    depot: tuple[int, int], customers: list[Row], vehicles: int
) -> None:
    inst = tiny(vehicles, 20, [(depot[0], depot[1], 0, 0, 300, 0), *customers])
    sol = solve(inst, 0.2)
    exact = _brute_force(inst)
    safe = _brute_force(_tightened(inst, 0.01))
    if exact is None:
        assert not sol.feasible
        return
    if sol.feasible:
        assert check(inst, sol.routes) == []
        assert sol.distance >= exact[1] - 1e-6
    if safe is not None:
        assert sol.feasible
        # Costs go to the solver rounded to 1/1000 per arc: optimal up to that rounding.
        assert sol.distance <= safe[1] + 0.01
    assert not math.isnan(sol.distance)
