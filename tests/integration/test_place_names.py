"""Answers name the places their node ids stand for: `<field>_name` and `<field>_locode` beside `origin`,
`destination` and `location`, whose values (the network's node ids) stay as they were."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kernel.identity import Role
from tests.conftest import Keys

QUOTE = {
    "origin": "CNYIB",
    "destination": "PLLOD",
    "ready_at": "2027-03-01T06:00:00Z",
    "cargo": {"weight_kg": 8000, "volume_m3": 30, "equipment": "40HC"},
    "customs_mode": "9810",
}


def test_quote_legs_and_waybill_milestones_name_their_places(client: TestClient, keys: Keys) -> None:
    fwd = keys.headers(Role.FORWARDER)
    quote = client.post("/v1/quotes", json=QUOTE, headers=fwd).json()
    nodes = {n["id"]: n for n in client.get("/v1/network/nodes", headers=fwd).json()}
    option = quote["options"][0]
    first = option["legs"][0]
    assert first["origin"] == "YIB"  # the node id, as before
    assert (first["origin_name"], first["origin_locode"]) == (nodes["YIB"]["name"], "CNYIB")
    for leg in option["legs"]:
        for end in ("origin", "destination"):
            node = nodes[leg[end]]
            assert leg[f"{end}_name"] == node["name"]
            assert leg[f"{end}_locode"] == node["unlocode"]
    again = client.get(f"/v1/quotes/{quote['id']}", headers=fwd).json()
    assert again["options"][0]["legs"][0]["origin_locode"] == "CNYIB"
    booking = client.post(
        "/v1/bookings", headers=fwd, json={"quote_id": quote["id"], "option_id": option["id"]}
    ).json()
    waybill = client.get(f"/v1/waybills/{booking['waybill_no']}", headers=fwd).json()
    located = [m for m in waybill["milestones"] if m.get("location") in nodes]
    assert located
    for m in located:
        assert m["location_name"] == nodes[m["location"]]["name"]
        assert m["location_locode"] == nodes[m["location"]]["unlocode"]
    listed = client.get("/v1/waybills", headers=fwd).json()["items"]
    assert listed and all("items" not in w for w in listed)
