"""Filing: the customs data of a booking, the outbox of messages, receipts, and the rejection alarm.

Writers, each in the caller's transaction:
- `declare_booking`: at booking, check and keep the customs data and queue the CEB505 (one per parcel under
  9610), or the CEB511 import waybill of a 1210 booking from abroad into the bonded zone;
  `cancel_declaration`: queue the cancellations of the waybills filed.
- `file_due`: queue the CEB507 / CEB509 (or the import's CEB513) the waybill's current ACT milestones
  call for (`triggers.due`). Run by the ingest hook in the transaction that recorded the milestones, so a
  milestone and its filing commit together; the unique fact key makes a second run (a retry, a replay)
  file nothing.
- `apply_receipt`: a receipt (CEB506/508/510/512/514) moves its message to ACCEPTED or REJECTED; a
  rejection raises a `customs_rejected` alarm on the waybill (its row and its event log, like every
  alarm), cleared when a later filing of the same kind and subject is accepted.
Every message is validated against `spec` before it is queued: one that fails is a defect here, not the
forwarder's, and raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.clock import parse_time, rfc3339
from kernel.errors import Conflict, InvalidInput, NotFound
from logistics import events, shipment_facts
from logistics.customs import declaration, messages, triggers
from logistics.customs.spec import SchemaError, local, q, validate, validate_receipt
from logistics.customs.tables import customs_declarations, customs_messages
from logistics.tables import bookings, waybill_events, waybills

ACCEPTED_STATUSES = frozenset({"120", "399", "800", "899"})  # entered, concluded, released, cleared (S4)
REJECTED_STATUSES = frozenset({"100", "4"})  # returned by customs, sending to customs failed (S4)
TRIGGER_CODES = frozenset({"GTOT", "CROS", "DEPA", "ARRI"})
MILESTONE_TYPES = ("CEB507", "CEB509", "CEB513")  # the messages a milestone files
ALARM = "customs_rejected"
RECEIPT_FOR = {
    "CEB506": "CEB505",
    "CEB508": "CEB507",
    "CEB510": "CEB509",
    "CEB512": "CEB511",
    "CEB514": "CEB513",
}


@dataclass(frozen=True)
class Network:
    """What filing needs of the network: a node's country, and whether a node is an overseas warehouse's."""

    country_of: Callable[[str], str | None]
    is_overseas_warehouse: Callable[[Session, str], bool]


def _dxp_id(data: declaration.CustomsData) -> str:
    # The enterprise's DXP id is set by its own single-window client; this stands in for it (documented).
    return f"DXPENT{data.logistics_enterprise.code}"[:30]


def _queue(
    session: Session,
    *,
    guid: str,
    waybill_no: str,
    tenant_id: str,
    type_: str,
    app_type: str,
    subject: str,
    fact_key: str,
    xml: bytes,
    trigger: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Queue one validated message; False when its fact was filed already (nothing is written)."""
    try:
        validate(xml)
    except SchemaError as exc:
        raise RuntimeError(f"{type_} for {waybill_no} does not validate: {exc}") from exc
    if session.execute(select(customs_messages.c.seq).where(customs_messages.c.fact_key == fact_key)).first():
        return False
    try:
        with session.begin_nested():
            session.execute(
                customs_messages.insert().values(
                    id=guid,
                    waybill_no=waybill_no,
                    tenant_id=tenant_id,
                    type=type_,
                    app_type=app_type,
                    subject=subject,
                    fact_key=fact_key,
                    status="QUEUED",
                    trigger=trigger,
                    xml=xml.decode("utf-8"),
                    receipt=None,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    except IntegrityError:
        return False  # another transaction filed the same fact first
    return True


def _shipment(waybill_no: str, route: Mapping[str, Any]) -> messages.Shipment:
    dep = route.get("exit_departure")
    return messages.Shipment(
        waybill_no=waybill_no,
        freight=Decimal(route["freight"]),
        freight_currency=route["freight_currency"],
        exit_mode=route.get("exit_mode"),
        exit_service=route.get("exit_service"),
        exit_departure=parse_time(dep) if dep else None,
    )


def _exit_departure(itinerary: Mapping[str, Any], node: str | None) -> str | None:
    for stop in itinerary["stops"]:
        if stop["node_id"] == node:
            value = stop.get("planned_departure") or stop.get("planned_arrival")
            return str(value) if value else None
    return None


def _checked_route(
    session: Session, network: Network, wb: RowMapping, data: declaration.CustomsData
) -> triggers.CustomsRoute:
    """The waybill's customs route, once its customs data has passed the mode rules (a 422 otherwise)."""
    route = triggers.customs_route(wb["itinerary"], network.country_of)
    declaration.check(
        wb["customs_mode"],
        data,
        declaration.Route(
            origin=wb["origin"],
            destination=wb["destination"],
            exit_node=route.exit_node,
            destination_is_overseas_warehouse=network.is_overseas_warehouse(session, wb["destination"]),
        ),
    )
    return route


def declare_booking(
    session: Session,
    network: Network,
    waybill_no: str,
    data: declaration.CustomsData | None,
    now: datetime,
) -> int:
    """Keep a booking's customs data and queue its CEB505s; the number queued (0 without customs data)."""
    if data is None:
        return 0
    wb = session.execute(select(waybills).where(waybills.c.waybill_no == waybill_no)).mappings().one()
    booking = session.execute(select(bookings).where(bookings.c.waybill_no == waybill_no)).mappings().one()
    route = _checked_route(session, network, wb, data)
    bonded_import = wb["customs_mode"] == "1210" and route.import_site in declaration.BONDED_NODES
    route_doc = {
        "origin_site": route.origin_site,
        # a 1210 consignment from abroad into the bonded zone: the import series (CEB511/513) instead
        "import_site": route.import_site if bonded_import else None,
        "exit_node": route.exit_node,
        "exit_milestone": route.exit_milestone,
        "exit_mode": route.exit_mode,
        "exit_service": route.exit_service,
        "exit_departure": _exit_departure(wb["itinerary"], route.exit_node),
        "freight": str(booking["cost_amount"]),
        "freight_currency": booking["currency"],
    }
    session.execute(
        customs_declarations.insert().values(
            waybill_no=waybill_no,
            tenant_id=wb["tenant_id"],
            mode=wb["customs_mode"],
            data=data.to_json(),
            route=route_doc,
            created_at=now,
        )
    )
    shipment_facts.refresh(session, [waybill_no])  # parcels and declared value in the statistics
    return _file_waybills(session, wb["tenant_id"], waybill_no, data, route_doc, "1", now)


def _file_waybills(
    session: Session,
    tenant_id: str,
    waybill_no: str,
    data: declaration.CustomsData,
    route_doc: Mapping[str, Any],
    app_type: str,
    now: datetime,
    revision: int = 0,
) -> int:
    count = len(data.parcels) or 1
    guids = [messages.new_guid() for _ in range(count)]
    shipment = _shipment(waybill_no, route_doc)
    type_ = "CEB511" if route_doc.get("import_site") else "CEB505"
    if type_ == "CEB511":
        built = [
            (
                waybill_no,
                messages.import_waybill_message(guids[0], app_type, now, data, shipment, _dxp_id(data)),
            )
        ]
    else:
        built = messages.waybill_messages(guids, app_type, now, data, shipment, _dxp_id(data))
    queued = 0
    version = {"1": "new", "2": "change", "3": "cancel"}[app_type]
    for guid, (no, xml) in zip(guids, built, strict=True):
        queued += _queue(
            session,
            guid=guid,
            waybill_no=waybill_no,
            tenant_id=tenant_id,
            type_=type_,
            app_type=app_type,
            subject=no,
            fact_key=f"{waybill_no}|{type_}|{no}|{version}{revision or ''}",
            xml=xml,
            trigger=None,
            now=now,
        )
    return queued


def correct_declaration(
    session: Session, network: Network, waybill_no: str, data: declaration.CustomsData, now: datetime
) -> int:
    """Replace a waybill's customs data and queue its CEB505 corrections (appType 2); a waybill declared
    for the first time files its waybills as at booking. The number of messages queued."""
    decl = (
        session.execute(
            select(customs_declarations)
            .where(customs_declarations.c.waybill_no == waybill_no)
            .with_for_update()
        )
        .mappings()
        .first()
    )
    if decl is None:
        return declare_booking(session, network, waybill_no, data, now)
    wb = session.execute(select(waybills).where(waybills.c.waybill_no == waybill_no)).mappings().one()
    if wb["status"] == "CANCELLED":
        raise Conflict(f"waybill {waybill_no} is cancelled: its declarations are withdrawn")
    _checked_route(session, network, wb, data)  # the corrected data passes the mode rules
    session.execute(
        update(customs_declarations)
        .where(customs_declarations.c.waybill_no == waybill_no)
        .values(data=data.to_json())
    )
    shipment_facts.refresh(session, [waybill_no])
    revision = _revision(session, waybill_no, data)
    queued = _file_waybills(session, decl["tenant_id"], waybill_no, data, decl["route"], "2", now, revision)
    return queued + _refile_rejected(session, decl, data, revision, now)


def _refile_rejected(
    session: Session, decl: Any, data: declaration.CustomsData, revision: int, now: datetime
) -> int:
    """Arrivals and departures the single window rejected (for the waybill it had refused, say), filed again
    from the corrected data after the waybill corrections: the window never entered them, so appType 1."""
    rows = session.execute(
        select(customs_messages)
        .where(
            customs_messages.c.waybill_no == decl["waybill_no"],
            customs_messages.c.type.in_(MILESTONE_TYPES),
        )
        .order_by(customs_messages.c.seq)
    ).mappings()
    latest: dict[tuple[str, str], list[Any]] = {}  # the parts of the latest filing of each kind and subject
    for r in rows:
        parts = latest.setdefault((r["type"], r["subject"]), [])
        if parts and parts[-1]["fact_key"].split("#")[0] != r["fact_key"].split("#")[0]:
            parts.clear()
        parts.append(r)
    shipment = _shipment(decl["waybill_no"], decl["route"])
    queued = 0
    for (type_, subject), parts in latest.items():
        r = parts[0]
        if all(p["status"] != "REJECTED" for p in parts) or not r["trigger"]:
            continue
        base = r["fact_key"].split("#")[0].split("|refiled")[0]
        queued += _queue_milestone(
            session,
            decl,
            type_=type_,
            app_type="1",
            subject=subject,
            fact_key=f"{base}|refiled{revision}",
            at=parse_time(r["trigger"]["time"]),
            trigger=r["trigger"],
            data=data,
            shipment=shipment,
            now=now,
        )
    return queued


def replanned(
    session: Session, country_of: Callable[[str], str | None], waybill_no: str, now: datetime
) -> int:
    """After a re-plan (a disruption): take the new route and price, and queue the CEB505 modifications
    (appType 2) of a declared waybill; 0 for one without customs data."""
    decl = _declaration(session, waybill_no)
    if decl is None:
        return 0
    wb = session.execute(select(waybills).where(waybills.c.waybill_no == waybill_no)).mappings().one()
    booking = session.execute(select(bookings).where(bookings.c.waybill_no == waybill_no)).mappings().one()
    route = triggers.customs_route(wb["itinerary"], country_of)
    route_doc = {
        **decl["route"],
        "exit_node": route.exit_node,
        "exit_milestone": route.exit_milestone,
        "exit_mode": route.exit_mode,
        "exit_service": route.exit_service,
        "exit_departure": _exit_departure(wb["itinerary"], route.exit_node),
        "freight": str(booking["cost_amount"]),
    }
    session.execute(
        update(customs_declarations)
        .where(customs_declarations.c.waybill_no == waybill_no)
        .values(route=route_doc)
    )
    data = declaration.CustomsData.from_json(decl["data"])
    return _file_waybills(
        session,
        decl["tenant_id"],
        waybill_no,
        data,
        route_doc,
        "2",
        now,
        _revision(session, waybill_no, data),
    )


def _revision(session: Session, waybill_no: str, data: declaration.CustomsData) -> int:
    """The number of the next modification of a waybill's CEB505s (its fact keys differ per revision)."""
    changes = session.execute(
        select(customs_messages.c.seq).where(
            customs_messages.c.waybill_no == waybill_no,
            customs_messages.c.type.in_(("CEB505", "CEB511")),
            customs_messages.c.app_type == "2",
        )
    ).all()
    return len(changes) // max(1, len(data.parcels) or 1) + 1


def _declaration(session: Session, waybill_no: str) -> Any:
    return (
        session.execute(select(customs_declarations).where(customs_declarations.c.waybill_no == waybill_no))
        .mappings()
        .first()
    )


def cancel_declaration(session: Session, waybill_no: str, now: datetime) -> int:
    """Queue the CEB505 cancellations (appType 3) of a cancelled booking's waybills; 0 if none were filed."""
    decl = _declaration(session, waybill_no)
    if decl is None:
        return 0
    data = declaration.CustomsData.from_json(decl["data"])
    return _file_waybills(session, decl["tenant_id"], waybill_no, data, decl["route"], "3", now)


def file_due(session: Session, waybill_no: str, now: datetime) -> int:
    """Queue the arrival and departure messages the waybill's current ACT milestones call for."""
    decl = _declaration(session, waybill_no)
    if decl is None:
        return 0
    route_doc = decl["route"]
    route = triggers.CustomsRoute(
        route_doc["origin_site"],
        route_doc["exit_node"],
        route_doc["exit_milestone"],
        route_doc["exit_mode"],
        route_doc["exit_service"],
        route_doc.get("import_site"),
    )
    rows = session.execute(
        select(
            waybill_events.c.code,
            waybill_events.c.node_id,
            waybill_events.c.event_time,
            waybill_events.c.inferred,
        ).where(
            waybill_events.c.waybill_no == waybill_no,
            waybill_events.c.kind == "milestone",
            waybill_events.c.classifier == "ACT",
            waybill_events.c.superseded_by.is_(None),
            waybill_events.c.code.in_(TRIGGER_CODES),
        )
    ).all()
    current = [
        triggers.ActMilestone(r.code, r.node_id, parse_time(rfc3339(r.event_time)), bool(r.inferred))
        for r in rows
    ]
    filed = session.execute(
        select(customs_messages.c.fact_key).where(
            customs_messages.c.waybill_no == waybill_no, customs_messages.c.type.in_(MILESTONE_TYPES)
        )
    ).scalars()
    data = declaration.CustomsData.from_json(decl["data"])
    shipment = _shipment(waybill_no, route_doc)
    queued = 0
    for d in triggers.due(waybill_no, route, current, filed):
        queued += _queue_milestone(
            session,
            decl,
            type_=d.type,
            app_type=d.app_type,
            subject=d.node_id,
            fact_key=d.fact_key,
            at=d.time,
            trigger={"milestone": d.milestone, "location": d.node_id, "time": rfc3339(d.time)},
            data=data,
            shipment=shipment,
            now=now,
        )
    return queued


def _queue_milestone(
    session: Session,
    decl: Any,
    *,
    type_: str,
    app_type: str,
    subject: str,
    fact_key: str,
    at: datetime,
    trigger: Mapping[str, Any],
    data: declaration.CustomsData,
    shipment: messages.Shipment,
    now: datetime,
) -> int:
    """Queue a milestone's message; an arrival or departure list longer than a message holds goes out in
    several (msgCount/msgSeqNo), the first under the fact key and the others under `<fact key>#<part>`."""
    parts = messages.list_parts(data) if type_ in ("CEB507", "CEB509") else 1
    queued = 0
    for part in range(1, parts + 1):
        guid = messages.new_guid()
        queued += _queue(
            session,
            guid=guid,
            waybill_no=decl["waybill_no"],
            tenant_id=decl["tenant_id"],
            type_=type_,
            app_type=app_type,
            subject=subject,
            fact_key=(fact_key if part == 1 else f"{fact_key}#{part}")[:200],
            xml=_milestone_message(type_, guid, app_type, now, at, data, shipment, part),
            trigger=dict(trigger),
            now=now,
        )
    return queued


def _milestone_message(
    type_: str,
    guid: str,
    app_type: str,
    now: datetime,
    at: datetime,
    data: declaration.CustomsData,
    shipment: messages.Shipment,
    part: int = 1,
) -> bytes:
    """The arrival (CEB507), departure (CEB509) or import status (CEB513) for a milestone at `at`."""
    if type_ == "CEB507":
        return messages.arrival_message(guid, app_type, now, data, shipment, _dxp_id(data), part)
    if type_ == "CEB509":
        return messages.departure_message(guid, app_type, now, at, data, shipment, _dxp_id(data), part)
    return messages.waybill_status_message(guid, app_type, now, at, data, shipment, _dxp_id(data))


# ------------------------------------------------------------------------------------------ receipts


@dataclass(frozen=True)
class ReceiptApplied:
    message_id: str
    waybill_no: str
    status: str


def parse_receipt(xml: bytes) -> tuple[str, str, dict[str, str]]:
    """(receipt type, message guid, its fields) of a CEB506/508/510/512/514; InvalidInput when it is none."""
    try:
        type_, block = validate_receipt(xml)
    except SchemaError as exc:
        raise InvalidInput(
            "not a CEB506/508/510/512/514 receipt of the schema",
            errors=[{"field": "body", "message": p} for p in exc.problems[:20]],
        ) from exc
    fields = {local(e.tag): (e.text or "") for e in block}
    return type_, fields["guid"], fields


def apply_receipt(
    session: Session, xml: bytes, now: datetime, visible_to: str | None = None
) -> ReceiptApplied:
    """Move the receipt's message to ACCEPTED / REJECTED (a rejection raises the waybill's alarm).

    `visible_to`: the tenant the caller may act for (None: any, the platform's gateway or an admin)."""
    type_, guid, fields = parse_receipt(xml)
    query = select(customs_messages).where(customs_messages.c.id == guid)
    if visible_to is not None:
        query = query.where(customs_messages.c.tenant_id == visible_to)
    msg = session.execute(query.with_for_update()).mappings().first()
    if msg is None:
        raise NotFound(f"customs message {guid} does not exist")
    if RECEIPT_FOR[type_] != msg["type"]:
        raise Conflict(f"a {type_} answers a {RECEIPT_FOR[type_]}, and message {guid} is a {msg['type']}")
    code = fields["returnStatus"]
    status = (
        "ACCEPTED"
        if code in ACCEPTED_STATUSES
        else "REJECTED"
        if code in REJECTED_STATUSES or code.startswith("-")
        else "SENT"
    )
    receipt = {
        "type": type_,
        "return_status": code,
        "return_info": fields.get("returnInfo", ""),
        "return_time": fields["returnTime"],
        "received": rfc3339(now),
    }
    if msg["status"] in ("ACCEPTED", "REJECTED"):
        if msg["receipt"] and msg["receipt"].get("return_status") == code:
            return ReceiptApplied(guid, msg["waybill_no"], msg["status"])  # the same receipt again
        if status == "SENT":
            status = msg["status"]  # an intermediate receipt after the final one changes nothing
    session.execute(
        update(customs_messages)
        .where(customs_messages.c.id == guid)
        .values(status=status, receipt=receipt, sent_at=msg["sent_at"] or now)
    )
    if status == "REJECTED" and msg["status"] != "REJECTED":
        _raise_alarm(session, msg, receipt, now)
    elif status == "ACCEPTED":
        _clear_alarm(session, msg, now)
    return ReceiptApplied(guid, msg["waybill_no"], status)


def _raise_alarm(session: Session, msg: Any, receipt: Mapping[str, Any], now: datetime) -> None:
    row = (
        session.execute(
            select(waybills.c.alarms).where(waybills.c.waybill_no == msg["waybill_no"]).with_for_update()
        )
        .mappings()
        .one()
    )
    alarm = {
        "kind": ALARM,
        "raised_at": rfc3339(now),
        "cleared_at": None,
        "detail": f"{msg['type']} {msg['id']} ({msg['subject']}) rejected: "
        f"{receipt['return_status']} {receipt['return_info']}"[:500],
        "message_id": msg["id"],
        "subject": f"{msg['type']}|{msg['subject']}",
    }
    session.execute(
        update(waybills)
        .where(waybills.c.waybill_no == msg["waybill_no"])
        .values(alarms=[*(row["alarms"] or []), alarm], updated_at=now)
    )
    events.append(
        session,
        msg["waybill_no"],
        kind="alarm",
        code="CUSTOMS_REJECTED",
        event_time=now,
        recorded_time=now,
        detail=alarm,
    )


def _clear_alarm(session: Session, msg: Any, now: datetime) -> None:
    row = (
        session.execute(
            select(waybills.c.alarms).where(waybills.c.waybill_no == msg["waybill_no"]).with_for_update()
        )
        .mappings()
        .one()
    )
    subject = f"{msg['type']}|{msg['subject']}"
    alarms = [dict(a) for a in row["alarms"] or []]
    cleared = [
        a for a in alarms if a["kind"] == ALARM and not a.get("cleared_at") and a.get("subject") == subject
    ]
    if not cleared:
        return
    for a in cleared:
        a["cleared_at"] = rfc3339(now)
        events.append(
            session,
            msg["waybill_no"],
            kind="alarm",
            code="CUSTOMS_REJ_CLEARED",  # waybill_events.code holds 20 characters
            event_time=now,
            recorded_time=now,
            detail=a,
        )
    session.execute(
        update(waybills)
        .where(waybills.c.waybill_no == msg["waybill_no"])
        .values(alarms=alarms, updated_at=now)
    )


__all__ = [
    "ALARM",
    "Network",
    "ReceiptApplied",
    "apply_receipt",
    "cancel_declaration",
    "declare_booking",
    "file_due",
    "parse_receipt",
    "q",
]


class CustomsDesk:
    """The customs side of bookings and tracking, bound to the network once (`api.wiring` builds it)."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def declare(
        self, session: Session, waybill_no: str, data: declaration.CustomsData | None, now: datetime
    ) -> int:
        """After a booking: keep its customs data and queue its waybill messages."""
        return declare_booking(session, self.network, waybill_no, data, now)

    def correct(self, session: Session, waybill_no: str, data: declaration.CustomsData, now: datetime) -> int:
        """A forwarder's corrected customs data: queue the waybill corrections."""
        return correct_declaration(session, self.network, waybill_no, data, now)

    def cancel(self, session: Session, waybill_no: str, now: datetime) -> int:
        """After a cancellation: queue the waybill cancellations."""
        return cancel_declaration(session, waybill_no, now)

    def on_milestones(self, session: Session, waybill_no: str, codes: set[str], now: datetime) -> int:
        """After tracking recorded milestones: queue what a trigger milestone among them calls for."""
        return file_due(session, waybill_no, now) if codes & TRIGGER_CODES else 0
