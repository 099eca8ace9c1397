"""The independent feasibility checker, on instances small enough to verify by hand."""

from __future__ import annotations

import pytest

from routing.vrp import check, route_distance
from routing.vrp.heuristics import nearest_neighbour
from routing.vrp.solomon import BUNDLED, bundled
from tests.unit.vrp.instances import tiny

# Depot at the origin, horizon 100. Customer 1 is 3 east, 2 is 4 north (5 apart), 3 is 10 west.
LINE = tiny(
    2,
    10,
    [
        (0, 0, 0, 0, 100, 0),
        (3, 0, 4, 0, 10, 1),
        (0, 4, 4, 5, 20, 1),
        (-10, 0, 5, 0, 50, 0),
    ],
)


def test_a_feasible_solution_has_no_problems() -> None:
    routes = [[1, 2], [3]]
    assert check(LINE, routes) == []
    # 3 + 5 + 4 out and back, and 10 + 10.
    assert route_distance(LINE, routes) == pytest.approx(32.0)


def test_waiting_for_the_window_is_allowed() -> None:
    # Customer 2 opens at 5: reached at 4 directly, the vehicle waits; customer 1 then at 5+1+5 = 11 > 10.
    assert check(LINE, [[2], [1, 3]]) == []
    assert check(LINE, [[2, 1], [3]]) == ["route 0 reaches customer 1 at 11.000, after its due date 10"]


def test_capacity() -> None:
    assert check(LINE, [[1, 2, 3]]) == ["route 0 carries 13, over the capacity 10"]


def test_each_customer_exactly_once() -> None:
    assert check(LINE, [[1, 2], [3, 1]]) == [
        "customer 1 is visited twice (routes 0 and 1)",
        "route 1 reaches customer 1 at 23.000, after its due date 10",
    ]
    assert check(LINE, [[1, 2]]) == ["1 customer(s) never visited: 3"]
    assert check(LINE, [[1, 2], [3, 0]])[0].startswith("route 1 visits unknown customer(s) [0]")
    assert check(LINE, [[1, 2], [3], []]) == ["3 routes but the fleet has 2 vehicles", "route 2 is empty"]


def test_return_to_the_depot_by_its_due_date() -> None:
    late = tiny(1, 10, [(0, 0, 0, 0, 30, 0), (10, 0, 1, 15, 20, 5)])
    # Out at 10, wait to 15, serve to 20, back at 30: just in time.
    assert check(late, [[1]]) == []
    later = tiny(1, 10, [(0, 0, 0, 0, 29.5, 0), (10, 0, 1, 15, 20, 5)])
    assert check(later, [[1]]) == ["route 0 is back at the depot at 30.000, after 29.5"]


def test_dimacs_convention_truncates_each_arc() -> None:
    # sqrt(2) = 1.41421.. each way: exact 2.828.., truncated 1.4 + 1.4.
    diag = tiny(1, 10, [(0, 0, 0, 0, 100, 0), (1, 1, 1, 0, 100, 0)])
    assert route_distance(diag, [[1]]) == pytest.approx(2 * 2**0.5)
    assert route_distance(diag, [[1]], dimacs=True) == pytest.approx(2.8)
    # Integral arcs are not pushed down by float noise: 3-4-5.
    assert route_distance(LINE, [[1, 2]], dimacs=True) == pytest.approx(12.0)


@pytest.mark.parametrize("name", BUNDLED)
def test_nearest_neighbour_baseline_is_feasible(name: str) -> None:
    inst = bundled(name)
    routes = nearest_neighbour(inst)
    assert sorted(c for r in routes for c in r) == list(range(1, 101))
    assert check(inst, routes) == []


def test_nearest_neighbour_opens_a_route_when_nothing_else_fits() -> None:
    # Capacity 10: customers 1 and 2 (4 each) share a route, customer 3 (5) needs another.
    assert sorted(nearest_neighbour(LINE)) == [[1, 2], [3]]
