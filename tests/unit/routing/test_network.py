"""Loading, validating and resolving places in the network."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from routing.errors import AmbiguousPlace, NetworkInvalid, UnknownPlace
from routing.network import ESTIMATE, PUBLISHED, load_network, load_reference_network
from tests.unit.routing.gen import small_network

NET = load_reference_network()


def _reference_data() -> dict[str, Any]:
    return copy.deepcopy(dict(NET.raw))


def test_reference_network_has_every_node_and_both_directions() -> None:
    assert len(NET.nodes) == 60  # 41 of the research network + 19 for the new corridors
    # 100 legs, reverse services for the bidirectional ones
    legs = NET.raw["legs"]
    assert len(NET.services) == len(legs) + sum(1 for leg in legs if leg["bidirectional"])
    assert "CDU_RAIL-LOD-rail" in NET.services and "CDU_RAIL-LOD-rail-rev" in NET.services
    assert "YIB-MAL-rail-rev" not in NET.services  # one-way in the data


def test_provenance_travels_with_the_figures() -> None:
    lodz = NET.services["CDU_RAIL-LOD-rail"]
    assert lodz.basis == PUBLISHED  # 11-15 days, 9,826 km, 2-4 trains/week and the rate are all cited
    assert lodz.transit_hours == 13 * 24
    assert lodz.distance_km == 9826
    assert str(lodz.rate.per_feu) == "5525.0"  # ERAI Chengdu through rate, Jan-Mar 2025 (S85)
    assert "S01" in lodz.sources
    # the reverse direction is assumed, so it is an estimate
    assert NET.services["CDU_RAIL-LOD-rail-rev"].basis == ESTIMATE
    feeder = NET.services["YIB-CDU_RAIL-rail"]
    assert feeder.basis == ESTIMATE
    assert {f.name: f.basis for f in feeder.provenance}["distance_km"] == ESTIMATE


def test_service_flags_come_from_planning() -> None:
    assert not NET.services["TFU-FRA-air"].accepts_dangerous_goods()  # passenger belly
    assert NET.services["CTU-BRU-air"].accepts_dangerous_goods()  # freighter
    assert not NET.services["YIB-SHA-river"].reefer
    assert NET.services["SHA-RTM-sea"].ttw_g_per_tkm == 13  # deep-sea mainline, tank-to-wheel
    assert NET.services["SHA-RTM-sea"].co2e_g_per_tkm == pytest.approx(13 * 1.17)  # well-to-wheel
    assert NET.services["QZH-SIN-sea"].ttw_g_per_tkm == 25  # regional feeder


@pytest.mark.parametrize("place", ["YIB", "yib", "CNYIB", "cnyib", " CN YIB ", (28.77, 104.6)])
def test_resolve_finds_yibin(place: str | tuple[float, float]) -> None:
    assert NET.resolve(place).id == "YIB"


def test_resolve_coordinates_never_snap_to_a_border_crossing() -> None:
    # right on top of Alashankou (a crossing only, no terminal of its own in the data is snappable)
    node = NET.resolve((45.1833, 82.4333))
    assert "border_crossing" not in node.kinds or set(node.kinds) - {"border_crossing"}


def test_unknown_and_ambiguous_places() -> None:
    with pytest.raises(UnknownPlace, match="XXNOPE"):
        NET.resolve("XXNOPE")
    with pytest.raises(UnknownPlace):
        NET.resolve((91.0, 10.0))
    with pytest.raises(UnknownPlace, match="within"):
        NET.resolve((-45.0, -120.0))  # South Pacific: nothing within reach
    data = small_network([(20, 100), (21, 101)], [(0, 1, "rail", 500.0, 1.0, 3, 900, True, True)])
    data["nodes"][0]["unlocode"] = "CNAAA"
    data["nodes"][1]["unlocode"] = "CNAAA"
    with pytest.raises(AmbiguousPlace) as err:
        load_network(data).resolve("cnaaa")
    assert err.value.candidates == ("N0", "N1")


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(NetworkInvalid) as err:
        load_network(data)
    return err.value.problems


def test_validation_rejects_negative_times() -> None:
    data = _reference_data()
    data["legs"][0]["transit_time"]["min"] = -2
    assert any("transit time must be positive" in p for p in _problems(data))


def test_validation_rejects_days_given_as_hours() -> None:
    data = _reference_data()
    leg = next(leg for leg in data["legs"] if leg["id"] == "CDU_RAIL-LOD-rail")
    leg["transit_time"]["unit"] = "hours"  # 11-15 "hours" for 9,826 km
    problems = _problems(data)
    assert any("CDU_RAIL-LOD-rail" in p and "km/h" in p and "units" in p for p in problems)


def test_validation_rejects_miles_and_unknown_units() -> None:
    data = _reference_data()
    leg = next(leg for leg in data["legs"] if leg["id"] == "SHA-RTM-sea")
    leg["distance_km"] = 4000  # far below the 9,015 km great circle
    data["legs"][1]["transit_time"]["unit"] = "weeks"
    problems = _problems(data)
    assert any("SHA-RTM-sea" in p and "miles" in p for p in problems)
    assert any("'weeks'" in p for p in problems)


def test_validation_rejects_unreachable_nodes_and_dangling_legs() -> None:
    data = _reference_data()
    data["nodes"].append(
        {
            "id": "ISLAND",
            "name": "Nowhere",
            "unlocode": None,
            "lat": 10,
            "lon": 10,
            "kind": ["seaport"],
            "country": "XX",
        }
    )
    data["legs"][2]["to"] = "NOWHERE"
    problems = _problems(data)
    assert any("ISLAND" in p and "unreachable" in p for p in problems)
    assert any("'NOWHERE' does not exist" in p for p in problems)


def test_validation_rejects_a_disconnected_island_pair() -> None:
    data = small_network(
        [(20, 100), (20.5, 100.5), (30, 110), (30.5, 110.5)],
        [(0, 1, "rail", 500.0, 1.0, 3, 900, True, True), (2, 3, "road", 400.0, 1.0, 1, 300, True, True)],
    )
    problems = _problems(data)
    assert any("unreachable from the rest" in p for p in problems)


def test_validation_rejects_swapped_coordinates() -> None:
    data = _reference_data()
    yib = next(n for n in data["nodes"] if n["id"] == "YIB")
    yib["lat"], yib["lon"] = yib["lon"], 28.767  # lat 104 is out of range
    problems = _problems(data)
    assert any("YIB" in p and "out of range" in p for p in problems)


def test_validation_lists_every_problem_at_once() -> None:
    data = _reference_data()
    data["legs"][0]["transit_time"]["min"] = -1
    data["legs"][5]["mode"] = "teleport"
    assert len(_problems(data)) >= 2


def test_export_round_trips() -> None:
    again = load_network(NET.export())
    assert again.services == NET.services
    assert again.nodes == NET.nodes
