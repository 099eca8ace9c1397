"""The options a forwarder sees: one per path, relaxed dominance, labels on what is shown, door-to-door."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.network import load_reference_network
from routing.options import Margins, Option, PlannedLeg, one_per_path, relaxed_prune, select
from routing.planner import Cargo, QuoteRequest, destination_hours, plan
from routing.timetable import expand

T0 = datetime(2027, 3, 1, tzinfo=UTC)
M = Margins(cost=0.02, hours=12.0, co2e=0.05)


def opt(
    name: str, cost: float, door_h: float, co2: float, path: tuple[str, ...] | None = None, dep_h: float = 0.0
) -> Option:
    legs = tuple(
        PlannedLeg(
            mode="rail",
            origin=f"N{i}",
            destination=f"N{i + 1}",
            departure=T0 + timedelta(hours=dep_h),
            arrival=T0 + timedelta(hours=door_h),
            service_id=sid,
            departure_id=f"{sid}@{dep_h}",
            corridor="c",
            distance_km=100.0,
            cost=Decimal(str(cost)),
            co2e_kg=co2,
            basis="estimate",
        )
        for i, sid in enumerate(path or (f"svc-{name}",))
    )
    return Option(
        id=name,
        legs=legs[:1],
        cost=Decimal(str(cost)),
        currency="USD",
        transit_hours=door_h - dep_h,
        co2e_kg=co2,
        labels=(),
        basis="estimate",
        door_to_door_hours=door_h,
    )


def test_a_marginally_cheaper_but_much_slower_dirtier_option_is_pruned() -> None:
    # Singapore: "cheapest" saved 2.66 USD for +14 days and +49 % CO2e
    slow = opt("slow", 2000.00, 30 * 24, 1490.0)
    fast = opt("fast", 2002.66, 16 * 24, 1000.0)
    assert [o.id for o in relaxed_prune([slow, fast], M)] == ["fast"]


def test_an_option_that_wins_by_a_margin_somewhere_stays() -> None:
    cheap = opt("cheap", 1000.0, 30 * 24, 1000.0)
    fast = opt("fast", 1500.0, 20 * 24, 1010.0)
    assert {o.id for o in relaxed_prune([cheap, fast], M)} == {"cheap", "fast"}


def test_near_duplicates_keep_the_cheaper_one() -> None:
    a = opt("a", 1000.0, 100.0, 500.0)
    b = opt("b", 1005.0, 95.0, 490.0)  # within 2 %, 12 h and 5 % of a, and a within the same of b
    assert [o.id for o in relaxed_prune([b, a], M)] == ["a"]


def test_margins_are_configurable() -> None:
    a = opt("a", 1000.0, 100.0, 500.0)
    b = opt("b", 1005.0, 95.0, 490.0)
    assert len(relaxed_prune([a, b], Margins(cost=0.0, hours=0.0, co2e=0.0))) == 2


def test_one_option_per_path_keeps_the_one_delivered_first() -> None:
    early = opt("early", 1000.0, 100.0, 500.0, path=("river", "sea"), dep_h=0)
    late = opt("late", 990.0, 268.0, 500.0, path=("river", "sea"), dep_h=168)
    other = opt("other", 1200.0, 90.0, 700.0, path=("rail",))
    assert {o.id for o in one_per_path([early, late, other])} == {"early", "other"}


def test_fastest_is_the_shortest_door_to_door_shown() -> None:
    # b arrives at its last terminal first, but a is delivered first (b's import clearance is longer)
    a = opt("a", 1500.0, 200.0, 800.0)
    b = opt("b", 1000.0, 230.0, 500.0)
    chosen = select([a, b], 8, M)
    fastest = next(o for o in chosen if "fastest" in o.labels)
    assert fastest.id == "a"


front_points = st.lists(
    st.tuples(st.integers(500, 5000), st.integers(24, 24 * 60), st.integers(100, 5000)),
    min_size=1,
    max_size=25,
    unique=True,
)


@given(front_points)
def test_relaxed_prune_removes_only_keeps_real_choices_and_stays_close(
    points: list[tuple[int, int, int]],
) -> None:
    front = [opt(f"o{i}", c, h, g) for i, (c, h, g) in enumerate(points)]
    kept = relaxed_prune(front, M)
    assert kept and {o.id for o in kept} <= {o.id for o in front}

    def beats(a: Option, b: Option) -> bool:
        return (
            float(a.cost) < float(b.cost) * (1 - M.cost)
            or a.door_to_door_hours < b.door_to_door_hours - M.hours
            or a.co2e_kg < b.co2e_kg * (1 - M.co2e)
        )

    for a in kept:  # every option shown wins by a margin against every other one
        assert all(beats(a, b) for b in kept if b is not a)
    for o in front:  # every option dropped has one shown that it does not beat by any margin
        if o not in kept:
            assert any(not beats(o, k) for k in kept)


NET = load_reference_network()
TT = expand(NET, T0, 8)


def test_door_to_door_adds_destination_handling_and_import_clearance_abroad() -> None:
    box = Cargo(12000, 60, "40HC")
    p = NET.planning
    for o in plan(NET, TT, QuoteRequest("CNYIB", "DEDUI", T0, None, box, "9810")):
        last = o.legs[-1]
        expected = (
            p.handling_in(last.destination, last.mode)
            + p.import_clearance_hours[next(leg.mode for leg in reversed(o.legs) if leg.mode != "road")]
        )
        assert o.destination_hours == expected
        assert o.door_to_door_hours == round(o.lead_time_hours + expected, 2)
    # domestic (Yibin -> Shanghai): no import clearance
    for o in plan(NET, TT, QuoteRequest("YIB", "SHA", T0, None, box, "9810")):
        assert o.destination_hours == p.handling_in("SHA", o.legs[-1].mode)
    assert destination_hours(NET, o.legs, point_destination=True) == 0.0


def test_no_shown_option_repeats_a_path() -> None:
    for dest in ("DEHAM", "SGSIN", "NLRTM", "THBKK"):
        options = plan(NET, TT, QuoteRequest("CNYIB", dest, T0, None, Cargo(12000, 60, "40HC"), "9810"))
        paths = [o.path() for o in options]
        assert len(paths) == len(set(paths)), dest


def test_a_node_cutoff_overrides_the_mode_cutoff_at_that_node() -> None:
    p = NET.planning
    assert p.cutoff("sea", "QZH") == 12.0  # sea-rail terminal
    assert p.cutoff("sea", "SHA") == p.cutoff("sea") == 48.0
    for dep in TT.for_service("QZH-SIN-sea")[:3]:
        assert dep.departure - dep.cutoff == timedelta(hours=12)


# ---- border-aware road legs to and from coordinates

WARSAW = (52.2297, 21.0122)


def test_a_made_up_road_leg_across_a_border_takes_the_border_dwell() -> None:
    from routing.search_graph import DESTINATION_POINT, problem_for, road_border

    request = QuoteRequest("CNYIB", WARSAW, T0, None, Cargo(12000, 60, "40HC"), "9810")
    pb = problem_for(NET, TT, request, None, None)
    legs = {
        origin: svc
        for origin, svcs in pb.extra_from.items()
        for svc in svcs
        if svc.destination == DESTINATION_POINT
    }
    assert "BREST" in legs and "MAL" in legs  # Warsaw's nearest terminals: one in Belarus, one in Poland
    brest, mal = legs["BREST"], legs["MAL"]
    assert road_border(NET, "BY", "PL") == ("BY-PL", 36.0)
    # same speed, plus 36 h at the EU external border for the Belarusian terminal's truck
    assert brest.transit_hours - 36.0 == pytest.approx(brest.distance_km / 55.0 + 1.0, abs=0.01)
    assert mal.transit_hours == pytest.approx(mal.distance_km / 55.0 + 1.0, abs=0.01)
    assert "crossing BY-PL" in brest.corridor and any(f.name == "border_hours" for f in brest.provenance)


def test_inside_the_eu_a_road_leg_has_no_border_stop_and_closed_borders_give_no_leg() -> None:
    from routing.search_graph import road_border, road_closed

    assert road_border(NET, "DE", "NL") == ("DE-NL", 0.0)
    assert road_border(NET, "PL", "PL") is None
    assert road_closed(NET, "TR", "AM") and not road_closed(NET, "CN", "KZ")
    assert road_border(NET, "KZ", "UZ") == ("KZ-UZ", 12.0)  # the default


def test_closed_road_borders_must_name_crossings() -> None:
    import copy

    from routing.errors import NetworkInvalid
    from routing.network import load_network

    data = copy.deepcopy(dict(NET.raw))
    data["planning"]["closed_road_borders"] = {"crossings": ["turkey-armenia"]}
    with pytest.raises(NetworkInvalid, match="not a crossing like"):
        load_network(data)


def test_a_land_leg_across_a_customs_border_must_name_its_border_node() -> None:
    import copy

    from routing.errors import NetworkInvalid
    from routing.network import load_network

    data = copy.deepcopy(dict(NET.raw))
    for leg in data["legs"]:
        if leg["id"] == "VTE-BKK-rail":
            leg["via"] = []
    with pytest.raises(NetworkInvalid, match="'VTE-BKK-rail': rail from LA to TH crosses a customs border"):
        load_network(data)
    # within a customs union (Kazakhstan-Kyrgyzstan, EAEU) no border node is needed
    assert not NET.planning.customs_border("KZ", "KG")
    assert NET.planning.customs_border("CN", "KZ")


# ---- the price line by line, and direction


def test_the_breakdown_adds_up_to_the_leg_costs_and_brokerage_comes_on_top() -> None:
    reefer = Cargo(12000, 50, "40RF", dangerous_goods=True, temperature=(2.0, 8.0))
    for cargo in (Cargo(12000, 60, "40HC"), reefer):
        for o in plan(NET, TT, QuoteRequest("CNYIB", "DEDUI", T0, None, cargo, "9810")):
            per_leg = [c for c in o.breakdown if c.leg is not None]
            assert sum(c.amount for c in per_leg) == o.cost
            for i, leg in enumerate(o.legs):
                assert sum(c.amount for c in per_leg if c.leg == i) == leg.cost
            brk = [c for c in o.breakdown if c.code == "BRK"]
            assert [c.amount for c in brk] == [Decimal("60.00"), Decimal("150.00")]  # export + import (DE)
            assert o.total() == o.cost + Decimal("210.00")
            codes = {c.code for c in o.breakdown}
            assert "FRT" in codes and ("THC" in codes) == any(leg.handling_cost for leg in o.legs)
            assert ({"DG", "RF"} <= codes) == (cargo is reefer)
    domestic = plan(NET, TT, QuoteRequest("YIB", "SHA", T0, None, Cargo(12000, 60, "40HC"), "9810"))
    assert all(
        [c.description for c in o.breakdown if c.code == "BRK"] == ["export customs declaration"]
        for o in domestic
    )


def test_rates_into_china_are_the_backhaul_share_of_the_export_rate() -> None:
    out, back = NET.services["SHA-RTM-sea"], NET.services["SHA-RTM-sea-rev"]
    assert out.rate.per_feu is not None and back.rate.per_feu is not None
    assert back.rate.per_feu == (out.rate.per_feu * Decimal("0.25")).quantize(Decimal("0.01"))
    assert any(f.name == "direction" and "into China" in f.note for f in back.provenance)
    # not into China: the same rate both ways (an estimate, said so)
    assert NET.services["DUI-RTM-rail-rev"].rate == NET.services["DUI-RTM-rail"].rate


# ---- ISO 14083 / GLEC: well-to-wheel and tank-to-wheel per leg


def test_each_leg_reports_wtw_and_ttw_with_its_factor_source_and_distance_basis() -> None:
    box = Cargo(12000, 60, "40HC")
    for dest in ("DEDUI", "SGSIN"):
        for o in plan(NET, TT, QuoteRequest("CNYIB", dest, T0, None, box, "9810")):
            for leg in o.legs:
                transport_wtw = leg.distance_km * 12.0 * leg.wtw_g_per_tkm / 1000.0
                transport_ttw = leg.distance_km * 12.0 * leg.ttw_g_per_tkm / 1000.0
                assert leg.co2e_kg == pytest.approx(transport_wtw + leg.hub_co2e_kg, abs=0.01)
                assert leg.ttw_co2e_kg == pytest.approx(transport_ttw + leg.hub_co2e_kg, abs=0.01)
                assert leg.wtw_g_per_tkm >= leg.ttw_g_per_tkm
                assert leg.emission_source and "emission_factors.json" in leg.emission_source
                assert leg.distance_basis.split(":")[0] in ("published", "estimate")
            assert o.co2e_kg >= o.ttw_co2e_kg()


def test_factors_are_well_to_wheel_from_their_stated_scope() -> None:
    p = NET.planning
    assert p.emission_ttw_g_per_tkm["air"] == 550.0
    assert p.emission_g_per_tkm["air"] == pytest.approx(550 * 1.228)  # GLEC v3.2 belly split
    assert p.emission_g_per_tkm["road"] == pytest.approx(90 * 1.21)  # diesel well-to-tank
    assert p.emission_ttw_g_per_tkm["rail_cn"] == 0.0 and p.emission_g_per_tkm["rail_cn"] == 18.0  # electric


def test_an_unknown_scope_is_refused_on_load() -> None:
    import copy

    from routing.errors import NetworkInvalid
    from routing.network import load_network

    data = copy.deepcopy(dict(NET.raw))
    data["emission_factors"]["recommended_planner_defaults"][0]["scope"] = "gate-to-gate"
    with pytest.raises(NetworkInvalid, match="is not TTW or WTW"):
        load_network(data)
