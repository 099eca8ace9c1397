"""Re-planning affected bookings with CP-SAT: capacity respected, lateness then cost minimal."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.planner import Option, PlannedLeg
from routing.replan import AffectedBooking, lateness_hours, replan

T0 = datetime(2027, 3, 1, tzinfo=UTC)


def option(oid: str, departures: tuple[str, ...], arrive_h: int, cost: int) -> Option:
    legs = tuple(
        PlannedLeg(
            "rail",
            f"A{i}",
            f"A{i + 1}",
            T0 + timedelta(hours=i),
            T0 + timedelta(hours=arrive_h if i == len(departures) - 1 else i + 1),
            "svc",
            dep,
            "c",
            100.0,
            Decimal(cost) if i == 0 else Decimal(0),
            1.0,
            "estimate",
        )
        for i, dep in enumerate(departures)
    )
    return Option(oid, legs, Decimal(cost), "USD", float(arrive_h), 1.0, (), "estimate")


def test_tighter_deadline_gets_the_scarce_departure() -> None:
    fast = lambda n: option(f"fast{n}", ("D1",), 100, 900)  # noqa: E731
    slow = lambda n: option(f"slow{n}", ("D2",), 200, 500)  # noqa: E731
    urgent = AffectedBooking("B-urgent", 2, T0 + timedelta(hours=120), [fast(1), slow(1)])
    relaxed = AffectedBooking("B-relaxed", 2, T0 + timedelta(hours=300), [fast(2), slow(2)])
    result = replan([relaxed, urgent], {"D1": 2, "D2": 10})
    chosen = {a.booking_id: a.option.id for a in result.assignments if a.option}
    assert chosen == {"B-urgent": "fast1", "B-relaxed": "slow2"}
    assert result.total_lateness_hours == 0 and result.unassigned == 0 and result.optimal
    assert result.total_cost == Decimal(1400)
    assert "on time" in result.assignments[1].reason


def test_no_room_anywhere_leaves_the_booking_for_a_person() -> None:
    b = AffectedBooking("B1", 2, None, [option("o", ("D1",), 10, 100)])
    result = replan([b], {"D1": 1.5})
    assert result.unassigned == 1 and result.assignments[0].option is None
    assert "manual" in result.assignments[0].reason


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[AffectedBooking], dict[str, float]]:
    deps = [f"D{i}" for i in range(draw(st.integers(1, 4)))]
    bookings = []
    for b in range(draw(st.integers(1, 4))):
        alts = []
        for k in range(draw(st.integers(0, 3))):
            used = tuple(draw(st.lists(st.sampled_from(deps), min_size=1, max_size=2, unique=True)))
            alts.append(option(f"b{b}o{k}", used, draw(st.integers(10, 400)), draw(st.integers(100, 5000))))
        deliver = draw(st.one_of(st.none(), st.integers(50, 300)))
        bookings.append(
            AffectedBooking(
                f"B{b}",
                draw(st.sampled_from([0.5, 1, 2])),
                None if deliver is None else T0 + timedelta(hours=deliver),
                alts,
            )
        )
    cap = {d: float(draw(st.sampled_from([0, 1, 2, 3, 4]))) for d in deps}
    return bookings, cap


@settings(max_examples=80, deadline=None)
@given(instances())
def test_cp_sat_matches_brute_force(case: tuple[list[AffectedBooking], dict[str, float]]) -> None:
    bookings, cap = case
    result = replan(bookings, cap)
    best = None
    for combo in itertools.product(*[[None, *b.alternatives] for b in bookings]):
        load: dict[str, float] = {}
        for b, o in zip(bookings, combo, strict=True):
            for d in o.departure_ids() if o else ():
                load[d] = load.get(d, 0) + b.teu
        if any(v > cap[d] + 1e-9 for d, v in load.items()):
            continue
        key = (
            sum(o is None for o in combo),
            sum(lateness_hours(o, b.deliver_by) for b, o in zip(bookings, combo, strict=True) if o),
            sum((o.cost for o in combo if o), Decimal(0)),
        )
        best = key if best is None or key < best else best
    assert best is not None
    assert (result.unassigned, result.total_lateness_hours, result.total_cost) == best
    load = {}
    for a in result.assignments:
        b = next(b for b in bookings if b.booking_id == a.booking_id)
        for d in a.option.departure_ids() if a.option else ():
            load[d] = load.get(d, 0) + b.teu
    assert all(v <= cap[d] + 1e-9 for d, v in load.items())


def test_without_deliver_by_lateness_is_against_the_booked_arrival_and_never_called_on_time() -> None:
    booked = T0 + timedelta(hours=100)
    slow = option("slow", ("D2",), 300, 100)  # 200 h after the booked arrival, cheaper
    fast = option("fast", ("D1",), 110, 900)  # 10 h after
    b = AffectedBooking("B1", 2, None, [slow, fast], booked_arrival=booked)
    result = replan([b], {"D1": 10, "D2": 10})
    a = result.assignments[0]
    assert a.option is not None and a.option.id == "fast"  # least lateness against the booked arrival first
    assert a.lateness_hours == 10 and a.slip_hours == 10
    assert "late: 10 h after the booked arrival" in a.reason and "on time" not in a.reason


def test_a_replan_with_neither_date_says_it_has_nothing_to_compare_with() -> None:
    b = AffectedBooking("B1", 2, None, [option("o", ("D1",), 10, 100)])
    a = replan([b], {"D1": 10}).assignments[0]
    assert "no deliver-by or booked arrival to compare with" in a.reason and a.slip_hours == 0
