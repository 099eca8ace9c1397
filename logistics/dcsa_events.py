"""Shipment events in the shape of the DCSA Track & Trace API v2.2 (`GET /v2/events`), for partner platforms.

What is shared, and how our log maps onto DCSA's event types:
- milestones DEPA / ARRI -> TRANSPORT events (`transportEventTypeCode`);
- milestones LOAD / DISC / GTIN / GTOT / DROP -> EQUIPMENT events (`equipmentEventTypeCode`, laden);
- CROS and the customs milestones (CUSS / CUSI / CUSR) have no DCSA v2.2 event type and stay in our own log
  (`GET /v1/waybills/{no}/events`); so do status, plan and alarm entries, and superseded milestones;
- a milestone at a stop reached or left by air is left out too: DCSA v2.2's `modeOfTransport` has no air.
Every event is PLN, EST or ACT as recorded. `eventDateTime` is when it happened (or will), and
`eventCreatedDateTime` when we recorded it; `eventID` is a UUID derived from our event id (stable);
`transportCall` names the stop: `transportCallID` "<waybill>/<node>", the stop's UN/LOCODE, the mode;
`documentReferences` the booking (BKG) and the waybill as transport document (TRD).
Pagination is DCSA's: an opaque `cursor` that carries the filters and the position (events in the order
they were recorded), `Current-Page` / `Next-Page` headers with cursor values.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import InvalidInput
from logistics.tables import waybill_events, waybills

TRANSPORT_CODES = ("ARRI", "DEPA")
EQUIPMENT_CODES = ("LOAD", "DISC", "GTIN", "GTOT", "DROP")
MODES = {"rail": "RAIL", "sea": "VESSEL", "river": "BARGE", "road": "TRUCK"}
# codes that happen as the goods come into a stop (the mode they arrived by), the others as they leave it
INCOMING = {"ARRI", "DISC", "GTIN", "DROP"}
EVENT_NAMESPACE = uuid.UUID("6f1d3c1e-2b7a-5c43-9d8e-0a8b7c9e1d21")  # ours: eventIDs of this service
OPERATORS = ("gte", "gt", "lte", "lt", "eq")
# DCSA filters on data this service does not hold (vessels, voyages, schedules, shipment documents): one
# matches no event, as DCSA says for contradicting filters.
UNHELD_FILTERS = (
    "shipmentEventTypeCode",
    "documentTypeCode",
    "bookingReference",
    "transportDocumentID",
    "scheduleID",
    "vesselIMONumber",
    "carrierVoyageNumber",
    "exportVoyageNumber",
    "carrierServiceCode",
    "equipmentReference",
)


@dataclass(frozen=True)
class EventFilter:
    """DCSA's query parameters, as far as our events can match them."""

    event_types: tuple[str, ...] = ()
    transport_codes: tuple[str, ...] = ()
    equipment_codes: tuple[str, ...] = ()
    waybill_no: str | None = None  # transportDocumentReference
    booking_id: str | None = None  # carrierBookingReference
    unlocode: str | None = None
    transport_call_id: str | None = None
    created: tuple[tuple[str, str], ...] = ()  # (operator, RFC 3339)
    unheld: bool = False  # a filter on data we do not hold: nothing matches

    def codes(self) -> set[str]:
        """The milestone codes that can match."""
        types = set(self.event_types) or {"TRANSPORT", "EQUIPMENT", "SHIPMENT"}
        out: set[str] = set()
        if "TRANSPORT" in types and not self.equipment_codes:
            out |= set(self.transport_codes or TRANSPORT_CODES)
        if "EQUIPMENT" in types and not self.transport_codes:
            out |= set(self.equipment_codes or EQUIPMENT_CODES)
        return out


@dataclass(frozen=True)
class Page:
    events: list[dict[str, Any]]
    current: str
    next: str | None


