"""`xborder replay`: re-derive a waybill's milestones and status from its stored raw readings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339, utc
from logistics import tracking_service, tracking_store
from logistics.tables import waybill_events, waybills
from logistics.tracking.derive import derive
from logistics.tracking.rules import DEFAULT_RULES, TrackingRules

PEOPLES_STATUSES = ("BOOKED", "EXCEPTION", "CANCELLED")  # set by booking and by people, not by milestones


def replay_waybill(
    session: Session,
    waybill_no: str,
    now: datetime,
    *,
    check_only: bool = False,
    rules: TrackingRules = DEFAULT_RULES,
) -> dict[str, Any]:
    """Compare a derivation from the stored readings with what is stored; correct it unless checking."""
    row = session.execute(select(waybills).where(waybills.c.waybill_no == waybill_no)).mappings().first()
    if row is None:
        return {"waybill_no": waybill_no, "same": False, "error": "no such waybill"}
    plan = tracking_store.track_plan(row)
    track = derive(plan, tracking_store.load_readings(session, waybill_no), rules=rules)
    stored = sorted(
        (r.code, r.node_id, rfc3339(utc(r.event_time)), bool(r.inferred))
        for r in session.execute(
            select(waybill_events).where(
                waybill_events.c.waybill_no == waybill_no,
                waybill_events.c.kind == "milestone",
                waybill_events.c.classifier == "ACT",
                waybill_events.c.superseded_by.is_(None),
            )
        )
    )
    seen: set[tuple[str, str]] = set()
    replayed = []
    for m in track.milestones:
        if m.classifier == "ACT" and (m.code, m.node_id) not in seen:
            seen.add((m.code, m.node_id))
            replayed.append((m.code, m.node_id, rfc3339(m.event_time), m.inferred))
    replayed.sort()
    people_set = row["status"] in ("EXCEPTION", "CANCELLED")
    # The status history (changes derived from milestones, at their event times); people's statuses aside.
    history_stored = [
        (r.code, rfc3339(utc(r.event_time)))
        for r in session.execute(
            select(waybill_events)
            .where(
                waybill_events.c.waybill_no == waybill_no,
                waybill_events.c.kind == "status",
                waybill_events.c.code.not_in(PEOPLES_STATUSES),
                waybill_events.c.superseded_by.is_(None),
            )
            .order_by(waybill_events.c.event_time, waybill_events.c.id)
        )
    ]
    history_replayed = [(s, rfc3339(at)) for s, at, _ in track.status_changes]
    same = stored == replayed and (
        people_set or (row["status"] == track.status and history_stored == history_replayed)
    )
    report: dict[str, Any] = {
        "waybill_no": waybill_no,
        "same": same,
        "status_stored": row["status"],
        "status_replayed": track.status,
        "milestones_stored": len(stored),
        "milestones_replayed": len(replayed),
    }
    if not same:
        report["only_stored"] = [list(x) for x in stored if x not in replayed]
        report["only_replayed"] = [list(x) for x in replayed if x not in stored]
        report["status_history_stored"] = [list(x) for x in history_stored]
        report["status_history_replayed"] = [list(x) for x in history_replayed]
        if not check_only:
            tracking_service.refresh(session, waybill_no, now, policy=tracking_service.TrackingPolicy(rules))
            report["corrected"] = True
    return report
