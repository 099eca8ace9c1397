"""Applying tracking to stored waybills: readings -> derived track -> events, status, ETA, alarms.

`refresh_locked(session, RefreshWaybill, TrackingPolicy)` is load -> fold -> reconcile -> apply:
- load: the waybill row (locked by the caller; `refresh` locks it itself) and its plan (`tracking_store`);
- fold: the new readings folded into the waybill's fold, or a re-derivation from the stored readings
  (`logistics.tracking`, pure);
- reconcile: the status to store, by the one status machine (`logistics.tracking.reconcile`);
- apply: quarantine flags, milestones, status history, estimates and alarms appended to the event log, and
  the row's new values returned for the caller to write (the ingest writes a batch in one statement).
Re-deriving under the waybill's row lock serialises several ingest processes per waybill, and makes the
result independent of the order in which readings arrived: a late or backlog reading is placed by its event
time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from kernel.clock import parse_time, rfc3339, utc
from logistics import events, shipment_facts, tracking_store
from logistics.tables import readings, tracker_attachments, waybill_events, waybills, webhook_outbox, webhooks
from logistics.tracking.eta import delay_alarm, deliver_by_at_risk, estimate
from logistics.tracking.foldlog import FoldLog
from logistics.tracking.plan import TrackPlan
from logistics.tracking.readings import Reading
from logistics.tracking.reconcile import WaybillStatus, reconcile_status, status_history_edit
from logistics.tracking.rules import DEFAULT_RULES, TrackingRules
from logistics.tracking.state import Milestone, Track, TrackState, snapshot
from logistics.tracking_store import parse_optional_time

# (session, waybill row, track, now) -> alternative options, summarised for the alarm.
Suggest = Callable[[Session, Any, Track, datetime], list[dict[str, Any]]]


@dataclass
class Changes:
    waybill_no: str
    tenant_id: str
    status: str
    status_changed: bool = False
    new_milestones: list[dict[str, Any]] = field(default_factory=list)
    alarms_raised: list[dict[str, Any]] = field(default_factory=list)
    alarms_cleared: list[dict[str, Any]] = field(default_factory=list)
    message: dict[str, Any] = field(default_factory=dict)
    arrived_at_node: str | None = None  # set when the shipment reached its destination in this change
    quarantined: set[int] = field(default_factory=set)
    moved: bool = True  # the status message differs from the one before (apart from its time): publish it
    position_only: bool = False  # ... and only in its position: a tick, which the next one supersedes


# What a fold before had already recorded: its milestones, quarantines and status changes.
Recorded = tuple[list[Milestone], list[tuple[int, str]], list[tuple[str, datetime, int]]]


def _state_or_none(doc: dict[str, Any] | None) -> TrackState | None:
    if doc is None:
        return None
    try:
        return TrackState.from_json(doc)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _milestone_key(code: str, node_id: str | None, classifier: str | None) -> tuple[str, str, str]:
    return (code, node_id or "", classifier or "")


def _alarm_json(a: Any) -> dict[str, Any]:
    return {
        "kind": a.kind,
        "raised_at": rfc3339(a.raised_at),
        "cleared_at": rfc3339(a.cleared_at) if a.cleared_at else None,
        "detail": a.detail,
    }


@dataclass(frozen=True, slots=True)
class TrackingPolicy:
    """How readings are judged (`rules`) and who is asked for alternative routes (`suggest`, may be None)."""

    rules: TrackingRules = DEFAULT_RULES
    suggest: Suggest | None = None


@dataclass(frozen=True, slots=True)
class RefreshWaybill:
    """Command: bring one waybill, locked by the caller, up to date with its readings at `now`."""

    row: Mapping[str, Any]  # the waybill row, locked
    now: datetime
    new_readings: list[Reading] | None = None  # just stored (continue the fold); None: re-derive from all
    plan: TrackPlan | None = None  # the waybill's plan and fold kept in memory by the caller, valid for `row`
    fold: FoldLog | None = None


@dataclass(frozen=True, slots=True)
class Refreshed:
    """A refreshed waybill: what changed, its new column values (for the caller to write), plan and fold."""

    changes: Changes
    values: dict[str, Any]  # WRITTEN, and "track_checkpoint" when the checkpoint moved on
    plan: TrackPlan
    fold: FoldLog


@dataclass(frozen=True, slots=True)
class _FoldedIn:
    """The fold after the new readings, and what the fold before had recorded (None: there was none)."""

    log: FoldLog
    track: Track
    before: Recorded | None


def _fold_in(
    session: Session, row: Any, plan: TrackPlan, command: RefreshWaybill, rules: TrackingRules
) -> _FoldedIn:
    """Fold the new readings into the waybill's fold; re-derive from all stored readings when that can't be.

    `command.fold`: the fold held in memory (known to match the stored row), else the stored state is
    resumed. Readings later than the fold continue it (the hot path of a live tracker); a late one re-folds
    from the fold's nearest earlier checkpoint, held in memory or else the stored one (`track_checkpoint`)
    with only the readings stored after it; one older than that too, no stored state, or `new=None`
    re-derive from all stored readings. All of them give the same track (the tracking core proves it).
    `before` is the milestones, quarantines and status changes of the fold before (None if there was none):
    those are already in the event log and on the stored readings, so only the others need writing.
    """
    waybill_no, new, fold = row["waybill_no"], command.new_readings, command.fold
    held = fold is not None
    if fold is None and row["track_state"] is not None:
        state = _state_or_none(row["track_state"])
        if state is None:
            fold = None
        elif row["track_checkpoint"] is None:  # none stored yet: this state becomes the checkpoint
            fold = FoldLog(plan, state, rules=rules)
        else:
            fold = FoldLog.resume(plan, state, checkpoint_gap=row["track_since_checkpoint"], rules=rules)
    previous = (
        (list(fold.state.milestones), list(fold.state.quarantined), list(fold.state.status_changes))
        if fold is not None
        else None
    )
    if new is not None and fold is not None:

        def checkpoint() -> TrackState | None:
            # A fold held in memory left the stored checkpoint unchanged since the row it was kept with.
            doc = (
                session.execute(
                    select(waybills.c.track_checkpoint).where(waybills.c.waybill_no == waybill_no)
                ).scalar_one_or_none()
                if held
                else row["track_checkpoint"]
            )
            return _state_or_none(doc)

        log = fold.fold_in(
            new, checkpoint, lambda key: tracking_store.load_readings_after(session, waybill_no, key)
        )
        if log is not None:
            return _FoldedIn(log, snapshot(log.state), previous)
    fold = FoldLog.replay(plan, tracking_store.load_readings(session, waybill_no), rules=rules)
    return _FoldedIn(fold, snapshot(fold.state), previous)


def _record_status_history(
    session: Session,
    waybill_no: str,
    stored: str,
    track: Track,
    prior: list[tuple[str, datetime, int]] | None,
    now: datetime,
) -> None:
    """Keep the log's status history equal to the derivation's, each change at the event time that caused it.

    What to append and retract is the status machine's (`status_history_edit`): appended entries have `now`
    as their recorded time and supersede the entry a late reading moved in time; the log is append-only, as
    for milestones. So the origin's gate-out gives PICKED_UP and IN_TRANSIT at the GTOT/DEPA time, and a
    replay from the stored readings gives the same history. The hot path (a fold continued by later
    readings) reads nothing.
    """
    edit = status_history_edit(stored, track.status_changes, prior)
    new_ids = [
        events.append(session, waybill_no, kind="status", code=status, event_time=at, recorded_time=now)
        for status, at, _ in edit.append
    ]
    for status, at, link in edit.supersede:  # -1: no longer supported, retracted
        _supersede_status(session, waybill_no, status, at, -1 if link is None else new_ids[link], new_ids)


def _supersede_status(
    session: Session, waybill_no: str, status: str, at: datetime, by: int, keep: list[int]
) -> None:
    session.execute(
        update(waybill_events)
        .where(
            waybill_events.c.waybill_no == waybill_no,
            waybill_events.c.kind == "status",
            waybill_events.c.code == status,
            waybill_events.c.event_time == at,
            waybill_events.c.superseded_by.is_(None),
            waybill_events.c.id.not_in(keep),
        )
        .values(superseded_by=by)
    )


def lock_waybill(session: Session, waybill_no: str) -> Any:
    """The waybill row, locked for update (None if there is no such waybill)."""
    return (
        session.execute(select(waybills).where(waybills.c.waybill_no == waybill_no).with_for_update())
        .mappings()
        .first()
    )


def refresh(
    session: Session,
    waybill_no: str,
    now: datetime,
    *,
    new_readings: list[Reading] | None = None,
    policy: TrackingPolicy = TrackingPolicy(),
) -> Changes | None:
    """Bring one waybill up to date with its readings, record what changed and write it. Locks the row."""
    row = lock_waybill(session, waybill_no)
    if row is None:
        return None
    done = refresh_locked(session, RefreshWaybill(row, now, new_readings), policy)
    session.execute(update(waybills).where(waybills.c.waybill_no == waybill_no).values(**done.values))
    shipment_facts.refresh(session, [waybill_no])
    return done.changes


def refresh_locked(session: Session, command: RefreshWaybill, policy: TrackingPolicy) -> Refreshed:
    """load -> fold -> reconcile -> apply for a locked waybill; the caller writes `Refreshed.values`."""
    row, now = command.row, command.now
    plan = command.plan if command.plan is not None else tracking_store.track_plan(row)  # load
    folded = _fold_in(session, row, plan, command, policy.rules)  # fold
    track = folded.track
    decision = reconcile_status(row["status"], track.status)  # reconcile
    # apply: the event log, then the row's values and the status message
    changes = Changes(
        waybill_no=row["waybill_no"],
        tenant_id=row["tenant_id"],
        status=decision.status,
        status_changed=decision.changed,
        quarantined={seq for seq, _ in track.quarantined},
    )
    if decision.reached_destination:
        changes.arrived_at_node = plan.stops[-1].node_id
    before = folded.before
    _flag_quarantined(session, row["waybill_no"], track, before)
    changes.new_milestones = _record_milestones(session, row["waybill_no"], track, before, now)
    if decision.follows_readings:
        _record_status_history(
            session, row["waybill_no"], row["status"], track, before[2] if before else None, now
        )
    # ETA and EST milestones: re-estimated when the shipment reached a new point (not for every fix).
    moved_on = bool(changes.new_milestones) or changes.status_changed or before is None
    eta, est = estimate(plan, track, now) if moved_on else (None, ())
    if est:
        _record_estimates(session, row["waybill_no"], est, now)
    alarms = _record_alarms(session, row, track, changes, now)
    if moved_on and eta is not None:
        _judge_delay(session, row, plan, track, eta, alarms, changes, now, policy)
    values = _waybill_values(row, track, folded.log, decision.status, eta, alarms, now)
    if decision.status == WaybillStatus.DELIVERED:
        _detach_trackers(session, row["waybill_no"], now)
    _describe(changes, row, values)
    enqueue_webhooks(session, changes, now)
    return Refreshed(changes, values, plan, folded.log)


def _flag_quarantined(session: Session, waybill_no: str, track: Track, before: Recorded | None) -> None:
    """Quarantine flags on the stored readings, for operators (they never drive status); those already
    flagged by an earlier fold need no writing again."""
    flagged = set(before[1]) if before is not None else set()
    to_flag = [(seq, reason) for seq, reason in track.quarantined if (seq, reason) not in flagged]
    if to_flag:
        session.execute(
            update(readings)
            .where(
                readings.c.waybill_no == waybill_no,
                readings.c.seq == bindparam("b_seq"),
                or_(readings.c.quarantine.is_(None), readings.c.quarantine != bindparam("b_reason")),
            )
            .values(quarantine=bindparam("b_reason")),
            [{"b_seq": seq, "b_reason": reason[:200]} for seq, reason in to_flag],
        )


def _record_milestones(
    session: Session, waybill_no: str, track: Track, before: Recorded | None, now: datetime
) -> list[dict[str, Any]]:
    """Append new actual milestones; supersede those a late reading has moved and retract those no longer
    supported (append-only correction). Continuing the fold only ever appends milestones, so then the log
    needs no re-reading. Returns the new ones as published."""
    prior = before[0] if before is not None else None
    appended_only = prior is not None and tuple(track.milestones[: len(prior)]) == tuple(prior)
    stored = (
        []
        if appended_only
        else (
            session.execute(
                select(waybill_events).where(
                    waybill_events.c.waybill_no == waybill_no,
                    waybill_events.c.kind == "milestone",
                    waybill_events.c.classifier == "ACT",
                    waybill_events.c.superseded_by.is_(None),
                )
            )
            .mappings()
            .all()
        )
    )
    stored_by_key = {(_milestone_key(r["code"], r["node_id"], "ACT")): r for r in stored}
    derived: dict[tuple[str, str, str], Milestone] = {}
    known = {_milestone_key(m.code, m.node_id, "ACT") for m in prior or ()} if appended_only else set()
    for m in track.milestones:
        if m.classifier != "ACT":
            continue
        key = _milestone_key(m.code, m.node_id, "ACT")
        if key not in known:
            derived.setdefault(key, m)
    new_milestones: list[dict[str, Any]] = []
    for key, m in derived.items():
        old = stored_by_key.get(key)
        if old is not None and utc(old["event_time"]) == m.event_time and bool(old["inferred"]) == m.inferred:
            continue
        new_id = events.append(
            session,
            waybill_no,
            kind="milestone",
            code=m.code,
            classifier="ACT",
            node_id=m.node_id,
            event_time=m.event_time,
            recorded_time=now,
            inferred=m.inferred,
            detail={"seq": m.seq, "detail": m.detail} if (m.seq is not None or m.detail) else None,
        )
        if old is not None:
            session.execute(
                update(waybill_events).where(waybill_events.c.id == old["id"]).values(superseded_by=new_id)
            )
        new_milestones.append(
            {
                "code": m.code,
                "classifier": "ACT",
                "location": m.node_id,
                "time": rfc3339(m.event_time),
                "inferred": m.inferred,
            }
        )
    for key, old in stored_by_key.items():
        if key not in derived:
            # A milestone the readings no longer support (e.g. a late reading showed a GPS jump): retract.
            events.append(
                session,
                waybill_no,
                kind="note",
                code="RETRACTED",
                event_time=old["event_time"],
                recorded_time=now,
                node_id=old["node_id"],
                detail={"retracted_event": old["id"], "code": old["code"]},
            )
            session.execute(
                update(waybill_events).where(waybill_events.c.id == old["id"]).values(superseded_by=-1)
            )
    return new_milestones


def _record_estimates(session: Session, waybill_no: str, est: tuple[Milestone, ...], now: datetime) -> None:
    """EST milestones for the stops ahead; one that moved by less than half an hour is not rewritten."""
    current_est = {
        _milestone_key(r["code"], r["node_id"], "EST"): r
        for r in session.execute(
            select(waybill_events).where(
                waybill_events.c.waybill_no == waybill_no,
                waybill_events.c.classifier == "EST",
                waybill_events.c.superseded_by.is_(None),
            )
        ).mappings()
    }
    for m in est:
        key = _milestone_key(m.code, m.node_id, "EST")
        old = current_est.get(key)
        if old is not None and abs((utc(old["event_time"]) - m.event_time).total_seconds()) < 1800:
            continue
        events.append(
            session,
            waybill_no,
            kind="milestone",
            code=m.code,
            classifier="EST",
            node_id=m.node_id,
            event_time=m.event_time,
            recorded_time=now,
        )
        if old is not None:
            session.execute(
                update(waybill_events).where(waybill_events.c.id == old["id"]).values(superseded_by=-2)
            )


def _record_alarms(
    session: Session, row: Any, track: Track, changes: Changes, now: datetime
) -> list[dict[str, Any]]:
    """The fold's alarms, raised once and cleared when they end, with those kept outside the fold (offline,
    delay, re-plan and customs rejection alarms): the waybill's alarms after this refresh."""
    waybill_no = row["waybill_no"]
    alarms = [_alarm_json(a) for a in track.alarms]
    before = {(a["kind"], a["raised_at"]): a for a in (row["alarms"] or [])}
    for a in alarms:
        prev = before.get((a["kind"], a["raised_at"]))
        if prev is None:
            changes.alarms_raised.append(a)
            events.append(
                session,
                waybill_no,
                kind="alarm",
                code=a["kind"].upper(),
                event_time=parse_optional_time(a["raised_at"]) or now,
                recorded_time=now,
                detail=a,
            )
        elif a["cleared_at"] and not prev.get("cleared_at"):
            changes.alarms_cleared.append(a)
            events.append(
                session,
                waybill_no,
                kind="alarm",
                code=a["kind"].upper() + "_CLEARED",
                event_time=parse_optional_time(a["cleared_at"]) or now,
                recorded_time=now,
                detail=a,
            )
    kept = [
        a
        for a in (row["alarms"] or [])
        if a["kind"] in ("offline", "delay", "replan", "customs_rejected")
        and not any(x["kind"] == a["kind"] and x["raised_at"] == a["raised_at"] for x in alarms)
    ]
    return alarms + kept


