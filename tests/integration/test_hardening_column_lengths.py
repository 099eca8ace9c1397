"""Input longer than its column is a 422 at the edge, never a 500 from PostgreSQL (SQLite enforces none)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kernel.identity import Role, TenantKind
from tests.conftest import Keys


def _fields(r: Any) -> list[str]:
    return [e["field"] for e in r.json()["errors"]]


def test_a_long_api_key_label_or_tenant_id_is_422(
    client: TestClient, keys: Keys, admin: dict[str, str]
) -> None:
    tenant_id = keys.tenant(TenantKind.SELLER)
    r = client.post(
        "/v1/api-keys", json={"tenant_id": tenant_id, "role": "seller", "label": "L" * 201}, headers=admin
    )
    assert r.status_code == 422, r.text
    assert _fields(r) == ["label"]
    ok = client.post(
        "/v1/api-keys", json={"tenant_id": tenant_id, "role": "seller", "label": "L" * 200}, headers=admin
    )
    assert ok.status_code == 201, ok.text
    r = client.post("/v1/api-keys", json={"tenant_id": "t" * 41, "role": "seller"}, headers=admin)
    assert r.status_code == 422 and _fields(r) == ["tenant_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quote_id": "q" * 41, "option_id": "opt_1"}, "quote_id"),
        ({"quote_id": "qt_1", "option_id": "o" * 81}, "option_id"),
    ],
)
def test_long_booking_ids_are_422(client: TestClient, keys: Keys, body: dict[str, str], field: str) -> None:
    r = client.post("/v1/bookings", json=body, headers=keys.headers(Role.FORWARDER))
    assert r.status_code == 422, r.text
    assert _fields(r) == [field]


def test_a_long_quote_place_is_422(client: TestClient, keys: Keys) -> None:
    quote = {
        "origin": "X" * 41,
        "destination": "DEDUI",
        "ready_at": "2027-03-01T06:00:00Z",
        "cargo": {"weight_kg": 1000, "volume_m3": 5, "equipment": "40HC"},
        "customs_mode": "9810",
    }
    r = client.post("/v1/quotes", json=quote, headers=keys.headers(Role.FORWARDER))
    assert r.status_code == 422, r.text
    assert all(f.startswith("origin") for f in _fields(r))


@pytest.mark.parametrize(
    ("field", "length"), [("service_id", 201), ("departure_id", 241), ("corridor", 201), ("node", 41)]
)
def test_long_disruption_targets_are_422(
    client: TestClient, admin: dict[str, str], field: str, length: int
) -> None:
    # Disruptions change the network for every tenant: admin's or the platform network operator's to declare.
    body = {"kind": "suspend", "reason": "test", field: "x" * length}
    r = client.post("/v1/disruptions", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert _fields(r) == [field]


def test_a_webhook_url_longer_than_its_column_is_422(client: TestClient, keys: Keys) -> None:
    # 400 characters of input, 2,400 once percent-encoded as the URL is stored.
    url = "https://hooks.example.com/" + "é" * 400
    body = {"url": url, "events": ["*"], "secret": "s" * 16}
    r = client.post("/v1/webhooks", json=body, headers=keys.headers(Role.FORWARDER))
    assert r.status_code == 422, r.text
    assert _fields(r) == ["url"]
