"""Scheduled warehouse jobs; the composition root registers them with APScheduler and passes the ports."""

from __future__ import annotations

import logging
from typing import Any

from kernel.clock import Clock
from kernel.db import Database
from warehouse.expiry import run_expiry
from warehouse.ports import TransitTimes
from warehouse.replenishment import suggest_replenishment

log = logging.getLogger(__name__)

REPLENISHMENT_JOB_ID = "warehouse.replenishment"
REPLENISHMENT_EVERY_HOURS = 6  # in service time
EXPIRY_JOB_ID = "warehouse.expired-lots"
EXPIRY_EVERY_HOURS = 1  # in service time: a lot expires at the start of its day


def replenishment_job(db: Database, clock: Clock, transit: TransitTimes) -> list[dict[str, Any]]:
    """Recompute replenishment suggestions for every seller and SKU with sales (one transaction)."""
    with db.session() as session:
        suggestions = suggest_replenishment(session, clock.now(), transit)
    log.info("replenishment: %d suggestion(s)", len(suggestions))
    return suggestions


def expiry_job(db: Database, clock: Clock) -> dict[str, Any]:
    """Move reservations off expired lots (or release them) and quarantine the expired units, committing
    in batches (an interrupted run is finished by the next one)."""
    result = run_expiry(db, clock.now())
    if result["reservations"] or result["quarantined"] or result["deferred_sellers"]:
        log.info(
            "expired lots: %d reservation(s) handled, %d balance(s) quarantined, %d order(s) and %d seller(s)"
            " deferred, %d batch(es)",
            len(result["reservations"]),
            len(result["quarantined"]),
            len(result["deferred"]),
            len(result["deferred_sellers"]),
            result["batches"],
        )
    return result
