"""Tracking's rows: a waybill's plan and stored readings read back, the batch's readings inserted, and the
refreshed waybills written in one statement. PostgreSQL gets statements of fixed text with the rows in one
JSON parameter; elsewhere plain SQLAlchemy Core.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ARRAY, String, and_, any_, bindparam, select, text, update
from sqlalchemy.orm import Session

from kernel.clock import parse_time
from kernel.db import dialect_insert
from logistics.tables import devices, readings, tracker_attachments, waybills
from logistics.tracking.foldlog import Key
from logistics.tracking.plan import Stop, TrackPlan
from logistics.tracking.readings import Reading


def parse_optional_time(value: str | None) -> datetime | None:
    """An RFC 3339 time, or None for none."""
    return parse_time(value) if value else None


def track_plan(row: Any) -> TrackPlan:
    it = row["itinerary"]
    cargo = row["cargo"] or {}
    temperature = cargo.get("temperature")
    stops = tuple(
        Stop(
            node_id=s["node_id"],
            name=s["name"],
            lat=s["lat"],
            lon=s["lon"],
            role=s["role"],
            radius_km=s["radius_km"],
            planned_arrival=parse_optional_time(s["planned_arrival"]),
            planned_departure=parse_optional_time(s["planned_departure"]),
            mode_in=s.get("mode_in"),
            mode_out=s.get("mode_out"),
        )
        for s in it["stops"]
    )
    return TrackPlan(
        waybill_no=row["waybill_no"],
        stops=stops,
        deliver_by=row["deliver_by"],
        temperature=(float(temperature[0]), float(temperature[1])) if temperature else None,
        customs_mode=row["customs_mode"],
    )


def reading_from_row(r: Any) -> Reading:
    data = r["data"] or {}
    return Reading(
        device_id=r["device_id"],
        seq=r["seq"],
        ts=r["ts"],
        lat=r["lat"],
        lon=r["lon"],
        speed_kmh=data.get("speed_kmh"),
        accuracy_m=data.get("accuracy_m"),
        temp_c=data.get("temp_c"),
        humidity_pct=data.get("humidity_pct"),
        shock_g=data.get("shock_g"),
        door_open=data.get("door_open"),
        battery_pct=data.get("battery_pct"),
        received_at=r["received_at"],
    )


def load_readings(session: Session, waybill_no: str) -> list[Reading]:
    rows = (
        session.execute(
            select(readings)
            .where(readings.c.waybill_no == waybill_no)
            .order_by(readings.c.ts, readings.c.seq)
        )
        .mappings()
        .all()
    )
    return [reading_from_row(r) for r in rows]


def load_readings_after(session: Session, waybill_no: str, key: Key | None) -> list[Reading]:
    """The waybill's stored readings later than `key` in the fold's order (event time, device, seq); all of
    them for None. Reads the readings from `key`'s event time on (an index range), no earlier ones."""
    query = select(readings).where(readings.c.waybill_no == waybill_no)
    if key is not None:
        query = query.where(readings.c.ts >= key[0])
    rows = session.execute(query).mappings().all()
    # Readings at the key's own time are after it or not by device and seq (compared as the fold does).
    return [reading_from_row(r) for r in rows if key is None or (r["ts"], r["device_id"], r["seq"]) > key]


def device_attachments(session: Session, device_ids: list[str], postgres: bool) -> list[Any]:
    """(device, waybill, its status) of each registered device of the batch (waybill None: not attached)."""
    if postgres:
        # Per device an index lookup of its attachment (LATERAL), whatever the planner's statistics say: a
        # plain outer join over a freshly filled table may be planned as a scan of every attachment.
        return list(
            session.execute(
                text(
                    "SELECT d.device_id, a.waybill_no, w.status FROM devices AS d"
                    " LEFT JOIN LATERAL (SELECT t.waybill_no FROM tracker_attachments AS t"
                    " WHERE t.device_id = d.device_id AND t.detached_at IS NULL ORDER BY t.id DESC LIMIT 1)"
                    " AS a ON true LEFT JOIN waybills AS w ON w.waybill_no = a.waybill_no"
                    " WHERE d.device_id = ANY(CAST(:ids AS text[]))"
                ),
                {"ids": device_ids},
            ).all()
        )
    return list(
        session.execute(
            select(devices.c.device_id, waybills.c.waybill_no, waybills.c.status)
            .select_from(
                devices.outerjoin(
                    tracker_attachments,
                    and_(
                        tracker_attachments.c.device_id == devices.c.device_id,
                        tracker_attachments.c.detached_at.is_(None),
                    ),
                ).outerjoin(waybills, waybills.c.waybill_no == tracker_attachments.c.waybill_no)
            )
            .where(devices.c.device_id.in_(device_ids))
        ).all()
    )


