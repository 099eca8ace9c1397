"""Authenticated API keys are remembered for a few seconds: a revoked key is refused once that time is up."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.container import Container
from api.principals import PrincipalCache
from kernel.db import Database
from kernel.identity import Role, api_keys
from tests.conftest import Keys


class Ticks:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _revoke(database: Database, secret: str, container: Container) -> None:
    prefix = secret.split("_", 2)[1]
    with database.session() as s:
        s.execute(
            update(api_keys).where(api_keys.c.prefix == prefix).values(revoked_at=container.clock.now())
        )


def test_a_revoked_key_is_refused_once_the_cache_time_is_up(
    container: Container, database: Database, keys: Keys
) -> None:
    ticks = Ticks()
    container.principal_cache = PrincipalCache(2.0, now=ticks)
    secret = keys.key(Role.SELLER)
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        assert client.get("/v1/orders", headers=headers).status_code == 200
        _revoke(database, secret, container)
        ticks.t += 1.9
        assert client.get("/v1/orders", headers=headers).status_code == 200  # still within the 2 s
        ticks.t += 0.2
        r = client.get("/v1/orders", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        ticks.t += 10
        assert client.get("/v1/orders", headers=headers).status_code == 401  # refusals are never remembered


def test_without_a_cache_time_a_revoked_key_is_refused_at_once(
    container: Container, database: Database, keys: Keys
) -> None:
    container.principal_cache = PrincipalCache(0)
    secret = keys.key(Role.SELLER)
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        assert client.get("/v1/orders", headers=headers).status_code == 200
        _revoke(database, secret, container)
        assert client.get("/v1/orders", headers=headers).status_code == 401


def test_a_wrong_secret_with_a_known_prefix_is_refused_while_the_right_one_is_remembered(
    container: Container, keys: Keys
) -> None:
    container.principal_cache = PrincipalCache(60.0, now=Ticks())
    secret = keys.key(Role.SELLER)
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        assert client.get("/v1/orders", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
        assert client.get("/v1/orders", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        device = keys.key(Role.DEVICE)
        for _ in range(2):  # a device key stays forbidden when it is remembered
            r = client.get("/v1/orders", headers={"Authorization": f"Bearer {device}"})
            assert r.status_code == 403
