"""Reads do not queue for SQLite's write lock: GET routes run in a read session (BEGIN DEFERRED), writers keep
BEGIN IMMEDIATE; on PostgreSQL a read session is a READ ONLY transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

from api.app import create_app
from api.bootstrap import build
from api.migrate import upgrade
from kernel.clock import FixedClock
from kernel.db import Database, make_engine
from kernel.identity import Role, api_keys
from kernel.settings import Settings
from tests.conftest import T0, TEST_MQTT_URL, Keys


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A migrated SQLite database of its own, whatever XB_TEST_DATABASE_URL says: the lock is SQLite's."""
    path = tmp_path / "reads.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    yield url, path


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_get_routes_answer_while_another_connection_holds_the_write_lock(
    sqlite_file: tuple[str, Path],
) -> None:
    url, path = sqlite_file
    clock = FixedClock(T0)
    engine = make_engine(url)
    db = Database(engine)
    container = build(Settings(database_url=url, mqtt_url=TEST_MQTT_URL), clock=clock, db=db)
    seller = Keys(db, clock).headers(Role.SELLER)
    try:
        with TestClient(create_app(container), raise_server_exceptions=False) as client:
            other = _hold_write_lock(path)
            try:
                # The key is not cached yet: authenticating it reads the database under the lock too.
                answers = {
                    p: client.get(p, headers=seller) for p in ("/v1/orders", "/v1/inventory", "/v1/inbound")
                }
                assert {p: r.status_code for p, r in answers.items()} == {
                    "/v1/orders": 200,
                    "/v1/inventory": 200,
                    "/v1/inbound": 200,
                }
                assert answers["/v1/orders"].json() == {"items": [], "next": None}
                assert answers["/v1/inbound"].json() == {"items": [], "next": None}
            finally:
                other.rollback()
                other.close()
    finally:
        engine.dispose()


def test_a_read_session_reads_beside_the_lock_a_write_session_still_takes_it(
    sqlite_file: tuple[str, Path],
) -> None:
    url, path = sqlite_file
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_wait(dbapi_conn: Any, _record: Any) -> None:
        # Registered after make_engine's own: fail at once instead of waiting 30 s for the lock.
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    db = Database(engine)
    other = _hold_write_lock(path)
    try:
        with db.read_session() as s:
            assert s.execute(text("SELECT count(*) FROM api_keys")).scalar_one() == 0
        with pytest.raises(OperationalError, match="database is locked"), db.session() as s:
            s.execute(text("SELECT 1"))
    finally:
        other.rollback()
        other.close()
        engine.dispose()


@pytest.mark.postgres
def test_a_read_session_on_postgresql_is_read_only(database: Database, keys: Keys) -> None:
    secret = keys.key(Role.SELLER)
    prefix = secret.split("_", 2)[1]
    with database.read_session() as s:
        assert s.execute(select(api_keys.c.prefix).where(api_keys.c.prefix == prefix)).scalar_one() == prefix
    with pytest.raises(DBAPIError, match="read-only transaction"), database.read_session() as s:
        s.execute(update(api_keys).where(api_keys.c.prefix == prefix).values(revoked_at=None))
    # Writers are untouched: a write session after it commits.
    with database.session() as s:
        s.execute(update(api_keys).where(api_keys.c.prefix == prefix).values(revoked_at=None))