@dataclass(frozen=True)
class Cursor:
    after: int
    limit: int
    filter: EventFilter = field(default_factory=EventFilter)

    def encode(self) -> str:
        doc = {"after": self.after, "limit": self.limit, "filter": asdict(self.filter)}
        return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()

    @staticmethod
    def decode(token: str) -> Cursor:
        try:
            doc = json.loads(base64.urlsafe_b64decode(token.encode()))
            f = doc["filter"]
            flt = EventFilter(
                **{
                    **f,
                    "event_types": tuple(f["event_types"]),
                    "transport_codes": tuple(f["transport_codes"]),
                    "equipment_codes": tuple(f["equipment_codes"]),
                    "created": tuple((op, at) for op, at in f["created"]),
                }
            )
            cursor = Cursor(int(doc["after"]), int(doc["limit"]), flt)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidInput("the cursor is not one this service gave out") from exc
        if not 1 <= cursor.limit <= 1000 or cursor.after < 0:
            raise InvalidInput("the cursor is not one this service gave out")
        return cursor


def _split(value: str | None, allowed: Sequence[str], name: str) -> tuple[str, ...]:
    items = tuple(v.strip() for v in (value or "").split(",") if v.strip())
    wrong = [v for v in items if v not in allowed]
    if wrong:
        raise InvalidInput(f"{name} takes {', '.join(allowed)}; not {', '.join(wrong)}")
    return items


def parse_filter(params: Mapping[str, str]) -> EventFilter:
    """DCSA's query parameters (comma lists, `eventCreatedDateTime:<op>`) into a filter."""
    created: list[tuple[str, str]] = []
    for key, value in params.items():
        name, _, op = key.partition(":")
        if name != "eventCreatedDateTime":
            continue
        op = op or "eq"
        if op not in OPERATORS:
            raise InvalidInput(f"eventCreatedDateTime takes the operators {', '.join(OPERATORS)}")
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(f"eventCreatedDateTime: {value!r} is not an ISO 8601 date-time") from exc
        if at.tzinfo is None:
            raise InvalidInput("eventCreatedDateTime needs a UTC offset")
        created.append((op, rfc3339(at)))
    return EventFilter(
        event_types=_split(params.get("eventType"), ("SHIPMENT", "TRANSPORT", "EQUIPMENT"), "eventType"),
        transport_codes=_split(
            params.get("transportEventTypeCode"), TRANSPORT_CODES, "transportEventTypeCode"
        ),
        equipment_codes=_split(
            params.get("equipmentEventTypeCode"),
            ("LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA", "RMVD"),
            "equipmentEventTypeCode",
        ),
        waybill_no=params.get("transportDocumentReference") or None,
        booking_id=params.get("carrierBookingReference") or None,
        unlocode=(params.get("UNLocationCode") or "").upper() or None,
        transport_call_id=params.get("transportCallID") or None,
        created=tuple(created),
        unheld=any(params.get(n) for n in UNHELD_FILTERS),
    )


def _stop_of(itinerary: Mapping[str, Any], node_id: str | None) -> Mapping[str, Any] | None:
    for stop in itinerary.get("stops") or []:
        if stop.get("node_id") == node_id:
            return dict(stop)
    return None


