"""Cross-package wiring: what one package's events mean to another. Only the composition root knows both."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.bootstrap import Container
from logistics.ingest import Hook
from logistics.tracking_service import Changes


def ingest_hooks(container: Container) -> list[Hook]:
    hooks: list[Hook] = []
    try:
        from warehouse import inbound  # type: ignore[attr-defined]
    except ImportError:  # the warehouse package has no inbound handler yet
        return hooks
    handler = getattr(inbound, "on_shipment_arrived", None)
    if handler is None:
        return hooks

    def shipment_arrived(session: Session, changes: Changes) -> None:
        if changes.arrived_at_warehouse and changes.status_changed:
            handler(session, changes.waybill_no, changes.arrived_at_warehouse, container.clock.now())

    hooks.append(shipment_arrived)
    return hooks