def _judge_delay(
    session: Session,
    row: Any,
    plan: TrackPlan,
    track: Track,
    eta: datetime,
    alarms: list[dict[str, Any]],
    changes: Changes,
    now: datetime,
    policy: TrackingPolicy,
) -> None:
    """Raise or clear the delay alarm (in `alarms`), against the plan and the deliver-by date."""
    delay = delay_alarm(plan, track, now, rules=policy.rules)
    open_delay = next((a for a in alarms if a["kind"] == "delay" and not a.get("cleared_at")), None)
    if delay is not None and open_delay is None:
        raised = _alarm_json(delay)
        if policy.suggest is not None and deliver_by_at_risk(plan, eta):
            raised["alternatives"] = policy.suggest(session, row, track, now)
        alarms.append(raised)
        changes.alarms_raised.append(raised)
        events.append(
            session,
            row["waybill_no"],
            kind="alarm",
            code="DELAY",
            event_time=now,
            recorded_time=now,
            detail=raised,
        )
    elif delay is None and open_delay is not None:
        open_delay["cleared_at"] = rfc3339(now)
        changes.alarms_cleared.append(open_delay)
        events.append(
            session,
            row["waybill_no"],
            kind="alarm",
            code="DELAY_CLEARED",
            event_time=now,
            recorded_time=now,
            detail=open_delay,
        )


