"""Webhook deliveries from the durable outbox: signed, retried with exponential backoff.

Each delivery carries two signatures of the same body under the subscription's secret:
`X-Xborder-Signature: sha256=<hex HMAC of the body>` (the contract's) and
`X-Xborder-Timestamped-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">` (as Stripe and DCSA sign),
whose time lets a receiver refuse a replayed call (README: reject a `t` more than five minutes away from its
own clock). `t` is wall-clock time, not the service clock, which a demo may run faster.

A target the outbound policy refuses (`kernel.outbound`: it resolves to an internal address) is not retried:
the delivery is closed as failed with the reason in `last_error`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.outbound import Lookup, TargetPolicy, TargetRefused, system_lookup
from kernel.sealing import SealError, SecretBox
from logistics.tables import webhook_outbox, webhooks

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
Send = Callable[[str, bytes, dict[str, str]], int]
SIGNATURE_HEADER = "X-Xborder-Signature"
TIMESTAMPED_SIGNATURE_HEADER = "X-Xborder-Timestamped-Signature"


def signature(secret: str, body: bytes) -> str:
    """The contract's signature: `sha256=<hex HMAC-SHA256 of the body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def timestamped_signature(secret: str, body: bytes, unix_time: int) -> str:
    """`t=<unix_time>,v1=<hex HMAC-SHA256 of "<unix_time>.<body>">`: the time is signed with the body."""
    signed = str(unix_time).encode() + b"." + body
    return f"t={unix_time},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def deliver_due(
    session: Session,
    now: datetime,
    send: Send,
    box: SecretBox,
    limit: int = 50,
    wall_time: Callable[[], float] = time.time,
) -> dict[str, int]:
    """Send due deliveries; a 2xx marks one delivered, a refused target closes it, anything else retries."""
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
        error: str | None = None
        attempts = row["attempts"] + 1
        try:
            secret = box.open(row["secret"])
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(secret, body),
                TIMESTAMPED_SIGNATURE_HEADER: timestamped_signature(secret, body, int(wall_time())),
                "X-Xborder-Event": row["event"],
                "X-Xborder-Delivery": str(row["id"]),
            }
            status = send(row["url"], body, headers)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except TargetRefused as exc:
            error = f"refused: {exc}"[:500]
            attempts = MAX_ATTEMPTS  # the target will not become acceptable by waiting
        except SealError as exc:
            error = f"the webhook's secret cannot be opened: {exc}"[:500]
        except Exception as exc:  # noqa: BLE001 - any failure is a retry
            error = f"{type(exc).__name__}: {exc}"[:500]
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


def httpx_sender(policy: TargetPolicy, timeout: float = 5.0, lookup: Lookup = system_lookup) -> Send:
    """POST over HTTP(S) to an address `policy` accepts, resolved once and connected to as checked."""
    import httpx

    # No kept-alive connections: the pool is keyed by the address connected to, so a connection opened for
    # one host name (its TLS server name checked) would otherwise carry another's call to the same address.
    # No redirects either: the target of one would not have been checked.
    client = httpx.Client(
        timeout=timeout, follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0)
    )

    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        target = httpx.URL(url)
        addresses = policy.resolve(url, lookup)
        # Connect to the checked address, never to a second lookup's answer; the Host header and, for
        # HTTPS, the TLS server name (SNI and certificate check) stay the URL's host.
        host_header = {"Host": target.netloc.decode("ascii")}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        failure: httpx.ConnectError | None = None
        for address in addresses:
            try:
                response = client.post(
                    target.copy_with(host=str(address)),
                    content=body,
                    headers={**headers, **host_header},
                    extensions=extensions,
                )
                return response.status_code
            except httpx.ConnectError as exc:
                failure = exc
        raise failure or OSError(f"no address to connect to for {target.host}")

    return send
