from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from iot_sim.geo import destination, haversine_km, interpolate
from iot_sim.motion import build_stops, journey_over, position_at, stops_from_legs

T0 = datetime(2027, 3, 1, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


# Yibin -> Chengdu (hub, 6 h dwell) -> Alashankou (border, 2 h) -> Duisburg
RAW = [
    {
        "node_id": "YIB",
        "name": "Yibin",
        "lat": 28.77,
        "lon": 104.63,
        "role": "origin",
        "planned_arrival": None,
        "planned_departure": iso(T0 + timedelta(hours=10)),
    },
    {
        "node_id": "CDU_RAIL",
        "name": "Chengdu",
        "lat": 30.80,
        "lon": 104.17,
        "role": "hub",
        "planned_arrival": iso(T0 + timedelta(hours=20)),
        "planned_departure": iso(T0 + timedelta(hours=26)),
    },
    {
        "node_id": "AKL",
        "name": "Alashankou",
        "lat": 45.17,
        "lon": 82.57,
        "role": "border",
        "planned_arrival": iso(T0 + timedelta(days=4)),
        "planned_departure": iso(T0 + timedelta(days=4, hours=2)),
    },
    {
        "node_id": "DUI",
        "name": "Duisburg",
        "lat": 51.43,
        "lon": 6.76,
        "role": "destination",
        "planned_arrival": iso(T0 + timedelta(days=14)),
        "planned_departure": None,
    },
]

lat_s = st.floats(min_value=-80, max_value=80)
lon_s = st.floats(min_value=-179, max_value=179)


@settings(max_examples=200, deadline=None)
@given(lat_s, lon_s, lat_s, lon_s, st.floats(min_value=0, max_value=1))
def test_interpolated_point_lies_on_the_great_circle_at_its_fraction(lat1, lon1, lat2, lon2, f):
    total = haversine_km(lat1, lon1, lat2, lon2)
    assume(total <= 19_000)  # near-antipodal: the great circle is not unique
    lat, lon = interpolate(lat1, lon1, lat2, lon2, f)
    assert haversine_km(lat1, lon1, lat, lon) == pytest.approx(f * total, abs=0.01)
    assert haversine_km(lat, lon, lat2, lon2) == pytest.approx((1 - f) * total, abs=0.01)


@settings(max_examples=200, deadline=None)
@given(lat_s, lon_s, st.floats(min_value=0, max_value=360), st.floats(min_value=0, max_value=5000))
def test_destination_is_that_far_away(lat, lon, bearing, km):
    lat2, lon2 = destination(lat, lon, bearing, km)
    assert haversine_km(lat, lon, lat2, lon2) == pytest.approx(km, abs=0.01)
    assert -180 <= lon2 <= 180


def test_known_distance_yibin_to_duisburg():
    # Yibin to Duisburg is about 7,900 km on the great circle.
    assert 7_700 < haversine_km(28.77, 104.63, 51.43, 6.76) < 8_100


def test_waits_at_origin_until_departure():
    stops = build_stops(RAW)
    fix = position_at(stops, T0)
    assert (fix.lat, fix.lon, fix.speed_kmh, fix.stop_index) == (28.77, 104.63, 0.0, 0)
    assert not fix.moving


def test_moves_between_stops_at_the_speed_that_meets_the_plan():
    stops = build_stops(RAW)
    fix = position_at(stops, T0 + timedelta(hours=15))  # halfway Yibin -> Chengdu
    km = haversine_km(28.77, 104.63, 30.80, 104.17)
    assert fix.moving and fix.next_stop == 1
    assert fix.speed_kmh == pytest.approx(km / 10.0)
    assert haversine_km(28.77, 104.63, fix.lat, fix.lon) == pytest.approx(km / 2, abs=0.01)


def test_dwells_at_hub_between_arrival_and_departure():
    stops = build_stops(RAW)
    for hours in (20, 23, 26):
        fix = position_at(stops, T0 + timedelta(hours=hours))
        assert (fix.lat, fix.lon, fix.speed_kmh, fix.stop_index) == (30.80, 104.17, 0.0, 1)


def test_stays_at_destination_after_arrival():
    stops = build_stops(RAW)
    t = T0 + timedelta(days=30)
    fix = position_at(stops, t)
    assert (fix.lat, fix.lon, fix.stop_index) == (51.43, 6.76, 3)
    assert journey_over(stops, t) and not journey_over(stops, T0 + timedelta(days=13))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=16 * 24 * 60), min_size=2, max_size=30))
def test_progress_along_the_route_never_goes_backwards(minutes):
    stops = build_stops(RAW)

    def progress(m: int) -> float:
        fix = position_at(stops, T0 + timedelta(minutes=m))
        done = sum(
            haversine_km(a.lat, a.lon, b.lat, b.lon)
            for a, b in zip(stops[: fix.next_stop], stops[1 : fix.next_stop], strict=False)
        )
        prev = stops[max(0, fix.next_stop - 1)]
        return done + haversine_km(prev.lat, prev.lon, fix.lat, fix.lon) * (fix.next_stop > 0)

    values = [progress(m) for m in sorted(minutes)]
    assert all(b >= a - 1e-6 for a, b in zip(values, values[1:], strict=False))


def test_times_that_run_backwards_are_clamped():
    raw = [dict(s) for s in RAW]
    raw[1]["planned_arrival"] = iso(T0 + timedelta(hours=5))  # before the origin's departure
    stops = build_stops(raw)
    assert stops[1].arrival == stops[0].departure
    assert all(a.departure <= b.arrival for a, b in zip(stops, stops[1:], strict=False))
    assert all(s.arrival <= s.departure for s in stops)


def test_origin_and_destination_fill_in_missing_times():
    stops = build_stops(RAW)
    assert stops[0].arrival == stops[0].departure == T0 + timedelta(hours=10)
    assert stops[-1].departure == stops[-1].arrival


@pytest.mark.parametrize(
    "bad",
    [
        [],
        [{"node_id": "X", "lat": None, "lon": 1, "planned_departure": iso(T0)}],
        [{"node_id": "X", "lat": 1, "lon": 1}],
    ],
)
def test_unusable_stops_are_refused(bad):
    with pytest.raises(ValueError):
        build_stops(bad)


def test_stops_from_legs_uses_network_nodes():
    nodes = {
        "YIB": {"id": "YIB", "name": "Yibin", "lat": 28.77, "lon": 104.63},
        "CKG_RAIL": {"id": "CKG_RAIL", "name": "Chongqing", "lat": 29.6, "lon": 106.3},
        "DUI": {"id": "DUI", "name": "Duisburg", "lat": 51.43, "lon": 6.76},
    }
    legs = [
        {
            "origin": "YIB",
            "destination": "CKG_RAIL",
            "departure": iso(T0),
            "arrival": iso(T0 + timedelta(hours=8)),
        },
        {
            "origin": "CKG_RAIL",
            "destination": "DUI",
            "departure": iso(T0 + timedelta(hours=30)),
            "arrival": iso(T0 + timedelta(days=16)),
        },
    ]
    stops = stops_from_legs(legs, nodes)
    assert [s.role for s in stops] == ["origin", "hub", "destination"]
    assert stops[1].arrival == T0 + timedelta(hours=8) and stops[1].departure == T0 + timedelta(hours=30)
    with pytest.raises(ValueError):
        stops_from_legs([{**legs[0], "origin": "NOPE"}], nodes)
