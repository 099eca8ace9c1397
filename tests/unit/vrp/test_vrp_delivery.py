"""Delivery runs from an overseas warehouse: checked against geodesic distances computed here."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from geopy.distance import geodesic

from routing.vrp.delivery import (
    DEFAULT_ROAD_FACTOR,
    DEFAULT_SPEED_KMH,
    REASON_FLEET,
    REASON_PRIZE,
    REASON_REACH,
    REASON_WEIGHT,
    REASON_WINDOW,
    DeliveryPlan,
    Depot,
    InvalidDeliveryRun,
    Stop,
    Unserved,
    Van,
    check_plan,
    plan_delivery_run,
)
from routing.vrp.distances import GeodesicMatrix, Matrix

T0 = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
DUISBURG = Depot("WH-DUI", 51.4344, 6.7623)
DUSSELDORF = (51.2277, 6.7735)


def _stops(count: int, seed: int) -> list[Stop]:
    rng = random.Random(seed)
    return [
        Stop(
            f"P{i}",
            51.4344 + rng.uniform(-0.08, 0.08),
            6.7623 + rng.uniform(-0.12, 0.12),
            weight_kg=round(rng.uniform(0.5, 25.0), 1),
            ready=T0 + timedelta(hours=rng.choice([0, 1, 3])),
            due=T0 + timedelta(hours=rng.choice([5, 7])),
        )
        for i in range(count)
    ]


def _road_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(geodesic(a, b).km) * DEFAULT_ROAD_FACTOR


def _assert_consistent(plan: DeliveryPlan, depot: Depot, stops: list[Stop], vans: list[Van]) -> None:
    """Every stop served once or listed unserved; payload, windows, shifts and drive times hold."""
    by_id = {s.id: s for s in stops}
    vans_by_id = {v.id: v for v in vans}
    served = [v.stop_id for r in plan.runs for v in r.visits]
    assert sorted(served + plan.unserved_ids) == sorted(by_id)
    assert len(set(served)) == len(served)
    assert len({r.van_id for r in plan.runs}) == len(plan.runs)
    total = 0.0
    for run in plan.runs:
        van = vans_by_id[run.van_id]
        assert run.load_kg == pytest.approx(sum(by_id[v.stop_id].weight_kg for v in run.visits))
        assert run.load_kg <= van.capacity_kg
        assert van.shift_start <= run.departs and run.returns <= van.shift_end
        here, clock = (depot.lat, depot.lon), run.departs
        km = 0.0
        for visit in run.visits:
            stop = by_id[visit.stop_id]
            leg = _road_km(here, (stop.lat, stop.lon))
            km += leg
            # Drive times are rounded up to the second by the solver.
            assert visit.arrival >= clock + timedelta(hours=leg / DEFAULT_SPEED_KMH) - timedelta(seconds=1)
            assert stop.ready is None or visit.arrival >= stop.ready
            assert stop.due is None or visit.arrival <= stop.due
            assert visit.departure == visit.arrival + timedelta(minutes=stop.service_minutes)
            here, clock = (stop.lat, stop.lon), visit.departure
        back = _road_km(here, (depot.lat, depot.lon))
        km += back
        assert run.returns >= clock + timedelta(hours=back / DEFAULT_SPEED_KMH) - timedelta(seconds=1)
        assert run.distance_km == pytest.approx(km)
        total += km
    assert plan.distance_km == pytest.approx(total)


def test_one_stop_is_a_round_trip_on_the_geodesic() -> None:
    stop = Stop("S1", *DUSSELDORF, weight_kg=2.0)
    van = Van("V1", 800, T0, T0 + timedelta(hours=8))
    plan = plan_delivery_run(DUISBURG, [stop], [van], time_limit_s=0.2)
    assert plan.unserved == []
    (run,) = plan.runs
    # Duisburg to Dusseldorf is about 23 km as the crow flies.
    assert 22 < float(geodesic((DUISBURG.lat, DUISBURG.lon), DUSSELDORF).km) < 24
    assert run.distance_km == pytest.approx(2 * _road_km((DUISBURG.lat, DUISBURG.lon), DUSSELDORF))
    drive = timedelta(hours=run.distance_km / 2 / DEFAULT_SPEED_KMH)
    # Leaves at the shift start (no window to wait for), arrives after the drive, home right after.
    assert run.departs == T0
    assert abs(run.visits[0].arrival - (T0 + drive)) <= timedelta(seconds=1)
    assert abs(run.returns - (run.visits[0].departure + drive)) <= timedelta(seconds=1)


def test_serves_everyone_within_payload_windows_and_shifts() -> None:
    stops = _stops(30, seed=7)
    vans = [Van(f"V{i}", 150, T0, T0 + timedelta(hours=8)) for i in range(4)]
    plan = plan_delivery_run(DUISBURG, stops, vans, time_limit_s=1)
    assert plan.unserved == []
    _assert_consistent(plan, DUISBURG, stops, vans)
    # 30 stops averaging ~13 kg do not fit one 150 kg van.
    assert len(plan.runs) >= 2


def test_leaves_out_what_cannot_be_served_and_says_so() -> None:
    stops = _stops(12, seed=3)
    too_heavy = Stop("HEAVY", 51.44, 6.77, weight_kg=900)
    after_hours = Stop(
        "NIGHT", 51.44, 6.75, weight_kg=1, ready=T0 + timedelta(hours=14), due=T0 + timedelta(hours=15)
    )
    too_far = Stop("ROME", 41.9, 12.5, weight_kg=1)
    vans = [Van("V1", 500, T0, T0 + timedelta(hours=8)), Van("V2", 500, T0, T0 + timedelta(hours=8))]
    every = [*stops, too_heavy, after_hours, too_far]
    plan = plan_delivery_run(DUISBURG, every, vans, time_limit_s=1)
    assert {u.stop_id: u.reason for u in plan.unserved} == {
        "HEAVY": REASON_WEIGHT,
        "NIGHT": REASON_WINDOW,
        "ROME": REASON_REACH,
    }
    _assert_consistent(plan, DUISBURG, every, vans)


def test_shifts_are_per_van() -> None:
    early = Stop("EARLY", 51.45, 6.78, weight_kg=1, ready=T0, due=T0 + timedelta(hours=1))
    late = Stop(
        "LATE", 51.42, 6.75, weight_kg=1, ready=T0 + timedelta(hours=10), due=T0 + timedelta(hours=11)
    )
    vans = [
        Van("MORNING", 100, T0, T0 + timedelta(hours=4)),
        Van("EVENING", 100, T0 + timedelta(hours=9), T0 + timedelta(hours=13)),
    ]
    plan = plan_delivery_run(DUISBURG, [early, late], vans, time_limit_s=0.5)
    assert plan.unserved == []
    assert {r.van_id: [v.stop_id for v in r.visits] for r in plan.runs} == {
        "MORNING": ["EARLY"],
        "EVENING": ["LATE"],
    }
    _assert_consistent(plan, DUISBURG, [early, late], vans)


def test_no_stops_no_runs() -> None:
    plan = plan_delivery_run(DUISBURG, [], [Van("V1", 100, T0, T0 + timedelta(hours=1))])
    assert plan == DeliveryPlan([], [], 0.0)


VAN = Van("V1", 100, T0, T0 + timedelta(hours=8))
STOP = Stop("S1", 51.4, 6.7, 1.0)


@pytest.mark.parametrize(
    ("depot", "stops", "vans", "field"),
    [
        (Depot("D", 91, 0), [STOP], [VAN], "depot.lat"),
        (DUISBURG, [Stop("S1", 51.4, 181, 1.0)], [VAN], "stops[0].lon"),
        (DUISBURG, [STOP], [], "vehicles"),
        (DUISBURG, [STOP, STOP], [VAN], "stops[1].id"),
        (DUISBURG, [Stop("WH-DUI", 51.4, 6.7, 1.0)], [VAN], "stops[0].id"),
        (DUISBURG, [Stop("S1", 51.4, 6.7, -1.0)], [VAN], "stops[0].weight_kg"),
        (DUISBURG, [Stop("S1", 51.4, 6.7, float("nan"))], [VAN], "stops[0].weight_kg"),
        (DUISBURG, [Stop("S1", 51.4, 6.7, 1.0, ready=datetime(2027, 3, 1, 8))], [VAN], "stops[0].ready"),
        (
            DUISBURG,
            [Stop("S1", 51.4, 6.7, 1.0, ready=T0 + timedelta(hours=2), due=T0)],
            [VAN],
            "stops[0].due",
        ),
        (DUISBURG, [STOP], [Van("V1", 0, T0, T0 + timedelta(hours=1))], "vehicles[0].capacity_kg"),
        (DUISBURG, [STOP], [Van("V1", 10, T0, T0)], "vehicles[0].shift_end"),
        (DUISBURG, [STOP], [VAN, VAN], "vehicles[1].id"),
    ],
)
def test_bad_input_names_the_field(depot: Depot, stops: list[Stop], vans: list[Van], field: str) -> None:
    with pytest.raises(InvalidDeliveryRun) as caught:
        plan_delivery_run(depot, stops, vans, time_limit_s=0.1)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("option", "value"), [("speed_kmh", 0.0), ("road_factor", 0.9), ("time_limit_s", -1.0)]
)
def test_bad_options(option: str, value: float) -> None:
    options: dict[str, Any] = {option: value}
    with pytest.raises(InvalidDeliveryRun, match=option):
        plan_delivery_run(DUISBURG, [STOP], [VAN], **options)


def test_returns_are_collected_on_the_way_within_the_payload_at_every_point() -> None:
    # One van of 100 kg: 60 kg out to drop, 60 kg of returns to collect. Only a route that drops before it
    # collects stays within the payload (at most 60 + 0 ... 0 + 60 on board), and the load profile says so.
    drops = [Stop(f"D{i}", 51.44 + 0.01 * i, 6.77, weight_kg=20) for i in range(3)]
    returns = [Stop(f"R{i}", 51.43 - 0.01 * i, 6.75, weight_kg=0, pickup_kg=20) for i in range(3)]
    vans = [Van("V1", 100, T0, T0 + timedelta(hours=8))]
    plan = plan_delivery_run(DUISBURG, [*returns, *drops], vans, time_limit_s=0.5)
    assert plan.unserved == []
    _assert_consistent(plan, DUISBURG, [*returns, *drops], vans)
    (run,) = plan.runs
    assert run.load_kg == 60 and run.pickup_kg == 60
    assert max(v.load_kg for v in run.visits) <= 100
    assert run.visits[-1].load_kg == pytest.approx(60)  # back with the returns


def test_a_return_heavier_than_the_payload_left_on_board_is_left_out_with_its_reason() -> None:
    vans = [Van("V1", 50, T0, T0 + timedelta(hours=8))]
    stops = [Stop("DROP", 51.44, 6.77, weight_kg=40), Stop("RET", 51.43, 6.75, weight_kg=0, pickup_kg=60)]
    plan = plan_delivery_run(DUISBURG, stops, vans, time_limit_s=0.3)
    assert plan.unserved == [Unserved("RET", REASON_WEIGHT)]


def test_an_optional_stop_is_served_only_when_worth_its_detour() -> None:
    near = Stop("NEAR", 51.44, 6.77, weight_kg=1)
    # Dusseldorf is ~60 road km there and back: worth 5 km it stays out, worth 500 km it is served.
    cheap = Stop("FAR", *DUSSELDORF, weight_kg=1, prize_km=5)
    dear = Stop("FAR", *DUSSELDORF, weight_kg=1, prize_km=500)
    van = [Van("V1", 100, T0, T0 + timedelta(hours=8))]
    left = plan_delivery_run(DUISBURG, [near, cheap], van, time_limit_s=0.3)
    assert left.unserved == [Unserved("FAR", REASON_PRIZE)]
    taken = plan_delivery_run(DUISBURG, [near, dear], van, time_limit_s=0.3)
    assert taken.unserved == []


def test_a_full_fleet_says_so() -> None:
    vans = [Van("V1", 10, T0, T0 + timedelta(hours=8))]
    stops = [Stop(f"S{i}", 51.44, 6.77 + 0.001 * i, weight_kg=4) for i in range(3)]
    plan = plan_delivery_run(DUISBURG, stops, vans, time_limit_s=0.3)
    assert len(plan.unserved) == 1 and plan.unserved[0].reason == REASON_FLEET
    _assert_consistent(plan, DUISBURG, stops, vans)


def test_the_checker_catches_a_broken_plan() -> None:
    stops = _stops(8, seed=5)
    vans = [Van("V1", 1000, T0, T0 + timedelta(hours=8))]
    plan = plan_delivery_run(DUISBURG, stops, vans, time_limit_s=0.3)
    matrix = GeodesicMatrix()([(DUISBURG.lat, DUISBURG.lon), *((s.lat, s.lon) for s in stops)])
    assert check_plan(DUISBURG, stops, vans, plan, matrix) == []
    (run,) = plan.runs
    early = [dataclasses.replace(v, arrival=T0 - timedelta(hours=1)) for v in run.visits]
    broken = dataclasses.replace(plan, runs=[dataclasses.replace(run, visits=early)])
    assert any("before it can be" in p for p in check_plan(DUISBURG, stops, vans, broken, matrix))
    small = [Van("V1", 1, T0, T0 + timedelta(hours=8))]
    assert any("over its" in p for p in check_plan(DUISBURG, stops, small, plan, matrix))
    dropped = dataclasses.replace(plan, runs=[dataclasses.replace(run, visits=run.visits[1:])])
    assert any("neither served" in p for p in check_plan(DUISBURG, stops, vans, dropped, matrix))


def test_a_travel_matrix_port_replaces_the_geodesic_estimate() -> None:
    def flat(points: Any) -> Matrix:
        n = len(points)
        return Matrix([[0.0 if i == j else 7.0 for j in range(n)] for i in range(n)], [[600.0] * n] * n)

    stops = _stops(5, seed=2)
    plan = plan_delivery_run(DUISBURG, stops, [Van("V1", 1000, T0, T0 + timedelta(hours=9))], matrix=flat)
    assert plan.unserved == []
    assert plan.distance_km == pytest.approx(7.0 * 6)


def test_a_transfer_is_collected_then_dropped_by_the_same_van() -> None:
    # 80 kg from a supplier north of Duisburg to a shop south of it, beside two parcels; vans of 100 kg:
    # the transfer and the 30 kg parcel cannot be on board together.
    stops = [
        Stop("SUPPLIER", 51.50, 6.78, weight_kg=0, pickup_kg=80, transfer_to="SHOP"),
        Stop("SHOP", 51.37, 6.75, weight_kg=0),
        Stop("P1", 51.44, 6.80, weight_kg=30),
        Stop("P2", 51.42, 6.72, weight_kg=5),
    ]
    vans = [Van("V1", 100, T0, T0 + timedelta(hours=8)), Van("V2", 100, T0, T0 + timedelta(hours=8))]
    plan = plan_delivery_run(DUISBURG, stops, vans, time_limit_s=0.5)
    assert plan.unserved == []
    (carrier,) = [r for r in plan.runs if any(v.stop_id == "SUPPLIER" for v in r.visits)]
    order = [v.stop_id for v in carrier.visits]
    assert order.index("SUPPLIER") < order.index("SHOP")
    assert max(v.load_kg for v in carrier.visits) <= 100
    assert carrier.pickup_kg == 0  # nothing of the transfer comes back to the depot
    matrix = GeodesicMatrix()([(DUISBURG.lat, DUISBURG.lon), *((s.lat, s.lon) for s in stops)])
    assert check_plan(DUISBURG, stops, vans, plan, matrix) == []
    # dropped before collected: the checker says so
    swapped = [dataclasses.replace(carrier, visits=list(reversed(carrier.visits)))]
    others = [r for r in plan.runs if r is not carrier]
    broken = dataclasses.replace(plan, runs=[*swapped, *others])
    assert any("without having collected" in p for p in check_plan(DUISBURG, stops, vans, broken, matrix))


def test_a_transfer_too_heavy_for_any_van_leaves_both_stops_out() -> None:
    stops = [
        Stop("SUPPLIER", 51.50, 6.78, weight_kg=0, pickup_kg=300, transfer_to="SHOP"),
        Stop("SHOP", 51.37, 6.75, weight_kg=0),
    ]
    plan = plan_delivery_run(DUISBURG, stops, [Van("V1", 100, T0, T0 + timedelta(hours=8))], time_limit_s=0.2)
    assert plan.unserved == [Unserved("SUPPLIER", REASON_WEIGHT), Unserved("SHOP", REASON_WEIGHT)]


def test_a_transfer_must_name_another_stop() -> None:
    with pytest.raises(InvalidDeliveryRun) as caught:
        plan_delivery_run(DUISBURG, [Stop("A", 51.4, 6.7, 0, pickup_kg=1, transfer_to="NOPE")], [VAN])
    assert caught.value.field == "stops[0].transfer_to"
