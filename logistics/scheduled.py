"""Scheduled logistics jobs; the composition root registers them with APScheduler and passes the sender."""

from __future__ import annotations

from collections.abc import Callable

from kernel.clock import Clock
from kernel.db import Database
from kernel.sealing import SecretBox
from logistics import monitoring, webhook_delivery
from logistics.webhook_delivery import Send

OFFLINE_JOB_ID = "offline-trackers"  # every `XB_SCHEDULER_INTERVAL_SECONDS` of real time
WEBHOOK_JOB_ID = "webhook-deliveries"
WEBHOOK_EVERY_SECONDS = 2.0  # real time: a subscriber hears of a change within about two seconds


def offline_job(db: Database, clock: Clock) -> list[tuple[str, str]]:
    """Raise the offline alarm on trackers that missed their reports, and slip the plans of shipments with no
    tracker (EST milestones, ETA, the no-tracking-data alarm): one transaction."""
    with db.session() as session:
        now = clock.now()
        return monitoring.check_offline(session, now) + monitoring.check_untracked(session, now)


def webhook_job(
    db: Database, clock: Clock, send: Send, box: SecretBox, count: Callable[[str, int], None]
) -> dict[str, int]:
    """Deliver the webhook calls that are due (`box` opens their secrets); `count(outcome, n)` hears how many
    went each way."""
    with db.session() as session:
        counts = webhook_delivery.deliver_due(session, clock.now(), send, box)
    for outcome, n in counts.items():
        if n:
            count(outcome, n)
    return counts
