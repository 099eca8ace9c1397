"""Schemathesis over `/openapi.json` against the application in-process: for an admin key and a forwarder key,
every operation answers generated input without a server error. Bounded (a few examples per operation) and
derandomized, so a run is repeatable and short; run it on PostgreSQL too, where lengths and integer columns
are enforced."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from api.app import create_app
from api.bootstrap import Container
from kernel.identity import Role
from tests.conftest import Keys

EXAMPLES = 10
# /healthz answers 503 by design while the broker is down (the in-process app has no MQTT connection).
NOT_FUZZED = {"/healthz"}


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
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

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
    container: Container, admin: dict[str, str], mode: GenerationMode
) -> None:
    assert _server_errors(container, admin, mode) == []


@MODES
def test_no_server_error_for_a_forwarder(container: Container, keys: Keys, mode: GenerationMode) -> None:
    assert _server_errors(container, keys.headers(Role.FORWARDER), mode) == []
