"""`Idempotency-Key` on creating POSTs: the same key and body return the first result and create nothing new.

The key row is inserted in the same transaction as the thing it creates, under a unique constraint:
a concurrent duplicate waits on the first transaction (PostgreSQL) and then finds its stored response.

Secrets are shown once. An endpoint that answers with a secret (a new API key, a device's broker password)
names its field in `secrets`: the first answer carries it, the stored answer never does, and a replay answers
the same status and body without that field, with `Idempotent-Replayed: true` and `Secret-Withheld: <field>`.

Stored answers expire after `XB_IDEMPOTENCY_TTL_HOURS` (24 h) of the service clock: an expired key counts
as unused, and expired rows are purged before each write that carries a key (an index range probe on
`created_at` when there is nothing to purge) and every hour of service time by a scheduled job
(`kernel.scheduled`), so that they go even when no such write comes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.container import Container
from kernel.errors import ConcurrentChange, InvalidInput
from kernel.identity import Principal, idempotency_cutoff, idempotency_keys, purge_idempotency_keys

log = logging.getLogger(__name__)

Create = Callable[[Session], tuple[int, dict[str, Any]]]
REPLAYED = "Idempotent-Replayed"
SECRET_WITHHELD = "Secret-Withheld"


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class EncodedJSON(JSONResponse):
    """A JSON response whose text is already encoded (the one stored with the Idempotency-Key)."""

    def render(self, content: Any) -> bytes:
        return str(content).encode("utf-8")


def _encode(payload: Any) -> str:
    """The JSON text of a response, as `JSONResponse` writes it (compact, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)


def expiry_cutoff(container: Container) -> datetime:
    """Answers stored before this moment have expired."""
    return idempotency_cutoff(container.clock.now(), container.settings.idempotency_ttl_hours)


def purge_expired(container: Container) -> int:
    """Delete the expired idempotency answers before a write with a key; returns how many (the scheduled
    `kernel.scheduled.idempotency_purge_job` does the same when no such write comes)."""
    with container.db.session() as session:
        return purge_idempotency_keys(session, expiry_cutoff(container))


def run(
    container: Container,
    principal: Principal,
    key: str | None,
    scope: str,
    body: Any,
    create: Create,
    *,
    secrets: tuple[str, ...] = (),
) -> JSONResponse:
    """Create once per (tenant, scope, key); `secrets` name the answer's fields that are never stored."""
    if not key:
        with container.db.session() as session:
            status, payload = create(session)
        return JSONResponse(payload, status_code=status)
    if len(key) > 200:
        raise InvalidInput("Idempotency-Key is longer than 200 characters")
    try:
        purge_expired(container)
    except Exception:  # noqa: BLE001 - a failed purge must not fail the request; the next write retries
        log.warning("could not purge expired idempotency keys", exc_info=True)
    return _run_once(container, principal, key, scope, _hash(body), create, secrets, retried=False)


def _run_once(
    container: Container,
    principal: Principal,
    key: str,
    scope: str,
    request_hash: str,
    create: Create,
    secrets: tuple[str, ...],
    *,
    retried: bool,
) -> JSONResponse:
    this_key = (
        (idempotency_keys.c.principal_id == principal.tenant_id)
        & (idempotency_keys.c.scope == scope)
        & (idempotency_keys.c.key == key)
    )
    try:
        with container.db.session() as session:
            session.execute(
                idempotency_keys.insert().values(
                    principal_id=principal.tenant_id,
                    key=key,
                    scope=scope,
                    request_hash=request_hash,
                    created_at=container.clock.now(),
                )
            )
            session.flush()
            status, payload = create(session)
            text = _encode(payload)
            stored = _encode({k: v for k, v in payload.items() if k not in secrets}) if secrets else text
            session.execute(
                idempotency_keys.update().where(this_key).values(status_code=status, response=stored)
            )
        return EncodedJSON(text, status_code=status)
    except IntegrityError as exc:
        with container.db.session() as session:
            row = session.execute(select(idempotency_keys).where(this_key)).mappings().first()
            if row is not None and row["created_at"] < expiry_cutoff(container) and not retried:
                # Expired but not purged yet: the key counts as unused.
                session.execute(idempotency_keys.delete().where(idempotency_keys.c.id == row["id"]))
                row = None
                expired = True
            else:
                expired = False
        if expired:
            return _run_once(container, principal, key, scope, request_hash, create, secrets, retried=True)
        if row is None:
            raise  # the integrity error came from the creation itself
        if row["request_hash"] != request_hash:
            raise InvalidInput("this Idempotency-Key was used before with a different request body") from exc
        if row["status_code"] is None:
            raise ConcurrentChange("a request with this Idempotency-Key is still in progress") from exc
        # Stored as sent (less its secrets), encoded once: every replay answers the same bytes.
        response = EncodedJSON(row["response"], status_code=row["status_code"])
        response.headers[REPLAYED] = "true"
        withheld = [name for name in secrets if 200 <= row["status_code"] < 300]
        if withheld:
            response.headers[SECRET_WITHHELD] = ", ".join(withheld)
        return response
