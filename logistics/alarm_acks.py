"""Acknowledging and assigning a waybill's alarms.

The waybill's alarm list is rebuilt from telemetry on every refresh, so acknowledgements live in their own
table keyed by the alarm's identity: (waybill, kind, raised_at). An alarm that clears and is raised again has
a new raised_at and so starts unacknowledged. Readers annotate the alarms they answer with `acknowledged`,
`acknowledged_by`, `acknowledged_at`, `assignee` and `note`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import Conflict
from kernel.identity import Principal
from logistics import waybills
from logistics.tables import alarm_acknowledgements as acks


@dataclass(frozen=True, slots=True)
class AcknowledgeAlarm:
    """Acknowledge the open alarm of `kind` (the one raised at `raised_at`, if given), optionally assigning
    it to someone (a name or an API key id, free text) with a note. Acknowledging again updates both."""

    waybill_no: str
    kind: str
    raised_at: str | None = None
    assignee: str | None = None
    note: str | None = None


def acknowledge(
    session: Session, principal: Principal, command: AcknowledgeAlarm, now: datetime
) -> dict[str, Any]:
    """The acknowledged alarm, annotated. 404 if the caller cannot see the waybill; 409 if it has no such open
    alarm (cleared alarms need no acknowledgement)."""
    row = waybills.visible_row(session, principal, command.waybill_no)
    candidates = [
        a
        for a in (row["alarms"] or [])
        if a["kind"] == command.kind
        and not a.get("cleared_at")
        and (command.raised_at is None or a["raised_at"] == command.raised_at)
    ]
    if not candidates:
        which = f" raised at {command.raised_at}" if command.raised_at else ""
        raise Conflict(f"waybill {command.waybill_no} has no open {command.kind} alarm{which}")
    alarm = dict(candidates[-1])
    key = (
        acks.c.waybill_no == command.waybill_no,
        acks.c.kind == command.kind,
        acks.c.raised_at == alarm["raised_at"],
    )
    values = {
        "acknowledged_by": principal.key_id,
        "acknowledged_at": now,
        "assignee": command.assignee,
        "note": command.note,
    }
    updated = session.execute(update(acks).where(*key).values(**values))
    if getattr(updated, "rowcount", 0) == 0:
        session.execute(
            acks.insert().values(
                waybill_no=command.waybill_no, kind=command.kind, raised_at=alarm["raised_at"], **values
            )
        )
    return annotate(session, {command.waybill_no: [alarm]})[command.waybill_no][0]


def annotate(
    session: Session, alarms_by_waybill: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """The same alarms, each with its acknowledgement (or `acknowledged: false`); one query for them all."""
    wanted = {(no, a["kind"], a["raised_at"]) for no, alarms in alarms_by_waybill.items() for a in alarms}
    found: dict[tuple[str, str, str], Any] = {}
    if wanted:
        nos = sorted({w[0] for w in wanted})
        for chunk in _chunks(nos, 500):
            rows = session.execute(select(acks).where(acks.c.waybill_no.in_(chunk))).mappings()
            for r in rows:
                found[(r["waybill_no"], r["kind"], r["raised_at"])] = r
    out: dict[str, list[dict[str, Any]]] = {}
    for no, alarms in alarms_by_waybill.items():
        out[no] = [_with_ack(a, found.get((no, a["kind"], a["raised_at"]))) for a in alarms]
    return out


def _with_ack(alarm: dict[str, Any], ack: Any) -> dict[str, Any]:
    return {
        **alarm,
        "acknowledged": ack is not None,
        "acknowledged_by": ack["acknowledged_by"] if ack is not None else None,
        "acknowledged_at": rfc3339(ack["acknowledged_at"]) if ack is not None else None,
        "assignee": ack["assignee"] if ack is not None else None,
        "note": ack["note"] if ack is not None else None,
    }


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
