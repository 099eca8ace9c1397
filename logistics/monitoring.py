"""Scheduled checks on shipments in transit: trackers gone silent (offline alarms)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from kernel.clock import rfc3339, utc
from logistics import events
from logistics.tables import devices, readings, tracker_attachments, waybills

OFFLINE_AFTER_INTERVALS = 3
# BOOKED too: a tracker reporting from the origin before the gate-out can go silent there.
ACTIVE = (
    "BOOKED", "PICKED_UP", "IN_TRANSIT", "AT_HUB", "AT_BORDER", "CUSTOMS_HOLD", "ARRIVED", "OUT_FOR_DELIVERY",
)  # fmt: skip


def check_offline(session: Session, now: datetime) -> list[tuple[str, str]]:
    """Raise an `offline` alarm once when no reading came for several expected intervals; clear it after.

    Measured on the service clock against the newest reading's fix time. Returns (waybill_no, raised|cleared).
    """
    rows = session.execute(
        select(
            waybills.c.waybill_no,
            devices.c.device_id,
            devices.c.report_interval_s,
            func.max(readings.c.ts).label("last_ts"),
        )
        .join(
            tracker_attachments,
            and_(
                tracker_attachments.c.waybill_no == waybills.c.waybill_no,
                tracker_attachments.c.detached_at.is_(None),
            ),
        )
        .join(devices, devices.c.device_id == tracker_attachments.c.device_id)
        .outerjoin(
            readings,
            and_(readings.c.device_id == devices.c.device_id, readings.c.waybill_no == waybills.c.waybill_no),
        )
        .where(waybills.c.status.in_(ACTIVE))
        .group_by(waybills.c.waybill_no, devices.c.device_id, devices.c.report_interval_s)
    ).all()
    out: list[tuple[str, str]] = []
    for row in rows:
        if row.last_ts is None:
            continue
        last_ts = utc(row.last_ts)
        silent = now - last_ts > timedelta(seconds=row.report_interval_s * OFFLINE_AFTER_INTERVALS)
        current = session.execute(
            select(waybills.c.alarms).where(waybills.c.waybill_no == row.waybill_no).with_for_update()
        ).scalar()
        alarms: list[dict[str, Any]] = list(current or [])
        active = next(
            (
                a
                for a in alarms
                if a["kind"] == "offline" and not a.get("cleared_at") and a.get("device_id") == row.device_id
            ),
            None,
        )
        if silent and active is None:
            alarm = {
                "kind": "offline",
                "device_id": row.device_id,
                "raised_at": rfc3339(now),
                "cleared_at": None,
                "detail": f"no reading from {row.device_id} since {rfc3339(last_ts)}",
            }
            alarms.append(alarm)
            events.append(
                session,
                row.waybill_no,
                kind="alarm",
                code="OFFLINE",
                event_time=now,
                recorded_time=now,
                detail=alarm,
            )
            out.append((row.waybill_no, "raised"))
        elif not silent and active is not None:
            active["cleared_at"] = rfc3339(last_ts)
            events.append(
                session,
                row.waybill_no,
                kind="alarm",
                code="OFFLINE_CLEARED",
                event_time=last_ts,
                recorded_time=now,
                detail=active,
            )
            out.append((row.waybill_no, "cleared"))
        else:
            continue
        session.execute(update(waybills).where(waybills.c.waybill_no == row.waybill_no).values(alarms=alarms))
    return out
