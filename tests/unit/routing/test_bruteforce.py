"""The planner's Pareto front equals a brute-force enumeration on many small random networks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.disruptions import Delay, Disruption, Suspend, Window, apply
from routing.network import load_network
from routing.planner import Cargo, QuoteRequest, earliest_arrival, pareto_front
from routing.timetable import expand
from tests.unit.routing.gen import brute_force, small_network

T0 = datetime(2027, 3, 1, tzinfo=UTC)
MODES = st.sampled_from(["rail", "rail", "sea", "river", "road"])
Place = str | tuple[float, float]
# network data, origin, destination, cargo, deliver within (days), ready after (hours), full departures,
# suspended departures, delayed departures (index, hours), delayed nodes (index, hours)
Scenario = tuple[
    dict[str, Any],
    Place,
    Place,
    Cargo,
    float | None,
    int,
    list[int],
    list[int],
    list[tuple[int, int]],
    list[tuple[int, int]],
]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    n = draw(st.integers(3, 6))
    coords = [(20.0 + 0.3 * i + draw(st.floats(0, 0.2)), 100.0 + 0.3 * i) for i in range(n)]
    legs = []

    def leg(i: int, j: int) -> tuple[int, int, str, float, float, float, int, bool, bool]:
        return (
            i,
            j,
            draw(MODES),
            float(draw(st.integers(400, 2500))),
            draw(st.sampled_from([0.5, 0.8, 1.0, 1.7])),
            draw(st.sampled_from([1, 2, 3, 4, 7])),
            draw(st.integers(100, 3000)),
            draw(st.sampled_from([True, True, True, False])),
            draw(st.sampled_from([True, True, False])),
        )

    for i in range(n - 1):  # a chain keeps the network connected
        legs.append(leg(i, i + 1))
    for _ in range(draw(st.integers(0, 9))):
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if i != j:
            legs.append(leg(i, j))
    data = small_network(coords, legs, handling=draw(st.sampled_from([0, 2, 6, 12])))
    origin = draw(st.integers(0, n - 1))
    dest = draw(st.integers(0, n - 1).filter(lambda d: d != origin))
    dg = draw(st.sampled_from([False, False, True]))
    deliver_days = draw(st.one_of(st.none(), st.floats(2.0, 20.0)))
    ready_hours = draw(st.integers(0, 7 * 24))
    full = draw(st.lists(st.integers(0, 10_000), max_size=6))
    cargo = draw(
        st.sampled_from([Cargo(8000, 50, "40HC"), Cargo(9000, 20, "20GP"), Cargo(2000, 10.0, "LCL")])
    )
    cargo = Cargo(cargo.weight_kg, cargo.volume_m3, cargo.equipment, dangerous_goods=dg)
    # disruptions: suspended departures, and delays that let a later train overtake an earlier one
    suspended = draw(st.lists(st.integers(0, 10_000), max_size=3))
    delays = draw(st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 120)), max_size=3))
    # delays at a node: departures from it leave later (so departure order can differ from cut-off order)
    node_delays = draw(st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 120)), max_size=2))
    # sometimes an address (lat, lon) instead of a node: the nearest terminals plus a truck leg
    where = draw(st.sampled_from(["nodes", "nodes", "from_point", "to_point", "both_points"]))
    o: Place = f"N{origin}"
    d: Place = f"N{dest}"
    if where in ("from_point", "both_points"):
        o = (coords[origin][0] + 0.05, coords[origin][1] - 0.04)
    if where in ("to_point", "both_points"):
        d = (coords[dest][0] - 0.03, coords[dest][1] + 0.05)
    return data, o, d, cargo, deliver_days, ready_hours, full, suspended, delays, node_delays


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_front_equals_brute_force(case: Scenario) -> None:
    data, origin, dest, cargo, deliver_days, ready_hours, full, suspended, delays, node_delays = case
    network = load_network(data)
    timetable = expand(network, T0, 3)
    deps = timetable.departures
    if deps:
        disruptions: list[Disruption] = [
            Suspend("test", departure_id=deps[k % len(deps)].id) for k in suspended
        ]
        disruptions += [
            Delay(
                h,
                "test",
                service_id=deps[k % len(deps)].service_id,
                window=Window(
                    deps[k % len(deps)].departure, deps[k % len(deps)].departure + timedelta(minutes=1)
                ),
            )
            for k, h in delays
        ]
        disruptions += [
            Delay(
                h,
                "test",
                node=deps[k % len(deps)].origin,
                window=Window(
                    deps[k % len(deps)].departure, deps[k % len(deps)].departure + timedelta(hours=1 + h % 40)
                ),
            )
            for k, h in node_delays
        ]
        timetable = apply(network, timetable, disruptions)
    ready = T0 + timedelta(hours=ready_hours)
    deliver_by = ready + timedelta(days=deliver_days) if deliver_days is not None else None
    # some departures nearly full: 0.4 TEU takes no 40HC (2 TEU) nor 20GP (1 TEU), but 10 m3 LCL (0.3 TEU)
    capacity_left = {deps[k % len(deps)].id: 0.4 for k in full} if deps else {}
    request = QuoteRequest(origin, dest, ready, deliver_by, cargo, "9710")
    expected = brute_force(network, timetable, request, capacity_left)
    got = pareto_front(network, timetable, request, capacity_left)
    assert {(o.arrival(), o.cost, o.co2e_kg) for o in got} == expected
    assert len(got) == len(expected)  # no duplicates either
    first = earliest_arrival(network, timetable, request, capacity_left)
    assert first == (min(a for a, _, _ in expected) if expected else None)
