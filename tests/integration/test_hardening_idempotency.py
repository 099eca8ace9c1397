"""Idempotency-Key answers: secrets are shown once, never stored, and stored answers expire."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.container import Container
from kernel.clock import FixedClock
from kernel.identity import Role, TenantKind, idempotency_keys
from kernel.scheduled import IDEMPOTENCY_PURGE_JOB_ID
from tests.conftest import Keys


def stored(container: Container, key: str) -> list[str | None]:
    with container.db.session() as session:
        rows = session.execute(select(idempotency_keys.c.response).where(idempotency_keys.c.key == key))
        return [r.response for r in rows]


def test_a_new_api_key_is_shown_once_and_never_stored(
    client: TestClient, container: Container, keys: Keys, admin: dict[str, str]
) -> None:
    tenant_id = keys.tenant(TenantKind.SELLER)
    idem = f"key-{uuid.uuid4().hex}"
    body = {"tenant_id": tenant_id, "role": "seller"}
    first = client.post("/v1/api-keys", json=body, headers={**admin, "Idempotency-Key": idem})
    assert first.status_code == 201, first.text
    secret = first.json()["key"]
    assert client.get("/v1/waybills", headers={"Authorization": f"Bearer {secret}"}).status_code == 200

    replay = client.post("/v1/api-keys", json=body, headers={**admin, "Idempotency-Key": idem})
    assert replay.status_code == 201
    assert replay.json() == {"id": first.json()["id"], "tenant_id": tenant_id, "role": "seller"}
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["secret-withheld"] == "key"
    assert secret not in replay.text
    [response] = stored(container, idem)
    assert response is not None and secret not in response and first.json()["id"] in response


def test_a_device_password_is_shown_once_and_never_stored(
    client: TestClient, container: Container, keys: Keys
) -> None:
    forwarder = keys.headers(Role.FORWARDER)
    idem = f"dev-{uuid.uuid4().hex}"
    body = {"device_id": f"trk-{uuid.uuid4().hex[:12]}", "kind": "container"}
    first = client.post("/v1/devices", json=body, headers={**forwarder, "Idempotency-Key": idem})
    assert first.status_code == 201, first.text
    password = first.json()["password"]

    replay = client.post("/v1/devices", json=body, headers={**forwarder, "Idempotency-Key": idem})
    assert replay.status_code == 201
    assert "password" not in replay.json()
    assert replay.json()["username"] == body["device_id"]
    assert replay.headers["secret-withheld"] == "password"
    assert password not in replay.text
    [response] = stored(container, idem)
    assert response is not None and password not in response


def test_stored_answers_expire_and_are_purged(
    client: TestClient, container: Container, clock: FixedClock, admin: dict[str, str]
) -> None:
    ttl = timedelta(hours=container.settings.idempotency_ttl_hours)
    old, other = f"old-{uuid.uuid4().hex}", f"other-{uuid.uuid4().hex}"
    body = {"name": "Chongqing Hotpot Base", "kind": "seller"}
    first = client.post("/v1/tenants", json=body, headers={**admin, "Idempotency-Key": old})
    client.post("/v1/tenants", json=body, headers={**admin, "Idempotency-Key": other})
    clock.advance(ttl - timedelta(minutes=1))
    replay = client.post("/v1/tenants", json=body, headers={**admin, "Idempotency-Key": old})
    assert replay.json()["id"] == first.json()["id"]

    clock.advance(timedelta(minutes=2))
    again = client.post("/v1/tenants", json=body, headers={**admin, "Idempotency-Key": old})
    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]  # the key counts as unused once its answer expired
    assert "idempotent-replayed" not in again.headers
    assert stored(container, other) == []  # purged by the write with a key
    assert len(stored(container, old)) == 1


def test_the_scheduled_purge_deletes_expired_answers_and_keeps_the_others(
    client: TestClient, container: Container, clock: FixedClock, admin: dict[str, str]
) -> None:
    ttl = timedelta(hours=container.settings.idempotency_ttl_hours)
    old, fresh = f"old-{uuid.uuid4().hex}", f"fresh-{uuid.uuid4().hex}"
    body = {"name": "Yibin Bamboo Works", "kind": "seller"}
    assert client.post("/v1/tenants", json=body, headers={**admin, "Idempotency-Key": old}).status_code == 201
    clock.advance(ttl - timedelta(minutes=1))
    assert (
        client.post("/v1/tenants", json=body, headers={**admin, "Idempotency-Key": fresh}).status_code == 201
    )
    clock.advance(timedelta(minutes=2))  # `old` is now past its time to live, `fresh` is two minutes old
    [job] = [job for job in container.jobs if job.name == IDEMPOTENCY_PURGE_JOB_ID]
    cutoff = clock.now() - ttl
    with container.db.session() as session:
        expired = session.execute(
            select(func.count()).select_from(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)
        ).scalar_one()

    assert job.run() == expired
    assert stored(container, old) == []
    assert len(stored(container, fresh)) == 1
