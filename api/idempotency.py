"""`Idempotency-Key` on creating POSTs: the same key and body return the first result and create nothing new.

The key row is inserted in the same transaction as the thing it creates, under a unique constraint:
a concurrent duplicate waits on the first transaction (PostgreSQL) and then finds its stored response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.container import Container
from kernel.errors import Conflict, InvalidInput
from kernel.identity import Principal, idempotency_keys

Create = Callable[[Session], tuple[int, dict[str, Any]]]


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class EncodedJSON(JSONResponse):
    """A JSON response whose text is already encoded (the one stored with the Idempotency-Key)."""

    def render(self, content: Any) -> bytes:
        return str(content).encode("utf-8")


def _encode(payload: Any) -> str:
    """The JSON text of a response, as `JSONResponse` writes it (compact, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)


def run(
    container: Container,
    principal: Principal,
    key: str | None,
    scope: str,
    body: Any,
    create: Create,
) -> JSONResponse:
    if not key:
        with container.db.session() as session:
            status, payload = create(session)
        return JSONResponse(payload, status_code=status)
    if len(key) > 200:
        raise InvalidInput("Idempotency-Key is longer than 200 characters")
    request_hash = _hash(body)
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
            session.execute(
                idempotency_keys.update()
                .where(
                    idempotency_keys.c.principal_id == principal.tenant_id,
                    idempotency_keys.c.scope == scope,
                    idempotency_keys.c.key == key,
                )
                .values(status_code=status, response=text)
            )
        return EncodedJSON(text, status_code=status)
    except IntegrityError as exc:
        with container.db.session() as session:
            row = (
                session.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.principal_id == principal.tenant_id,
                        idempotency_keys.c.scope == scope,
                        idempotency_keys.c.key == key,
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise  # the integrity error came from the creation itself
        if row["request_hash"] != request_hash:
            raise InvalidInput("this Idempotency-Key was used before with a different request body") from exc
        if row["status_code"] is None:
            raise Conflict("a request with this Idempotency-Key is still in progress") from exc
        # Stored as sent, encoded once: a replay answers the same bytes.
        response = EncodedJSON(row["response"], status_code=row["status_code"])
        response.headers["Idempotent-Replayed"] = "true"
        return response