def among(column: Any, values: list[str], postgres: bool) -> Any:
    """`column IN values`; on PostgreSQL `= ANY(array)`, one bind parameter whatever the number of values."""
    if postgres:
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def insert_readings(
    session: Session, rows: list[dict[str, Any]], now: datetime, postgres: bool
) -> tuple[list[tuple[str, int, str]], dict[str, str]]:
    """Insert new readings, skipping (device, seq) already stored: the inserted ones' keys and waybills.

    On PostgreSQL the same statement records each device's last seq and when it was last seen, and locks
    the waybills of the inserted readings (in waybill order), returning their row versions (`xmin` and
    `ctid`). Elsewhere no versions.
    """
    if postgres:
        # One statement of fixed text, the rows in one JSON parameter: no statement text to parse per batch
        # size (as a multi-row VALUES would need) and no per-element quoting (as text arrays would). The rows
        # go as they are, objects named as the columns (times as RFC 3339 with their offset, to the
        # microsecond): `json_to_recordset` takes them some 25 % cheaper for the database than extracting
        # each field from an array (2,000 rows: 22 against 30 ms).
        doc = orjson.dumps(rows).decode()
        out = session.execute(
            text(
                "WITH new AS (INSERT INTO readings"
                " (device_id, seq, waybill_no, ts, lat, lon, data, quarantine, received_at)"
                " SELECT device_id, seq, waybill_no, ts, lat, lon, data, quarantine, received_at"
                " FROM json_to_recordset(CAST(:rows AS json)) AS r(device_id text, seq bigint,"
                " waybill_no text, ts timestamptz, lat float8, lon float8, data json, quarantine text,"
                " received_at timestamptz)"
                " ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq, waybill_no),"
                " seen AS (UPDATE devices SET last_seq = latest.seq, last_seen_at = :now"
                " FROM (SELECT device_id, max(seq) AS seq FROM new GROUP BY device_id) AS latest"
                " WHERE devices.device_id = latest.device_id),"
                " locked AS (SELECT waybill_no, xmin::text || ctid::text AS version FROM waybills"
                " WHERE waybill_no IN (SELECT waybill_no FROM new) ORDER BY waybill_no FOR UPDATE)"
                " SELECT device_id, seq, waybill_no, NULL AS version FROM new"
                " UNION ALL SELECT NULL, NULL, waybill_no, version FROM locked"
            ),
            {"rows": doc, "now": now},
        ).all()
        inserted = [(d, seq, w) for d, seq, w, v in out if v is None]
        return inserted, {w: v for d, _, w, v in out if v is not None}
    stmt = dialect_insert(session, readings).on_conflict_do_nothing(index_elements=["device_id", "seq"])
    stmt = stmt.returning(readings.c.device_id, readings.c.seq, readings.c.waybill_no)
    return [(d, seq, w) for d, seq, w in session.execute(stmt, rows).all()], {}


# Written for every refreshed waybill; "track_checkpoint" as well when the checkpoint moved on.
WRITTEN = (
    "status",
    "eta",
    "position",
    "last_milestone",
    "alarms",
    "updated_at",
    "track_state",
    "track_since_checkpoint",
)


def write_pending(session: Session, pending: list[dict[str, Any]]) -> dict[str, str]:
    """Write the waybills collected by `refresh(..., pending=...)` in one statement.

    On PostgreSQL, returns each written row's version (`xmin` and `ctid`, which any later write changes);
    elsewhere nothing. The checkpoint is written only for the waybills whose checkpoint moved on.
    """
    if not pending:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        # One JSON parameter, the collected rows as they are (times as RFC 3339 with their offset, to the
        # microsecond), read with json_to_recordset: no per-element quoting of long JSON texts in arrays, and
        # cheaper for the database than extracting each field from arrays. A row without `b_track_checkpoint`
        # keeps its checkpoint (the column is NULL then; a stored one is never JSON null).
        doc = orjson.dumps(pending).decode()
        rows = session.execute(
            text(
                "UPDATE waybills AS w SET status = v.b_status, eta = v.b_eta, position = v.b_position,"
                " last_milestone = v.b_last_milestone, alarms = v.b_alarms, updated_at = v.b_updated_at,"
                " track_state = v.b_track_state, track_since_checkpoint = v.b_track_since_checkpoint,"
                " track_checkpoint = COALESCE(v.b_track_checkpoint, w.track_checkpoint)"
                " FROM json_to_recordset(CAST(:rows AS json)) AS v(b_waybill_no text, b_status text,"
                " b_eta timestamptz, b_position json, b_last_milestone json, b_alarms json,"
                " b_updated_at timestamptz, b_track_state json, b_track_since_checkpoint integer,"
                " b_track_checkpoint json) WHERE w.waybill_no = v.b_waybill_no"
                " RETURNING w.waybill_no, w.xmin::text || w.ctid::text"
            ),
            {"rows": doc},
        ).all()
        return {no: version for no, version in rows}
    moved = [p for p in pending if "b_track_checkpoint" in p]
    kept = [p for p in pending if "b_track_checkpoint" not in p]
    for columns, group in ((WRITTEN, kept), ((*WRITTEN, "track_checkpoint"), moved)):
        if group:
            session.execute(
                update(waybills)
                .where(waybills.c.waybill_no == bindparam("b_waybill_no"))
                .values({c: bindparam(f"b_{c}") for c in columns}),
                group,
            )
    return {}
