"""A waybill's stored readings, oldest first: positions and the condition figures trackers sent (temperature,
humidity, shock, door, battery), for the track and the condition charts. Keyset-paginated."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import InvalidInput
from kernel.identity import Principal
from logistics import waybills
from logistics.tables import readings

FIGURES = ("temp_c", "humidity_pct", "shock_g", "door_open", "battery_pct", "speed_kmh")


@dataclass(frozen=True, slots=True)
class ReadingsQuery:
    waybill_no: str
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    limit: int = 500
    cursor: str | None = None


def readings_page(session: Session, principal: Principal, q: ReadingsQuery) -> dict[str, Any]:
    """`{"items": [{"ts", "lat", "lon", "device_id", "seq", "temp_c"?, ..., "quarantine"}], "next"}`: the
    readings stored for the waybill in [since, until), by event time. `quarantine` names why a reading was
    not trusted for the track (its position), else null. 404 for a waybill the caller cannot see."""
    waybills.require_visible(session, principal, q.waybill_no)
    if q.since and q.until and q.since >= q.until:
        raise InvalidInput("from must be before to", errors=[{"field": "from", "message": "before to"}])
    query = select(readings).where(readings.c.waybill_no == q.waybill_no)
    if q.since:
        query = query.where(readings.c.ts >= q.since)
    if q.until:
        query = query.where(readings.c.ts < q.until)
    if q.cursor:
        ts, device_id, seq = _decode(q.cursor)
        query = query.where(
            or_(
                readings.c.ts > ts,
                and_(
                    readings.c.ts == ts,
                    or_(
                        readings.c.device_id > device_id,
                        and_(readings.c.device_id == device_id, readings.c.seq > seq),
                    ),
                ),
            )
        )
    order = (readings.c.ts, readings.c.device_id, readings.c.seq)
    rows = session.execute(query.order_by(*order).limit(q.limit + 1)).mappings().all()
    page = rows[: q.limit]
    nxt = _encode(page[-1]) if len(rows) > q.limit else None
    return {"items": [_item(r) for r in page], "next": nxt}


def _item(r: Any) -> dict[str, Any]:
    data = r["data"] or {}
    item: dict[str, Any] = {
        "ts": rfc3339(r["ts"]),
        "lat": r["lat"],
        "lon": r["lon"],
        "device_id": r["device_id"],
        "seq": r["seq"],
    }
    item.update({k: data[k] for k in FIGURES if k in data})
    item["quarantine"] = r["quarantine"]
    return item


def _encode(r: Any) -> str:
    return base64.urlsafe_b64encode(
        json.dumps([rfc3339(r["ts"]), r["device_id"], r["seq"]]).encode()
    ).decode()


def _decode(cursor: str) -> tuple[datetime, str, int]:
    try:
        ts, device_id, seq = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(str(ts).replace("Z", "+00:00")), str(device_id), int(seq)
    except Exception as exc:
        raise InvalidInput("bad cursor", errors=[{"field": "cursor", "message": "not a cursor"}]) from exc
