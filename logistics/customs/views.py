"""The read side: a waybill's declarations in filing order, and one message's XML."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import NotFound
from kernel.identity import Principal
from logistics.customs.tables import customs_declarations, customs_messages
from logistics.tables import waybills
from logistics.waybills import require_visible, visible


def waybill_customs(session: Session, principal: Principal, waybill_no: str) -> dict[str, Any]:
    """GET /v1/waybills/{waybill_no}/customs."""
    require_visible(session, principal, waybill_no)
    mode = session.execute(
        select(waybills.c.customs_mode).where(waybills.c.waybill_no == waybill_no)
    ).scalar_one()
    declared = session.execute(
        select(customs_declarations.c.waybill_no).where(customs_declarations.c.waybill_no == waybill_no)
    ).first()
    rows = session.execute(
        select(customs_messages)
        .where(customs_messages.c.waybill_no == waybill_no)
        .order_by(customs_messages.c.seq)
    ).mappings()
    doc: dict[str, Any] = {
        "waybill_no": waybill_no,
        "mode": mode,
        "declared": declared is not None,
        "messages": [
            {
                "id": r["id"],
                "type": r["type"],
                "app_type": r["app_type"],
                "subject": r["subject"],
                "status": r["status"],
                "created": rfc3339(r["created_at"]),
                "sent": rfc3339(r["sent_at"]) if r["sent_at"] else None,
                "attempts": r["attempts"],
                "trigger": (
                    {
                        "milestone": r["trigger"]["milestone"],
                        "time": r["trigger"]["time"],
                        "location": r["trigger"].get("location"),
                    }
                    if r["trigger"]
                    else None
                ),
                "receipt": r["receipt"],
            }
            for r in rows
        ],
    }
    if declared is None:
        doc["note"] = "the booking carries no customs data: nothing is filed for this waybill"
    return doc


def message_xml(session: Session, principal: Principal, message_id: str) -> str:
    """GET /v1/customs/messages/{id}: the message as filed."""
    row = session.execute(
        select(customs_messages.c.xml)
        .select_from(customs_messages.join(waybills, waybills.c.waybill_no == customs_messages.c.waybill_no))
        .where(customs_messages.c.id == message_id, visible(principal))
    ).first()
    if row is None:
        raise NotFound(f"customs message {message_id} does not exist")
    return str(row.xml)
