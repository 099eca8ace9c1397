"""Scheduled warehouse jobs; the composition root registers them with APScheduler and passes the ports."""

from __future__ import annotations

import logging
from typing import Any

from kernel.clock import Clock
from kernel.db import Database
from warehouse.expiry import handle_expired_lots
from warehouse.handlers import suggest_replenishment
from warehouse.ports import TransitTimes

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
    """Move reservations off expired lots (or release them) and quarantine the expired units."""
    with db.session() as session:
        result = handle_expired_lots(session, clock.now())
    if result["reservations"] or result["quarantined"]:
        log.info(
            "expired lots: %d reservation(s) handled, %d balance(s) quarantined, %d order(s) deferred",
            len(result["reservations"]),
            len(result["quarantined"]),
            len(result["deferred"]),
        )
    return result
