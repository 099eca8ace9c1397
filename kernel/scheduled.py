"""Scheduled kernel jobs; the composition root registers them with APScheduler."""

from __future__ import annotations

import logging

from kernel.clock import Clock
from kernel.db import Database
from kernel.identity import idempotency_cutoff, purge_idempotency_keys

log = logging.getLogger(__name__)

IDEMPOTENCY_PURGE_JOB_ID = "kernel.expired-idempotency-keys"
# In service time. A write with a key purges too; this job empties the table when no such write comes.
IDEMPOTENCY_PURGE_EVERY_HOURS = 1


def idempotency_purge_job(db: Database, clock: Clock, ttl_hours: float) -> int:
    """Delete the idempotency answers older than `ttl_hours` (one transaction); returns how many."""
    with db.session() as session:
        purged = purge_idempotency_keys(session, idempotency_cutoff(clock.now(), ttl_hours))
    if purged:
        log.info("expired idempotency keys: %d purged", purged)
    return purged
