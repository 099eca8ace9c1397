"""One end-to-end quote per corridor added for coverage: Russia, Central Asia, Trans-Caspian, Middle East,
Indonesia, North America (air, and rail to the coast + ocean) and European on-carriage."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kernel.identity import Role
from tests.conftest import Keys

BOX = {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC"}
AIR = {"weight_kg": 500, "volume_m3": 2.5, "equipment": "AIR"}


def _quote(client: TestClient, keys: Keys, destination: str, cargo: dict[str, Any]) -> list[dict[str, Any]]:
    body = {
        "origin": "CNYIB",
        "destination": destination,
        "ready_at": "2027-03-01T06:00:00Z",
        "cargo": cargo,
        "customs_mode": "9810",
    }
    r = client.post("/v1/quotes", json=body, headers=keys.headers(Role.FORWARDER))
    assert r.status_code == 201, r.text
    options: list[dict[str, Any]] = r.json()["options"]
    assert options
    return options


def _path(option: dict[str, Any]) -> list[str]:
    return [leg["origin"] for leg in option["legs"]] + [option["legs"][-1]["destination"]]


# destination, cargo, a node every option passes, door-to-door days (min, max) of the fastest option
CORRIDORS = [
    (
        "RUMOW",
        BOX,
        None,
        (14, 30),
    ),  # Moscow via Kazakhstan / Mongolia / Manzhouli: ~15 days from SW China (S70)
    ("UZTAS", BOX, "ALTYNKOL", (9, 22)),  # Tashkent via Khorgos/Altynkol and Saryagash (S72)
    ("KGFRU", BOX, "ALA", (9, 22)),  # Bishkek via Almaty
    ("TRIST", BOX, "ALAT", (20, 40)),  # Trans-Caspian: Aktau ferry to Alat, Tbilisi, Kars (S73, S74)
    ("AEJEA", BOX, None, (22, 45)),  # Jebel Ali by sea: 18-28 days port to port (S75)
    ("IDTPP", BOX, None, (12, 30)),  # Jakarta by the land-sea corridor: ~20 days (S76)
    ("USLAX", BOX, None, (18, 45)),  # Los Angeles: rail to Ningbo + transpacific, or Yangtze + sea
    ("ITMIL", BOX, "DUI", (16, 60)),  # Milan by rail from Duisburg
    ("ESMAD", BOX, "DUI", (16, 60)),  # Madrid by truck from Duisburg (Iberian gauge)
    ("SEGOT", BOX, "HAM", (16, 60)),  # Gothenburg by road from Hamburg
    ("ORD", AIR, "ANC", (2, 9)),  # Chicago by freighter via Anchorage
    ("LAX_AIR", AIR, "TFU", (2, 6)),  # Los Angeles by belly cargo from Tianfu (S77)
]


@pytest.mark.parametrize(("destination", "cargo", "through", "door_days"), CORRIDORS)
def test_every_new_corridor_gets_real_options(
    client: TestClient,
    keys: Keys,
    destination: str,
    cargo: dict[str, Any],
    through: str | None,
    door_days: tuple[float, float],
) -> None:
    options = _quote(client, keys, destination, cargo)
    if through is not None:
        assert all(through in _path(o) for o in options), [_path(o) for o in options]
    fastest = next(o for o in options if "fastest" in o["labels"])
    assert door_days[0] <= fastest["door_to_door_days"] <= door_days[1]
    paths = [tuple(leg["service_id"] or leg["mode"] for leg in o["legs"]) for o in options]
    assert len(paths) == len(set(paths))


def test_los_angeles_gets_a_rail_to_the_coast_and_ocean_option(client: TestClient, keys: Keys) -> None:
    options = _quote(client, keys, "USLAX", BOX)
    assert any(
        [leg["mode"] for leg in o["legs"]][-2:] == ["rail", "sea"] and "NGB" in _path(o) for o in options
    )


def test_dangerous_goods_do_not_fly_the_passenger_belly_to_los_angeles(
    client: TestClient, keys: Keys
) -> None:
    body = {
        "origin": "CNYIB",
        "destination": "LAX_AIR",
        "ready_at": "2027-03-01T06:00:00Z",
        "cargo": {**AIR, "dangerous_goods": True},
        "customs_mode": "9810",
    }
    r = client.post("/v1/quotes", json=body, headers=keys.headers(Role.FORWARDER))
    assert r.status_code == 422
    assert "dangerous goods" in r.json()["detail"]
