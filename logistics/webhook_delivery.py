"""Webhook deliveries from the durable outbox: signed, retried with exponential backoff."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from logistics.tables import webhook_outbox, webhooks

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
Send = Callable[[str, bytes, dict[str, str]], int]


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def deliver_due(session: Session, now: datetime, send: Send, limit: int = 50) -> dict[str, int]:
    """Send due deliveries; a 2xx marks one delivered, anything else schedules a retry."""
    query = (
        select(webhook_outbox, webhooks.c.url, webhooks.c.secret)
        .join(webhooks, webhooks.c.id == webhook_outbox.c.webhook_id)
        .where(
            webhook_outbox.c.delivered_at.is_(None),
            webhook_outbox.c.next_attempt_at <= now,
            webhook_outbox.c.attempts < MAX_ATTEMPTS,
        )
        .order_by(webhook_outbox.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=webhook_outbox)
    counts = {"delivered": 0, "failed": 0}
    for row in session.execute(query).mappings().all():
        body = row["body"].encode()
        headers = {
            "Content-Type": "application/json",
            "X-Xborder-Signature": signature(row["secret"], body),
            "X-Xborder-Event": row["event"],
            "X-Xborder-Delivery": str(row["id"]),
        }
        error: str | None = None
        try:
            status = send(row["url"], body, headers)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except Exception as exc:  # noqa: BLE001 - any failure is a retry
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = row["attempts"] + 1
        if error is None:
            session.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.id == row["id"])
                .values(attempts=attempts, delivered_at=now)
            )
            counts["delivered"] += 1
        else:
            session.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.id == row["id"])
                .values(attempts=attempts, last_error=error, next_attempt_at=now + backoff(attempts))
            )
            counts["failed"] += 1
    return counts


def httpx_sender(timeout: float = 5.0) -> Send:
    import httpx

    client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        return client.post(url, content=body, headers=headers).status_code

    return send
