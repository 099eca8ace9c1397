"""The geocoder port's offline default, the OSRM adapter (against a fake transport), the matrix cache."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from routing.vrp import CachedMatrix, GeodesicMatrix, Matrix
from warehouse.geo import Address, GazetteerGeocoder, GeopyGeocoder, OsrmMatrix, Unplaceable


def test_the_offline_gazetteer_places_a_city_within_its_country() -> None:
    g = GazetteerGeocoder()
    duisburg = g.place(Address("DE", city="Duisburg"))
    assert (round(duisburg.lat, 2), round(duisburg.lon, 2)) == (51.43, 6.77)
    assert duisburg.source == "GeoNames city Duisburg (DE)"
    # case and accents do not matter; an alternate name works too
    lodz = g.place(Address("pl", city="LODZ"))
    assert lodz.source == "GeoNames city Łódź (PL)"
    assert g.place(Address("HU", city="Budapest")).lat == pytest.approx(47.5, abs=0.1)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        (Address("DE", postcode="47051"), "postcode 47051 (DE) cannot be placed offline"),
        (Address("DE"), "an address without a city"),
        (Address("DE", city="Atlantis"), "no place named 'Atlantis' in DE"),
        (Address("NL", city="Duisburg"), "no place named 'Duisburg' in NL"),  # the country counts
    ],
)
def test_an_address_the_gazetteer_cannot_place_says_why(address: Address, why: str) -> None:
    with pytest.raises(Unplaceable, match=re.escape(why)):
        GazetteerGeocoder().place(address)


def test_a_geocoder_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        GeopyGeocoder("ftp://geo.example")
    assert GeopyGeocoder("http://127.0.0.1:2322", "photon").kind == "photon"


def test_osrm_matrix_reads_the_table_service() -> None:
    asked: list[str] = []

    def fake(url: str) -> httpx.Response:
        asked.append(url)
        body = {"code": "Ok", "distances": [[0, 2500], [2600, 0]], "durations": [[0, 300], [310, 0]]}
        return httpx.Response(200, content=json.dumps(body), request=httpx.Request("GET", url))

    m = OsrmMatrix("http://osrm.local:5000/", client=fake)([(51.43, 6.76), (51.45, 6.80)])
    assert asked == [
        "http://osrm.local:5000/table/v1/driving/6.760000,51.430000;6.800000,51.450000"
        "?annotations=distance,duration"
    ]
    assert m.km == [[0.0, 2.5], [2.6, 0.0]] and m.seconds == [[0.0, 300.0], [310.0, 0.0]]


def test_osrm_without_a_road_is_an_error() -> None:
    def fake(url: str) -> httpx.Response:
        body = {"code": "Ok", "distances": [[0, None], [None, 0]], "durations": [[0, None], [None, 0]]}
        return httpx.Response(200, content=json.dumps(body), request=httpx.Request("GET", url))

    with pytest.raises(RuntimeError, match="no road"):
        OsrmMatrix("http://osrm.local", client=fake)([(51.43, 6.76), (51.45, 6.80)])


def test_the_matrix_is_cached_per_warehouse_day_and_points() -> None:
    calls: list[int] = []

    def inner(points: object) -> Matrix:
        calls.append(1)
        return GeodesicMatrix()(points)  # type: ignore[arg-type]

    cache = CachedMatrix(inner)
    pts = [(51.43, 6.76), (51.45, 6.80)]
    first = cache.for_key(("DEDUI", "2027-03-02"))(pts)
    again = cache.for_key(("DEDUI", "2027-03-02"))(list(pts))
    assert again is first and len(calls) == 1
    cache.for_key(("DEDUI", "2027-03-03"))(pts)  # another day asks again
    cache.for_key(("DEDUI", "2027-03-02"))([*pts, (51.5, 6.9)])  # another point set too
    assert len(calls) == 3 and (cache.hits, cache.misses) == (1, 3)
