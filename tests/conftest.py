"""Shared fixtures.

With `XB_TEST_DATABASE_URL` (PostgreSQL) and `XB_TEST_MQTT_URL` (a real broker) set, every test runs against
them; without, tests run on a fresh SQLite file and the embedded broker, and PostgreSQL-only tests are skipped
with a reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import build
from api.container import Container
from api.migrate import upgrade
from kernel.clock import FixedClock
from kernel.db import Database, make_engine
from kernel.identity import Role, TenantKind, create_tenant, ensure_platform_tenant, issue_key
from kernel.settings import Settings

TEST_DB_URL = os.environ.get("XB_TEST_DATABASE_URL")
TEST_MQTT_URL = os.environ.get("XB_TEST_MQTT_URL")
T0 = datetime(2027, 3, 1, tzinfo=UTC)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if TEST_DB_URL and TEST_DB_URL.startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set XB_TEST_DATABASE_URL (.ci/run does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DB_URL:
        return TEST_DB_URL
    path = tmp_path_factory.mktemp("db") / "xborder-test.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    """One migrated database per test run; tests isolate themselves with unique ids."""
    engine = make_engine(database_url)
    upgrade(database_url)
    db = Database(engine)
    yield db
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, mqtt_url=TEST_MQTT_URL)


@pytest.fixture
def container(settings: Settings, database: Database, clock: FixedClock) -> Container:
    return build(settings, clock=clock, db=database)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as c:
        yield c


class Keys:
    """Makes tenants and API keys for a test."""

    def __init__(self, db: Database, clock: FixedClock) -> None:
        self.db = db
        self.clock = clock

    def tenant(self, kind: TenantKind, name: str = "test tenant") -> str:
        with self.db.session() as s:
            return str(create_tenant(s, name, kind, self.clock.now())["id"])

    def key(self, role: Role, tenant_id: str | None = None, warehouses: list[str] | None = None) -> str:
        with self.db.session() as s:
            if tenant_id is None:
                if role in (Role.ADMIN, Role.DEVICE):
                    tenant_id = ensure_platform_tenant(s, self.clock.now())
                else:
                    tenant_id = str(
                        create_tenant(s, f"{role.value} co", TenantKind(role.value), self.clock.now())["id"]
                    )
            _, secret = issue_key(s, tenant_id, role, self.clock.now(), warehouses)
            return secret

    def headers(
        self, role: Role, tenant_id: str | None = None, warehouses: list[str] | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(role, tenant_id, warehouses)}"}


@pytest.fixture
def keys(database: Database, clock: FixedClock) -> Keys:
    return Keys(database, clock)


@pytest.fixture
def admin(keys: Keys) -> dict[str, str]:
    return keys.headers(Role.ADMIN)


@pytest.fixture(scope="session")
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="xborder-test-") as d:
        yield Path(d)
