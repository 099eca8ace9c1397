"""Reading waybills: the public view of status, milestones, position, ETA and alarms."""

from __future__ import annotations

import base64
from collections.abc import Collection
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import InvalidInput, NotFound
from kernel.identity import Principal, Role
from logistics import alarm_acks
from logistics.tables import tracker_attachments, waybill_events, waybills
from logistics.tracking.reconcile import STATUSES


def visible(principal: Principal) -> Any:
    if principal.role is Role.ADMIN:
        return True
    return waybills.c.tenant_id == principal.tenant_id


def visible_row(session: Session, principal: Principal, waybill_no: str) -> Any:
    """The waybill's row if the caller may see it (its tenant, or admin); else NotFound."""
    return _row(session, principal, waybill_no)


def _row(session: Session, principal: Principal, waybill_no: str) -> Any:
    row = (
        session.execute(select(waybills).where(waybills.c.waybill_no == waybill_no, visible(principal)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"waybill {waybill_no} does not exist")
    return row


def milestones(session: Session, waybill_no: str) -> list[dict[str, Any]]:
    rows = (
        session.execute(
            select(waybill_events)
            .where(
                waybill_events.c.waybill_no == waybill_no,
                waybill_events.c.kind == "milestone",
                waybill_events.c.superseded_by.is_(None),
            )
            .order_by(waybill_events.c.event_time, waybill_events.c.id)
        )
        .mappings()
        .all()
    )
    return [
        {
            "code": r["code"],
            "classifier": r["classifier"],
            "location": r["node_id"],
            "time": rfc3339(r["event_time"]),
            "recorded_time": rfc3339(r["recorded_time"]),
            "inferred": bool(r["inferred"]),
        }
        for r in rows
    ]


def trackers(session: Session, waybill_no: str) -> list[str]:
    return list(
        session.execute(
            select(tracker_attachments.c.device_id).where(
                and_(
                    tracker_attachments.c.waybill_no == waybill_no,
                    tracker_attachments.c.detached_at.is_(None),
                )
            )
        ).scalars()
    )


def summary(row: Any) -> dict[str, Any]:
    return {
        "waybill_no": row["waybill_no"],
        "status": row["status"],
        "kind": row["kind"],
        "customs_mode": row["customs_mode"],
        "origin": row["origin"],
        "destination": row["destination"],
        "eta": rfc3339(row["eta"]) if row["eta"] else None,
        "planned_arrival": rfc3339(row["planned_arrival"]) if row["planned_arrival"] else None,
        "deliver_by": rfc3339(row["deliver_by"]) if row["deliver_by"] else None,
        "position": row["position"],
        "last_milestone": row["last_milestone"],
        "alarms": [a for a in (row["alarms"] or []) if not a.get("cleared_at")],
        "updated_at": rfc3339(row["updated_at"]),
    }


def summaries(session: Session, waybill_nos: Collection[str]) -> list[dict[str, Any]]:
    """The summaries of the given waybills: what their status topics carry."""
    if not waybill_nos:
        return []
    rows = session.execute(select(waybills).where(waybills.c.waybill_no.in_(list(waybill_nos))))
    return _acknowledged(session, [summary(r) for r in rows.mappings()])


def _acknowledged(session: Session, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The views with each alarm's acknowledgement (`acknowledged`, `assignee`, ...)."""
    marked = alarm_acks.annotate(session, {v["waybill_no"]: v["alarms"] for v in views})
    return [{**v, "alarms": marked[v["waybill_no"]]} for v in views]


def get_waybill(session: Session, principal: Principal, waybill_no: str) -> dict[str, Any]:
    row = _row(session, principal, waybill_no)
    view = summary(row)
    view.update(
        {
            "booking_id": row["booking_id"],
            "itinerary": row["itinerary"],
            "cargo": row["cargo"],
            "milestones": milestones(session, waybill_no),
            "alarms": alarm_acks.annotate(session, {waybill_no: row["alarms"] or []})[waybill_no],
            "trackers": trackers(session, waybill_no),
        }
    )
    return view


def require_visible(session: Session, principal: Principal, waybill_no: str) -> None:
    _row(session, principal, waybill_no)


def _cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def list_waybills(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    destination: str | None = None,
    customs_mode: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first, keyset-paginated by waybill number within creation time."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"unknown status {status}", errors=[{"field": "status", "message": f"one of {STATUSES}"}]
        )
    if not 1 <= limit <= 500:
        raise InvalidInput(
            "limit must be between 1 and 500", errors=[{"field": "limit", "message": "1..500"}]
        )
    query = select(waybills).where(visible(principal))
    if status:
        query = query.where(waybills.c.status == status)
    if destination:
        query = query.where(waybills.c.destination == destination)
    if customs_mode:
        query = query.where(waybills.c.customs_mode == customs_mode)
    if cursor:
        try:
            after = base64.urlsafe_b64decode(cursor.encode()).decode()
        except Exception as exc:
            raise InvalidInput("bad cursor", errors=[{"field": "cursor", "message": "not a cursor"}]) from exc
        query = query.where(waybills.c.waybill_no > after)
    rows = session.execute(query.order_by(waybills.c.waybill_no).limit(limit + 1)).mappings().all()
    items = _acknowledged(session, [summary(r) for r in rows[:limit]])
    nxt = _cursor(rows[limit - 1]["waybill_no"]) if len(rows) > limit else None
    return {"items": items, "next": nxt}