def dcsa_event(row: Mapping[Any, Any]) -> dict[str, Any] | None:
    """One of our milestone rows (joined with its waybill) as a DCSA event; None where DCSA has no shape."""
    code, node = row["code"], row["node_id"]
    stop = _stop_of(row["itinerary"] or {}, node)
    if stop is None:
        return None
    incoming = code in INCOMING
    mode = MODES.get(
        str((stop.get("mode_in") if incoming else stop.get("mode_out")) or stop.get("mode_in") or "")
    )
    if mode is None:
        return None
    call: dict[str, Any] = {"transportCallID": f"{row['waybill_no']}/{node}"[:100], "modeOfTransport": mode}
    if stop.get("unlocode"):
        call["UNLocationCode"] = stop["unlocode"]
    if stop.get("name"):
        call["location"] = {"locationName": str(stop["name"])[:100]}
        if stop.get("lat") is not None and stop.get("lon") is not None:
            call["location"].update(
                latitude=f"{float(stop['lat']):.4f}", longitude=f"{float(stop['lon']):.4f}"
            )
    refs = [{"documentReferenceType": "TRD", "documentReferenceValue": row["waybill_no"]}]
    if row["booking_id"]:
        refs.insert(0, {"documentReferenceType": "BKG", "documentReferenceValue": row["booking_id"]})
    event: dict[str, Any] = {
        "eventID": str(uuid.uuid5(EVENT_NAMESPACE, str(row["id"]))),
        "eventCreatedDateTime": rfc3339(row["recorded_time"]),
        "eventDateTime": rfc3339(row["event_time"]),
        "eventClassifierCode": row["classifier"],
        "transportCall": call,
        "documentReferences": refs,
    }
    if code in TRANSPORT_CODES:
        event.update(eventType="TRANSPORT", transportEventTypeCode=code)
    else:
        event.update(eventType="EQUIPMENT", equipmentEventTypeCode=code, emptyIndicatorCode="LADEN")
    return event


def _matches(event: Mapping[str, Any], flt: EventFilter) -> bool:
    call = event["transportCall"]
    if flt.unlocode and call.get("UNLocationCode") != flt.unlocode:
        return False
    return not (flt.transport_call_id and call["transportCallID"] != flt.transport_call_id)


_COMPARE = {
    "gte": lambda c, v: c >= v,
    "gt": lambda c, v: c > v,
    "lte": lambda c, v: c <= v,
    "lt": lambda c, v: c < v,
    "eq": lambda c, v: c == v,
}


def list_events(
    session: Session,
    tenant_id: str | None,
    waybill_nos: Sequence[str] | None,
    cursor: Cursor,
) -> Page:
    """A page of the events the caller may see (a tenant's, some waybills', or all) after the cursor."""
    flt = cursor.filter
    codes = flt.codes()
    current = cursor.encode()
    if flt.unheld or not codes or (waybill_nos is not None and not waybill_nos):
        return Page([], current, None)
    e, w = waybill_events.c, waybills.c
    stmt = (
        select(
            e.id,
            e.waybill_no,
            e.code,
            e.classifier,
            e.node_id,
            e.event_time,
            e.recorded_time,
            w.booking_id,
            w.itinerary,
        )
        .join(waybills, w.waybill_no == e.waybill_no)
        .where(e.kind == "milestone", e.superseded_by.is_(None), e.code.in_(sorted(codes)))
        .order_by(e.id)
    )
    if tenant_id is not None:
        stmt = stmt.where(w.tenant_id == tenant_id)
    if waybill_nos is not None:
        stmt = stmt.where(w.waybill_no.in_(list(waybill_nos)))
    if flt.waybill_no:
        stmt = stmt.where(e.waybill_no == flt.waybill_no)
    if flt.booking_id:
        stmt = stmt.where(w.booking_id == flt.booking_id)
    for op, at in flt.created:
        stmt = stmt.where(_COMPARE[op](e.recorded_time, datetime.fromisoformat(at.replace("Z", "+00:00"))))
    out: list[dict[str, Any]] = []
    after, last_seen = cursor.after, cursor.after
    batch = max(cursor.limit + 1, 200)
    while len(out) <= cursor.limit:
        rows = session.execute(stmt.where(e.id > after).limit(batch)).mappings().all()
        for r in rows:
            after = int(r["id"])
            ev = dcsa_event(r)
            if ev is not None and _matches(ev, flt):
                if len(out) == cursor.limit:
                    out.append(ev)  # one more than the page: there is a next page
                    break
                out.append(ev)
                last_seen = after
        if len(rows) < batch or len(out) > cursor.limit:
            break
    more = len(out) > cursor.limit
    nxt = Cursor(last_seen, cursor.limit, flt).encode() if more else None
    return Page(out[: cursor.limit], current, nxt)
