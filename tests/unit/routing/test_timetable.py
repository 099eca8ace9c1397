"""Expanding weekly frequencies into concrete departures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.errors import InvalidRequest, UnknownDeparture
from routing.network import load_reference_network
from routing.timetable import expand

NET = load_reference_network()
T0 = datetime(2027, 3, 1, tzinfo=UTC)


def test_frequencies_become_departures() -> None:
    tt = expand(NET, T0, 8)
    lodz = tt.for_service("CDU_RAIL-LOD-rail")  # 2-4 trains a week, 3 on average
    assert 23 <= len(lodz) <= 25
    assert tt.for_service("YIB-TFU-road") == ()  # trucks are on demand
    for d in tt.departures:
        assert d.cutoff <= d.departure < d.arrival
        assert T0 <= d.departure < T0 + timedelta(weeks=8)
        assert d.departure.tzinfo is not None
    assert len({d.id for d in tt.departures}) == len(tt.departures)


def test_departure_ids_are_stable_across_horizons() -> None:
    a = expand(NET, T0, 4)
    b = expand(NET, T0 + timedelta(days=10), 4)
    overlap = [d for d in a.departures if d.departure >= T0 + timedelta(days=10)]
    assert overlap
    for d in overlap:
        assert b.get(d.id) == d
    assert expand(NET, T0, 4).departures == a.departures  # deterministic


def test_cutoff_and_transit_follow_the_service() -> None:
    tt = expand(NET, T0, 2)
    d = tt.for_service("SHA-RTM-sea")[0]
    svc = NET.services["SHA-RTM-sea"]
    assert d.departure - d.cutoff == timedelta(hours=48)
    assert d.arrival - d.departure == timedelta(hours=svc.transit_hours)
    assert d.capacity_teu == svc.capacity_teu
    assert d.id == f"SHA-RTM-sea@{d.departure:%Y-%m-%dT%H:%MZ}"


def test_bad_horizons_and_ids() -> None:
    with pytest.raises(InvalidRequest):
        expand(NET, datetime(2027, 3, 1), 4)  # naive
    with pytest.raises(InvalidRequest):
        expand(NET, T0, 0)
    with pytest.raises(UnknownDeparture):
        expand(NET, T0, 1).get("nope@2027-03-01T00:00Z")