def _waybill_values(
    row: Any,
    track: Track,
    log: FoldLog,
    status: str,
    eta: datetime | None,
    alarms: list[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """The waybill's new column values (WRITTEN; "track_checkpoint" as well when it moved on)."""
    last = track.milestones[-1] if track.milestones else None
    last_json = (
        {
            "code": last.code,
            "location": last.node_id,
            "time": rfc3339(last.event_time),
            "inferred": last.inferred,
        }
        if last
        else row["last_milestone"]
    )
    position = (
        {
            "lat": track.position.lat,
            "lon": track.position.lon,
            "at": rfc3339(track.position.ts),
            "speed_kmh": track.position.speed_kmh,
            "temp_c": track.position.temp_c,
            "battery_pct": track.position.battery_pct,
        }
        if track.position
        else row["position"]
    )
    values = {
        "status": status,
        "eta": eta or row["eta"],
        "position": position,
        "last_milestone": last_json,
        "alarms": alarms,
        "updated_at": now,
        "track_state": log.state.to_json(),
        "track_since_checkpoint": log.behind,
    }
    if log.floor_moved and log.floor is not None:  # written only when it moved on (every `every` readings)
        values["track_checkpoint"] = log.floor.to_json()
        log.floor_moved = False
    return values


def _detach_trackers(session: Session, waybill_no: str, now: datetime) -> None:
    session.execute(
        update(tracker_attachments)
        .where(
            and_(
                tracker_attachments.c.waybill_no == waybill_no,
                tracker_attachments.c.detached_at.is_(None),
            )
        )
        .values(detached_at=now)
    )


def _describe(changes: Changes, row: Any, values: dict[str, Any]) -> None:
    """The status message, and whether it is worth publishing (`moved`, `position_only`)."""
    before_eta = rfc3339(row["eta"]) if row["eta"] else None
    eta = values["eta"]
    changes.message = {
        "waybill_no": changes.waybill_no,
        "status": values["status"],
        "last_milestone": values["last_milestone"],
        "eta": rfc3339(eta) if eta else before_eta,
        "position": values["position"],
        "alarms": [a for a in values["alarms"] if not a.get("cleared_at")],
        "updated_at": rfc3339(values["updated_at"]),
    }
    sent = changes.message
    state_now = (sent["status"], sent["last_milestone"], sent["eta"], sent["alarms"])
    state_before = (
        row["status"],
        row["last_milestone"],
        before_eta,
        [a for a in (row["alarms"] or []) if not a.get("cleared_at")],
    )
    # A position alone is worth a message once per POSITION_TICK of fix time: a tracker reporting every second
    # gives a tick every ten seconds, one reporting every minute a tick for every fix. The waybill itself
    # always keeps the newest position.
    position_moved = sent["position"] != row["position"] and _tick(sent["position"]) != _tick(row["position"])
    changes.moved = position_moved or state_now != state_before
    changes.position_only = position_moved and state_now == state_before


POSITION_TICK_SECONDS = 10


def _tick(position: dict[str, Any] | None) -> int | None:
    """The slot of POSITION_TICK_SECONDS of fix time a position falls in (None: no position)."""
    at = (position or {}).get("at")
    return int(parse_time(at).timestamp()) // POSITION_TICK_SECONDS if at else None


def enqueue_webhooks(session: Session, changes: Changes, now: datetime) -> None:
    """Write webhook deliveries to the outbox in the same transaction as the change (durable)."""
    kinds: list[tuple[str, dict[str, Any]]] = []
    if changes.status_changed:
        kinds.append(("waybill.status", changes.message))
    for m in changes.new_milestones:
        kinds.append(("waybill.milestone", {"waybill_no": changes.waybill_no, "milestone": m}))
    for a in changes.alarms_raised:
        kinds.append(("waybill.alarm", {"waybill_no": changes.waybill_no, "alarm": a}))
    for a in changes.alarms_cleared:
        kinds.append(("waybill.alarm_cleared", {"waybill_no": changes.waybill_no, "alarm": a}))
    if not kinds:
        return
    hooks = (
        session.execute(
            select(webhooks).where(webhooks.c.tenant_id == changes.tenant_id, webhooks.c.active.is_(True))
        )
        .mappings()
        .all()
    )
    for hook in hooks:
        wanted = set(hook["events"] or [])
        for kind, data in kinds:
            if "*" in wanted or kind in wanted:
                body = json.dumps({"event": kind, "data": data, "sent_at": rfc3339(now)}, sort_keys=True)
                session.execute(
                    webhook_outbox.insert().values(
                        webhook_id=hook["id"],
                        event=kind,
                        body=body,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
