"""The rate table over HTTP: the platform reads it, its admin or network operator replaces it whole
(validated, every error listed, nothing changed on a 422), and the next quote is priced with the rows valid
on its ready_at."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kernel.identity import PLATFORM_TENANT_ID, Role
from routing.rate_table import DEFAULT_SOURCE
from tests.conftest import Keys

LANE = "CKG_RAIL-DUI-rail"
QUOTE: dict[str, Any] = {
    "origin": "CNYIB",
    "destination": "DEDUI",
    "ready_at": "2027-03-01T06:00:00Z",
    "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40GP"},
    "customs_mode": "9810",
}
ROW = {
    "lane": LANE,
    "direction": "forward",
    "equipment": "ALL",
    "unit": "FEU",
    "amount": "150",
    "currency": "USD",
    "valid_from": "2027-01-01",
    "valid_to": "2027-04-01",
    "baf_pct": "20",
    "peak_pct": "10",
    "basis": "published",
    "source": "operator's spring tariff",
}


@pytest.fixture
def network_operator(keys: Keys, admin: dict[str, str]) -> dict[str, str]:
    return keys.headers(Role.NETWORK_OPERATOR, PLATFORM_TENANT_ID)


def _lane_lines(client: TestClient, h: dict[str, str], ready_at: str) -> list[list[dict[str, Any]]]:
    """Per option using the lane: its breakdown lines on that leg."""
    r = client.post("/v1/quotes", json={**QUOTE, "ready_at": ready_at}, headers=h)
    assert r.status_code == 201, r.text
    out = []
    for o in r.json()["options"]:
        for i, leg in enumerate(o["legs"]):
            if leg["service_id"] == LANE:
                out.append([c for c in o["cost"]["breakdown"] if c["leg"] == i])
    return out


def test_a_replaced_table_prices_the_next_quote_and_lapses_after_its_validity(
    client: TestClient, keys: Keys, network_operator: dict[str, str]
) -> None:
    table = client.get("/v1/rates", headers=network_operator).json()
    rows = [r for r in table["rows"] if not (r["lane"] == LANE and r["direction"] == "forward")]
    r = client.put("/v1/rates", headers=network_operator, json={"meta": table["meta"], "rows": [ROW, *rows]})
    assert r.status_code == 200, r.text
    assert client.get("/v1/rates", headers=network_operator).json()["rows"][0] == ROW
    h = keys.headers(Role.FORWARDER)
    priced = _lane_lines(client, h, "2027-03-01T06:00:00Z")
    assert priced  # at 150 USD the lane is on the cheapest path
    for lines in priced:
        codes = {c["code"]: c for c in lines}
        assert Decimal(codes["FRT"]["amount"]) == Decimal("150.00")
        assert Decimal(codes["BAF"]["amount"]) == Decimal("30.00")
        assert Decimal(codes["PSS"]["amount"]) == Decimal("15.00")
        assert codes["FRT"]["source"].endswith("operator's spring tariff")
    # after valid_to no row covers the lane: the network's own rate, and the freight line says so
    lapsed = _lane_lines(client, h, "2027-04-02T06:00:00Z")
    assert lapsed  # the Chongqing-Duisburg train is on every option at its network rate too
    for lines in lapsed:
        frt = next(c for c in lines if c["code"] == "FRT")
        assert frt["source"] == DEFAULT_SOURCE
        assert Decimal(frt["amount"]) != Decimal("150.00")
        assert not {c["code"] for c in lines} & {"BAF", "PSS"}


def test_a_bad_table_is_a_422_listing_every_error_and_changes_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    before = client.get("/v1/rates", headers=admin).json()
    bad = [
        ROW,
        {**ROW, "valid_from": "2027-03-01"},
        {**ROW, "lane": "NOWHERE", "amount": "-5", "currency": "EUR"},
    ]
    r = client.put("/v1/rates", headers=admin, json={"rows": bad})
    assert r.status_code == 422
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in body["errors"]]
    assert sorted(fields) == sorted(
        ["rows[1].valid_from", "rows[2].lane", "rows[2].amount", "rows[2].currency"]
    )
    assert client.get("/v1/rates", headers=admin).json() == before


def test_only_the_platform_reads_or_replaces_the_table(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    assert client.get("/v1/rates", headers=h).status_code == 403
    assert client.put("/v1/rates", headers=h, json={"rows": []}).status_code == 403
