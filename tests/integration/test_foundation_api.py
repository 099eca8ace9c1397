"""Auth, tenants, keys, problems and idempotency through the HTTP API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kernel.identity import Role
from tests.conftest import Keys


def test_healthz_reports_clock_and_parts(client: TestClient) -> None:
    r = client.get("/healthz")
    body = r.json()
    assert body["database"] == "ok"
    assert body["now"].startswith("2027-03-01T00:00:00")


def test_missing_and_bad_keys_are_401_problems(client: TestClient) -> None:
    r = client.post("/v1/tenants", json={"name": "x", "kind": "seller"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 401
    r = client.post(
        "/v1/tenants", json={"name": "x", "kind": "seller"}, headers={"Authorization": "Bearer xb_nope_x"}
    )
    assert r.status_code == 401


def test_non_admin_cannot_create_tenants(client: TestClient, keys: Keys) -> None:
    r = client.post("/v1/tenants", json={"name": "x", "kind": "seller"}, headers=keys.headers(Role.SELLER))
    assert r.status_code == 403
    assert r.json()["type"].endswith("/forbidden")


def test_tenant_and_key_round_trip(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post("/v1/tenants", json={"name": "Yibin Tea Co", "kind": "seller"}, headers=admin)
    assert r.status_code == 201, r.text
    tenant_id = r.json()["id"]
    r = client.post("/v1/api-keys", json={"tenant_id": tenant_id, "role": "seller"}, headers=admin)
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("xb_")
    # a seller tenant cannot be given an admin key
    r = client.post("/v1/api-keys", json={"tenant_id": tenant_id, "role": "admin"}, headers=admin)
    assert r.status_code == 422


def test_validation_errors_are_problems_with_fields(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post("/v1/tenants", json={"name": "", "kind": "pirate"}, headers=admin)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"name", "kind"} <= fields


def test_malformed_json_is_400_problem(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(
        "/v1/tenants", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "Malformed JSON"


def test_idempotency_key_replays_and_creates_once(client: TestClient, admin: dict[str, str]) -> None:
    headers = {**admin, "Idempotency-Key": "tenant-create-1"}
    body = {"name": "Sanjiang Baijiu", "kind": "seller"}
    first = client.post("/v1/tenants", json=body, headers=headers)
    second = client.post("/v1/tenants", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("idempotent-replayed") == "true"
    other = client.post("/v1/tenants", json={**body, "name": "Other"}, headers=headers)
    assert other.status_code == 422


def test_unknown_route_is_problem(client: TestClient) -> None:
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
