"""The scheduled delivery of the outbox: QUEUED messages to the single window, its receipts back.

Each message is handed over in a transaction of its own that marks it SENT: a crash after the hand-over and
before the commit leaves it QUEUED and it is handed over again, which the single window (both adapters) takes
as the same message under its guid. A `GatewayError` keeps it QUEUED with a growing pause (30 s, doubled per
attempt, at most an hour of service time). Receipts are applied one transaction each and acknowledged to the
gateway after the commit; one naming no message of ours is acknowledged and counted, not retried forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from kernel.clock import Clock
from kernel.db import Database
from kernel.errors import DomainError
from logistics.customs.filing import apply_receipt
from logistics.customs.gateway import GatewayError, Outgoing, SingleWindow
from logistics.customs.tables import customs_messages

CUSTOMS_JOB_ID = "logistics.customs_delivery"
CUSTOMS_EVERY_SECONDS = 2.0
BATCH = 200


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


@dataclass
class DeliveryRun:
    sent: int = 0
    failed: int = 0
    receipts: int = 0
    unmatched: int = 0


def deliver(db: Database, clock: Clock, gateway: SingleWindow) -> DeliveryRun:
    """Hand the due QUEUED messages over in filing order, then apply the receipts waiting."""
    run = DeliveryRun()
    now = clock.now()
    with db.read_session() as session:
        due = (
            session.execute(
                select(customs_messages.c.seq)
                .where(customs_messages.c.status == "QUEUED", customs_messages.c.next_attempt_at <= now)
                .order_by(customs_messages.c.seq)
                .limit(BATCH)
            )
            .scalars()
            .all()
        )
    for seq in due:
        with db.session() as session:
            row = (
                session.execute(
                    select(customs_messages)
                    .where(customs_messages.c.seq == seq, customs_messages.c.status == "QUEUED")
                    .with_for_update(skip_locked=True)
                )
                .mappings()
                .first()
            )
            if row is None:
                continue  # another scheduler run took it, or a receipt came first
            attempts = row["attempts"] + 1
            try:
                gateway.send(Outgoing(row["id"], row["type"], row["xml"].encode("utf-8")))
            except GatewayError as exc:
                run.failed += 1
                session.execute(
                    update(customs_messages)
                    .where(customs_messages.c.seq == seq)
                    .values(
                        attempts=attempts, next_attempt_at=now + backoff(attempts), last_error=str(exc)[:500]
                    )
                )
                continue
            session.execute(
                update(customs_messages)
                .where(customs_messages.c.seq == seq)
                .values(status="SENT", attempts=attempts, sent_at=now, last_error=None)
            )
            run.sent += 1
    for incoming in gateway.receipts():
        try:
            with db.session() as session:
                apply_receipt(session, incoming.xml, clock.now())
            run.receipts += 1
        except DomainError:
            run.unmatched += 1
        gateway.ack(incoming.handle)
    return run
