"""API keys are revoked over HTTP and from the CLI, and an operator key names only warehouses that exist."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.cli import main
from api.container import Container
from kernel.identity import Role, TenantKind, api_keys
from tests.conftest import Keys


def _issued(
    client: TestClient, admin: dict[str, str], tenant_id: str, role: str = "seller"
) -> tuple[str, str]:
    r = client.post("/v1/api-keys", headers=admin, json={"tenant_id": tenant_id, "role": role})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["key"]


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _warehouse(client: TestClient, admin: dict[str, str]) -> str:
    code = "W" + uuid.uuid4().hex[:8].upper()
    body = {"code": code, "name": "test warehouse", "country": "DE", "lat": 51.43, "lon": 6.76}
    assert client.post("/v1/warehouses", headers=admin, json=body).status_code == 201
    return code


def test_admin_revokes_a_key_and_it_stops_working_at_once_an_unknown_one_is_404(
    client: TestClient, keys: Keys, admin: dict[str, str]
) -> None:
    key_id, secret = _issued(client, admin, keys.tenant(TenantKind.SELLER))
    assert client.get("/v1/skus", headers=_bearer(secret)).status_code == 200  # now in the auth cache
    r = client.delete(f"/v1/api-keys/{key_id}", headers=admin)
    assert r.status_code == 204 and r.content == b""
    assert client.get("/v1/skus", headers=_bearer(secret)).status_code == 401
    assert client.delete(f"/v1/api-keys/{key_id}", headers=admin).status_code == 204  # again: still revoked
    r = client.delete("/v1/api-keys/key_nope", headers=admin)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_tenant_revokes_its_own_keys_but_not_another_tenant_s(
    client: TestClient, keys: Keys, admin: dict[str, str]
) -> None:
    mine, other = keys.tenant(TenantKind.SELLER), keys.tenant(TenantKind.SELLER, "someone else")
    me = keys.headers(Role.SELLER, mine)
    spare_id, spare = _issued(client, admin, mine)
    theirs_id, theirs = _issued(client, admin, other)
    assert client.delete(f"/v1/api-keys/{theirs_id}", headers=me).status_code == 404
    assert client.get("/v1/skus", headers=_bearer(theirs)).status_code == 200
    assert client.delete(f"/v1/api-keys/{spare_id}", headers=me).status_code == 204
    assert client.get("/v1/skus", headers=_bearer(spare)).status_code == 401
    assert client.get("/v1/skus", headers=me).status_code == 200


def test_an_operator_key_for_an_unknown_warehouse_is_422(
    client: TestClient, keys: Keys, admin: dict[str, str]
) -> None:
    tenant_id, real = keys.tenant(TenantKind.OPERATOR), _warehouse(client, admin)
    body = {"tenant_id": tenant_id, "role": "operator", "warehouses": [real, "NOPE1", "NOPE2"]}
    r = client.post("/v1/api-keys", headers=admin, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "warehouses"
    assert "NOPE1, NOPE2" in r.json()["errors"][0]["message"] and real not in r.json()["detail"]
    body = {"tenant_id": tenant_id, "role": "operator", "warehouses": [real]}
    assert client.post("/v1/api-keys", headers=admin, json=body).status_code == 201


def test_the_cli_lists_and_revokes_keys(
    client: TestClient,
    keys: Keys,
    admin: dict[str, str],
    container: Container,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XB_DATABASE_URL", database_url)
    tenant_id = keys.tenant(TenantKind.FORWARDER)
    key_id, secret = _issued(client, admin, tenant_id, "forwarder")
    assert main(["keys", "list", "--tenant", tenant_id]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [[key_id, tenant_id, "forwarder"]]
    assert secret not in "".join(listed)
    assert main(["keys", "revoke", key_id]) == 0
    with container.db.session() as s:
        assert s.execute(select(api_keys.c.revoked_at).where(api_keys.c.id == key_id)).scalar() is not None
    capsys.readouterr()
    assert main(["keys", "list", "--tenant", tenant_id]) == 0
    assert capsys.readouterr().out == ""
    assert main(["keys", "list", "--tenant", tenant_id, "--all"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", "key_nope"]) == 1
