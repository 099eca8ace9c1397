"""What the search leans on for speed: per-cargo tariffs, leg floors and lower bounds that never overshoot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.network import load_reference_network
from routing.planner import Cargo, QuoteRequest, pareto_front
from routing.search_graph import floor_inputs, graph_for, leg_floors, lower_bounds, problem_for
from routing.tariff import Tariff, leg_charge
from routing.timetable import expand

NET = load_reference_network()
T0 = datetime(2027, 3, 1, tzinfo=UTC)
TT = expand(NET, T0, 8)
SERVICES = list(NET.services.values())

cargos = st.builds(
    Cargo,
    weight_kg=st.floats(1, 26_000),
    volume_m3=st.floats(0.01, 67),
    equipment=st.sampled_from(["LCL", "20GP", "40GP", "40HC", "40RF", "AIR"]),
    dangerous_goods=st.booleans(),
    temperature=st.sampled_from([None, (2.0, 8.0)]),
)


@settings(max_examples=60, deadline=None)
@given(cargos)
def test_the_cargo_tariff_charges_exactly_what_leg_charge_says(cargo: Cargo) -> None:
    tariff = Tariff(NET, cargo)
    for svc in SERVICES:
        for transfer in (False, True):
            assert tariff.charge(svc, transfer) == leg_charge(NET, svc, cargo, transfer)


@settings(max_examples=60, deadline=None)
@given(cargos)
def test_leg_floors_never_exceed_the_charge_of_a_transfer_leg(cargo: Cargo) -> None:
    cost, co2 = leg_floors(NET, cargo, [floor_inputs(s) for s in SERVICES])
    for svc, c, e in zip(SERVICES, cost, co2, strict=True):
        charge = leg_charge(NET, svc, cargo, True)
        assert 0 <= c <= charge.cents
        assert 0 <= e <= charge.co2e_kg
        assert charge.cents - c <= 3 + charge.cents * 1e-8  # and stay close: they prune as much as they can


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["CNYIB", "CNCDU"]),
    st.sampled_from(["DEDUI", "PLLOD", "NLRTM", "SGSIN", "VNSGN", "THBKK", "HUBUD"]),
    st.integers(0, 14 * 24),
    st.sampled_from([Cargo(12000, 60, "40HC"), Cargo(3000, 12, "LCL"), Cargo(9000, 20, "20GP")]),
)
def testlower_bounds_at_the_origin_never_exceed_any_pareto_option(
    origin: str, destination: str, hours: int, cargo: Cargo
) -> None:
    req = QuoteRequest(origin, destination, T0 + timedelta(hours=hours), None, cargo, "9710")
    pb = problem_for(NET, TT, req, None, None)
    bounds = lower_bounds(pb, graph_for(NET, TT, cargo), [])
    front = pareto_front(NET, TT, req)
    assert front
    t, c, e = bounds[pb.source]
    for o in front:
        # the first leg carries no handling, so the cost and CO2e bounds hold from the first transfer on
        rest = o.legs[1:]
        if rest:
            ready = int(o.legs[0].arrival.timestamp()) + round(
                NET.planning.handling_in(o.legs[0].destination, o.legs[0].mode) * 3600
            )
            tb, cb, eb = bounds[o.legs[0].destination]
            assert ready + tb <= int(o.arrival().timestamp())
            assert cb <= int(sum(leg.cost for leg in rest) * 100)
            assert eb <= sum(leg.co2e_kg for leg in rest) + 1e-9
        assert pb.ready_s + t <= int(o.arrival().timestamp())
