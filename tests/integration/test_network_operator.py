"""Network-wide changes (disruptions, service edits) belong to the platform's network operator and admin;
a warehouse operator's key runs its warehouses and cannot change the network for every tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.container import Container
from kernel.identity import PLATFORM_TENANT_ID, Role, TenantKind
from logistics.tables import service_overrides
from tests.conftest import Keys

SERVICE = "YIB-MAL-rail"
# A delay far beyond every booking the shared test database holds: it re-plans nothing.
DELAY = {
    "kind": "delay",
    "node": "LOD",
    "hours": 2,
    "reason": "yard works",
    "starts_at": "2040-01-01T00:00:00Z",
    "ends_at": "2040-01-02T00:00:00Z",
}


def _warehouse(client: TestClient, admin: dict[str, str]) -> str:
    code = "W" + uuid.uuid4().hex[:8].upper()
    body = {"code": code, "name": "test warehouse", "country": "DE", "lat": 51.43, "lon": 6.76}
    r = client.post("/v1/warehouses", headers=admin, json=body)
    assert r.status_code == 201, r.text
    return code


@pytest.fixture
def warehouse_operator(client: TestClient, keys: Keys, admin: dict[str, str]) -> dict[str, str]:
    return keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR), [_warehouse(client, admin)])


@pytest.fixture
def network_operator(keys: Keys, admin: dict[str, str]) -> dict[str, str]:
    # `admin` has made the platform tenant, the only one a network operator key is issued to.
    return keys.headers(Role.NETWORK_OPERATOR, PLATFORM_TENANT_ID)


@pytest.fixture
def restore_service(container: Container) -> Iterator[None]:
    yield
    with container.db.session() as s:  # the database is shared by the run: leave the network as it was
        s.execute(service_overrides.delete().where(service_overrides.c.service_id == SERVICE))


def _declared(client: TestClient, headers: dict[str, str]) -> str:
    r = client.post("/v1/disruptions", headers=headers, json=DELAY)
    assert r.status_code == 201, r.text
    assert r.json()["bookings"] == []
    return str(r.json()["id"])


def test_a_warehouse_operator_cannot_declare_a_disruption(
    client: TestClient, warehouse_operator: dict[str, str]
) -> None:
    r = client.post("/v1/disruptions", headers=warehouse_operator, json=DELAY)
    assert r.status_code == 403, r.text
    assert "network_operator" in r.json()["detail"]


def test_a_warehouse_operator_cannot_lift_a_disruption(
    client: TestClient, warehouse_operator: dict[str, str], admin: dict[str, str]
) -> None:
    disruption_id = _declared(client, admin)
    r = client.post(f"/v1/disruptions/{disruption_id}/lift", headers=warehouse_operator)
    assert r.status_code == 403, r.text
    active = client.get("/v1/disruptions", headers=warehouse_operator).json()["items"]
    assert disruption_id in {d["id"] for d in active}
    assert client.post(f"/v1/disruptions/{disruption_id}/lift", headers=admin).status_code == 200


def test_a_warehouse_operator_cannot_edit_a_service(
    client: TestClient, warehouse_operator: dict[str, str], restore_service: None
) -> None:
    body = {"rate_per_feu": 1, "capacity_teu": 1, "reason": "cheaper for me"}
    r = client.patch(f"/v1/network/services/{SERVICE}", headers=warehouse_operator, json=body)
    assert r.status_code == 403, r.text
    services = client.get("/v1/network/services", headers=warehouse_operator).json()
    assert next(s for s in services if s["id"] == SERVICE)["basis"] != "operator"


@pytest.mark.parametrize("role", ["network_operator", "admin"])
def test_the_network_operator_and_admin_declare_and_lift_disruptions(
    client: TestClient, network_operator: dict[str, str], admin: dict[str, str], role: str
) -> None:
    headers = network_operator if role == "network_operator" else admin
    disruption_id = _declared(client, headers)
    r = client.post(f"/v1/disruptions/{disruption_id}/lift", headers=headers)
    assert r.status_code == 200, r.text
    assert disruption_id not in {
        d["id"] for d in client.get("/v1/disruptions", headers=headers).json()["items"]
    }


@pytest.mark.parametrize("role", ["network_operator", "admin"])
def test_the_network_operator_and_admin_edit_a_service(
    client: TestClient,
    network_operator: dict[str, str],
    admin: dict[str, str],
    restore_service: None,
    role: str,
) -> None:
    headers = network_operator if role == "network_operator" else admin
    body = {"capacity_teu": 77, "reason": "an extra wagon set"}
    r = client.patch(f"/v1/network/services/{SERVICE}", headers=headers, json=body)
    assert r.status_code == 200, r.text
    services = client.get("/v1/network/services", headers=headers).json()
    assert next(s for s in services if s["id"] == SERVICE)["basis"] == "operator"


def test_a_network_operator_key_is_the_platform_s_only(
    client: TestClient, keys: Keys, admin: dict[str, str]
) -> None:
    body = {"tenant_id": keys.tenant(TenantKind.OPERATOR), "role": "network_operator"}
    r = client.post("/v1/api-keys", headers=admin, json=body)
    assert r.status_code == 422, r.text
    body = {"tenant_id": PLATFORM_TENANT_ID, "role": "network_operator", "label": "rail desk"}
    r = client.post("/v1/api-keys", headers=admin, json=body)
    assert r.status_code == 201, r.text


def test_a_network_operator_neither_runs_a_warehouse_nor_ships(
    client: TestClient, network_operator: dict[str, str]
) -> None:
    assert client.get("/v1/warehouses", headers=network_operator).status_code == 403
    quote = {"origin": "CNYIB", "destination": "PLLOD", "ready_at": "2027-03-01T06:00:00Z", "cargo": {}}
    assert client.post("/v1/quotes", headers=network_operator, json=quote).status_code == 403


def test_the_demo_seeds_a_network_operator_key_beside_the_warehouse_operator_s(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    from api.seed import seed_demo

    demo = seed_demo(container.db, container.clock, tmp_path / "demo-keys.json")
    assert demo["network"]["role"] == "network_operator"
    assert demo["network"]["tenant_id"] == PLATFORM_TENANT_ID
    network = {"Authorization": f"Bearer {demo['network']['key']}"}
    warehouse = {"Authorization": f"Bearer {demo['operator']['key']}"}
    assert client.post("/v1/disruptions", headers=warehouse, json=DELAY).status_code == 403
    disruption_id = _declared(client, network)
    assert client.post(f"/v1/disruptions/{disruption_id}/lift", headers=network).status_code == 200
