"""Scheduled checks on shipments in transit: trackers gone silent (offline alarms), and shipments with no
tracker whose plan has passed (EST milestones that slip, the no-tracking-data alarm)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from kernel.clock import rfc3339, utc
from logistics import events
from logistics.tables import devices, readings, tracker_attachments, waybill_events, waybills
from logistics.tracking.untracked import ALARM_KIND, PlannedMilestone, assess

EST_MOVE_AT_LEAST = timedelta(minutes=30)  # as the tracked path: an EST that moved less is not rewritten

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


def check_untracked(session: Session, now: datetime) -> list[tuple[str, str]]:
    """For shipments with no tracker attached: slip their EST milestones and ETA past the overdue plan, and
    raise (once) or clear the no-tracking-data alarm (rules: `logistics.tracking.untracked`).

    Returns (waybill_no, raised|cleared|slipped) for each waybill it changed.
    """
    attached = (
        select(tracker_attachments.c.waybill_no)
        .where(
            tracker_attachments.c.waybill_no == waybills.c.waybill_no,
            tracker_attachments.c.detached_at.is_(None),
        )
        .exists()
    )
    rows = (
        session.execute(
            select(waybills.c.waybill_no, waybills.c.planned_arrival, waybills.c.eta, waybills.c.alarms)
            .where(waybills.c.status.in_(ACTIVE), ~attached)
            .order_by(waybills.c.waybill_no)
        )
        .mappings()
        .all()
    )
    out: list[tuple[str, str]] = []
    for row in rows:
        no = row["waybill_no"]
        current = (
            session.execute(
                select(waybill_events)
                .where(
                    waybill_events.c.waybill_no == no,
                    waybill_events.c.kind == "milestone",
                    waybill_events.c.superseded_by.is_(None),
                )
                .order_by(waybill_events.c.event_time, waybill_events.c.id)
            )
            .mappings()
            .all()
        )
        by_class: dict[str, list[Any]] = {"PLN": [], "ACT": [], "EST": []}
        for e in current:
            by_class.setdefault(e["classifier"], []).append(e)
        planned = [PlannedMilestone(e["code"], e["node_id"], utc(e["event_time"])) for e in by_class["PLN"]]
        actual = [PlannedMilestone(e["code"], e["node_id"], utc(e["event_time"])) for e in by_class["ACT"]]
        planned_arrival = utc(row["planned_arrival"]) if row["planned_arrival"] else None
        result = assess(planned, actual, planned_arrival, now)
        changed = _write_estimates(session, no, result.estimates, by_class["EST"], now)
        values: dict[str, Any] = {}
        if result.eta is not None and (
            row["eta"] is None or abs(utc(row["eta"]) - result.eta) >= EST_MOVE_AT_LEAST
        ):
            values["eta"] = result.eta
        alarms: list[dict[str, Any]] = list(row["alarms"] or [])
        open_alarm = next((a for a in alarms if a["kind"] == ALARM_KIND and not a.get("cleared_at")), None)
        outcome = "slipped" if changed or values else None
        if result.no_tracking_alarm is not None and open_alarm is None:
            alarm = {"kind": ALARM_KIND, "raised_at": rfc3339(now), "cleared_at": None,
                     "detail": result.no_tracking_alarm}  # fmt: skip
            alarms.append(alarm)
            events.append(session, no, kind="alarm", code="NO_TRACKING_DATA", event_time=now,
                          recorded_time=now, detail=alarm)  # fmt: skip
            values["alarms"] = alarms
            outcome = "raised"
        elif result.no_tracking_alarm is None and open_alarm is not None:
            open_alarm["cleared_at"] = rfc3339(now)
            events.append(session, no, kind="alarm", code="NO_TRACKING_DATA_CLEARED", event_time=now,
                          recorded_time=now, detail=open_alarm)  # fmt: skip
            values["alarms"] = alarms
            outcome = "cleared"
        if values:
            values["updated_at"] = now
            session.execute(update(waybills).where(waybills.c.waybill_no == no).values(**values))
        if outcome is not None:
            out.append((no, outcome))
    return out


def _write_estimates(session: Session, no: str, estimates: Any, current: list[Any], now: datetime) -> bool:
    """EST milestones as assessed; one that moved less than half an hour is left. Whether any changed.

    A code can recur at one place (a hub left twice): each estimate is matched with its own current EST (the
    nearest of that code and place not matched yet), and current ones matched by none are superseded.
    """
    unmatched: dict[tuple[str, str | None], list[Any]] = {}
    for e in current:
        unmatched.setdefault((e["code"], e["node_id"]), []).append(e)
    changed = False
    for m in estimates:
        pool = unmatched.get((m.code, m.node_id), [])
        prev = min(pool, key=lambda e: abs(utc(e["event_time"]) - m.time), default=None)
        if prev is not None:
            pool.remove(prev)
            if abs(utc(prev["event_time"]) - m.time) < EST_MOVE_AT_LEAST:
                continue
        events.append(
            session,
            no,
            kind="milestone",
            code=m.code,
            classifier="EST",
            node_id=m.node_id,
            event_time=m.time,
            recorded_time=now,
            detail={"reason": "no tracking data"},
        )
        if prev is not None:
            session.execute(
                update(waybill_events).where(waybill_events.c.id == prev["id"]).values(superseded_by=-2)
            )
        changed = True
    return changed
