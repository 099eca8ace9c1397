"""Schemathesis over `/openapi.json` against the application in-process: for an admin key and a forwarder key,
every operation answers generated input, valid and invalid, without a server error and as documented (status,
content type, schema; problems included). Bounded (ten examples per operation and mode) and derandomized on a
fresh database, so a run is repeatable and short; run on PostgreSQL too, where lengths and integers are
enforced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine

from api.app import create_app
from api.bootstrap import build
from api.container import Container
from api.migrate import upgrade
from kernel.clock import FixedClock
from kernel.db import Database, make_engine, normalise_url
from kernel.identity import Role
from kernel.settings import Settings
from tests.conftest import T0, TEST_MQTT_URL, Keys

EXAMPLES = 10
# No server error, and every answer (problems included) has a documented status, content type and schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# /healthz answers 503 by design while the broker is down (the in-process app has no MQTT connection).
NOT_FUZZED = {"/healthz"}


@pytest.fixture(scope="module")
def fuzz_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A database of its own, made afresh for each run: what the fuzzing creates (disruptions that suspend
    services, edited rates) must reach neither the other tests nor the next run."""
    if database_url.startswith("postgres"):
        server, _, name = database_url.partition("?")[0].rpartition("/")
        url = f"{server}/{name}_fuzz"
        with _maintenance(server) as run:
            run(f'DROP DATABASE IF EXISTS "{name}_fuzz" WITH (FORCE)')
            run(f'CREATE DATABASE "{name}_fuzz"')
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'fuzz.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield Database(engine)
    engine.dispose()
    if database_url.startswith("postgres"):
        with _maintenance(server) as run:
            run(f'DROP DATABASE IF EXISTS "{name}_fuzz" WITH (FORCE)')


class _maintenance:
    """Statements run outside a transaction on the server's `postgres` database (CREATE DATABASE needs it)."""

    def __init__(self, server: str) -> None:
        self.engine = create_engine(normalise_url(f"{server}/postgres"), isolation_level="AUTOCOMMIT")

    def __enter__(self) -> Any:
        self.connection = self.engine.connect()
        return self.connection.exec_driver_sql

    def __exit__(self, *_exc: object) -> None:
        self.connection.close()
        self.engine.dispose()


@pytest.fixture
def fuzz_container(fuzz_database: Database) -> Container:
    url = str(fuzz_database.engine.url.render_as_string(hide_password=False))
    return build(Settings(database_url=url, mqtt_url=TEST_MQTT_URL), clock=FixedClock(T0), db=fuzz_database)


@pytest.fixture
def fuzz_keys(fuzz_database: Database) -> Keys:
    return Keys(fuzz_database, FixedClock(T0))


FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _described(exc: BaseException) -> str:
    """What failed, down to the responses: Hypothesis wraps them in groups and in flakiness reports."""
    parts = [str(exc)]
    if isinstance(exc, BaseExceptionGroup):
        parts += [_described(e) for e in exc.exceptions]
    if exc.__cause__ is not None:
        parts.append(_described(exc.__cause__))
    return "\n".join(parts)


def _server_errors(container: Container, headers: dict[str, str], mode: GenerationMode) -> list[str]:
    """Fuzzes every operation of the OpenAPI document; the operations that failed, with how."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container))
    failed = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation the document describes wrongly fails here
        operation = result.ok()
        if operation.path in NOT_FUZZED:
            continue

        @FUZZ
        @given(case=operation.as_strategy(mode))
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:
            # An operation without parameters or body has no input that breaks its schema.
            assert mode is GenerationMode.NEGATIVE, operation.path
        # Each operation's failure is collected, so that one run reports all of them.
        except (Exception, BaseExceptionGroup) as exc:
            failed.append(f"{operation.method.upper()} {operation.path}: {_described(exc)[:3000]}")
    return failed


MODES = pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)


@MODES
def test_no_server_error_for_an_admin(
    fuzz_container: Container, fuzz_keys: Keys, mode: GenerationMode
) -> None:
    failed = _server_errors(fuzz_container, fuzz_keys.headers(Role.ADMIN), mode)
    assert not failed, "\n\n".join(failed)


@MODES
def test_no_server_error_for_a_forwarder(
    fuzz_container: Container, fuzz_keys: Keys, mode: GenerationMode
) -> None:
    failed = _server_errors(fuzz_container, fuzz_keys.headers(Role.FORWARDER), mode)
    assert not failed, "\n\n".join(failed)
