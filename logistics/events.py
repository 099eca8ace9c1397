"""The append-only waybill event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from logistics.tables import waybill_events


def append(
    session: Session,
    waybill_no: str,
    *,
    kind: str,
    code: str,
    event_time: datetime,
    recorded_time: datetime,
    classifier: str | None = None,
    node_id: str | None = None,
    inferred: bool = False,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one event; returns its id."""
    new_id = session.execute(
        waybill_events.insert()
        .returning(waybill_events.c.id)
        .values(
            waybill_no=waybill_no,
            kind=kind,
            code=code,
            classifier=classifier,
            node_id=node_id,
            event_time=event_time,
            recorded_time=recorded_time,
            inferred=inferred,
            detail=detail,
        )
    ).scalar_one()
    return int(new_id)


def event_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "code": row["code"],
        "classifier": row["classifier"],
        "location": row["node_id"],
        "event_time": rfc3339(row["event_time"]),
        "recorded_time": rfc3339(row["recorded_time"]),
        "inferred": bool(row["inferred"]),
        "superseded_by": row["superseded_by"],
        "detail": row["detail"],
    }


def list_events(
    session: Session, waybill_no: str, after_id: int = 0, limit: int = 500
) -> list[dict[str, Any]]:
    rows = (
        session.execute(
            select(waybill_events)
            .where(waybill_events.c.waybill_no == waybill_no, waybill_events.c.id > after_id)
            .order_by(waybill_events.c.id)
            .limit(limit)
        )
        .mappings()
        .all()
    )
    return [event_json(r) for r in rows]
