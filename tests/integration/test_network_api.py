"""GET /v1/network/* through the HTTP API, and the `xborder network` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kernel.identity import Role
from tests.conftest import Keys


def test_nodes_need_a_key_and_list_the_reference_network(client: TestClient, keys: Keys) -> None:
    assert client.get("/v1/network/nodes").status_code == 401
    r = client.get("/v1/network/nodes", headers=keys.headers(Role.SELLER))
    assert r.status_code == 200
    nodes = {n["id"]: n for n in r.json()}
    assert len(nodes) == 60
    assert nodes["YIB"]["unlocode"] == "CNYIB" and nodes["YIB"]["kind"] == "river_port"
    assert {"lat", "lon", "country", "name", "kinds"} <= set(nodes["YIB"])
    seaports = client.get("/v1/network/nodes?kind=seaport", headers=keys.headers(Role.FORWARDER)).json()
    assert seaports and all("seaport" in n["kinds"] for n in seaports)


def test_services_with_filters_basis_and_sources(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    rail = client.get("/v1/network/services?mode=rail&corridor=rong-ou", headers=h).json()
    assert {s["id"] for s in rail} == {"CDU_RAIL-LOD-rail", "CDU_RAIL-LOD-rail-rev"}
    lodz = next(s for s in rail if s["id"] == "CDU_RAIL-LOD-rail")
    assert lodz["basis"] == "published"
    assert lodz["legs"][0] == {"origin": "CDU_RAIL", "destination": "AKL", "mode": "rail"}
    assert [leg["destination"] for leg in lodz["legs"]][-1] == "LOD"
    assert lodz["departures_per_week"] == 3
    assert any(src["id"] == "S01" and src["url"] for src in lodz["sources"])
    r = client.get("/v1/network/services?mode=hovercraft", headers=h)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


def test_departures_of_a_service(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.OPERATOR)
    deps = client.get("/v1/network/services/SHA-RTM-sea/departures?limit=5", headers=h).json()
    assert len(deps) == 5
    assert all(d["service_id"] == "SHA-RTM-sea" and d["departure"] >= "2027-03-01" for d in deps)
    assert client.get("/v1/network/services/NOPE/departures", headers=h).status_code == 404


def test_cli_validate_export_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["network", "validate"]) == 0
    assert "60 nodes" in capsys.readouterr().out
    assert main(["network", "export", "net.json"]) == 0
    data = json.loads((tmp_path / "net.json").read_text())
    assert main(["network", "import", "net.json"]) == 0
    assert (tmp_path / "var" / "network.json").exists()
    data["legs"][0]["transit_time"]["min"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["network", "validate", "bad.json"]) == 1
    err = capsys.readouterr().err
    assert "transit time must be positive" in err


def test_the_options_a_quote_stores_have_the_contract_shape() -> None:
    from datetime import UTC, datetime

    from logistics.itinerary import option_json
    from routing.network import load_reference_network
    from routing.planner import Cargo, QuoteRequest, plan
    from routing.timetable import expand

    net = load_reference_network()
    t0 = datetime(2027, 3, 1, tzinfo=UTC)
    req = QuoteRequest("CNYIB", "DEDUI", t0, None, Cargo(12000, 60, "40HC"), "9810")
    body = option_json(plan(net, expand(net, t0, 8), req)[0])
    assert {"id", "legs", "cost", "transit_hours", "co2e_kg", "labels"} <= set(body)
    assert body["cost"]["currency"] == "USD" and body["cost"]["amount"].count(".") == 1
    leg = body["legs"][0]
    assert {"mode", "origin", "destination", "departure", "arrival", "service_id", "corridor"} <= set(leg)
    assert leg["departure"].endswith("Z")
    json.dumps(body)  # plain JSON
