"""Scheduled warehouse jobs; the composition root registers them with APScheduler and passes the ports."""

from __future__ import annotations

import logging
from typing import Any

from kernel.clock import Clock
from kernel.db import Database
from warehouse.handlers import suggest_replenishment
from warehouse.ports import TransitTimes

log = logging.getLogger(__name__)

REPLENISHMENT_JOB_ID = "warehouse.replenishment"
REPLENISHMENT_EVERY_HOURS = 6  # in service time


def replenishment_job(db: Database, clock: Clock, transit: TransitTimes) -> list[dict[str, Any]]:
    """Recompute replenishment suggestions for every seller and SKU with sales (one transaction)."""
    with db.session() as session:
        suggestions = suggest_replenishment(session, clock.now(), transit)
    log.info("replenishment: %d suggestion(s)", len(suggestions))
    return suggestions
