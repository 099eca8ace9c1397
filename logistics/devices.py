"""Trackers: registration with per-device MQTT credentials, attachment to waybills."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import AlreadyExists, InvalidInput, NotFound, WrongState
from kernel.identity import Principal, Role
from logistics.mqtt_acl import hash_password, reserved_for_service
from logistics.tables import devices, tracker_attachments, waybills
from logistics.waybills import require_visible

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # \Z: `$` would let a trailing newline in
KINDS = ("container", "truck", "parcel", "pallet", "reefer")


def mqtt_credentials(session: Session) -> list[tuple[str, str]]:
    """(device id, Mosquitto password hash) of every registered device, for `xborder mqtt-config`."""
    rows = session.execute(select(devices.c.device_id, devices.c.secret_hash).order_by(devices.c.device_id))
    return [(r.device_id, r.secret_hash) for r in rows]


def mqtt_secret_hash(session: Session, device_id: str) -> str | None:
    """The stored broker password hash of one registered device (None: no such device)."""
    return session.execute(select(devices.c.secret_hash).where(devices.c.device_id == device_id)).scalar()


def register(
    session: Session,
    principal: Principal,
    device_id: str,
    kind: str,
    report_interval_s: int,
    now: datetime,
    *,
    service_users: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """`service_users`: the broker's own accounts (XB_MQTT_SERVICE_USER); a device may not take their name,
    since it could never log in under it (the service account is checked first) and the broker's password
    file would hold the name twice. Nor may it start with a service client id prefix (`xborder-`): a
    device's session runs under its device id, which must never be one of the service's client ids."""
    if not DEVICE_ID.match(device_id):
        raise InvalidInput(
            "device_id must be 1-64 letters, digits, '.', '_' or '-' (it becomes an MQTT topic level)",
            errors=[{"field": "device_id", "message": "invalid characters or length"}],
        )
    if device_id in service_users:
        raise InvalidInput(
            f"device_id {device_id} is the MQTT service account's username; choose another",
            errors=[{"field": "device_id", "message": "reserved for the MQTT service account"}],
        )
    if reserved_for_service(device_id):
        raise InvalidInput(
            f"device_id {device_id} starts like the service's MQTT client ids (xborder-); choose another",
            errors=[{"field": "device_id", "message": "reserved for the MQTT service account"}],
        )
    if kind not in KINDS:
        raise InvalidInput(
            f"kind must be one of {', '.join(KINDS)}", errors=[{"field": "kind", "message": "unknown"}]
        )
    if session.execute(select(devices.c.device_id).where(devices.c.device_id == device_id)).first():
        raise AlreadyExists(f"device {device_id} is already registered")
    password = secrets.token_urlsafe(24)
    session.execute(
        devices.insert().values(
            device_id=device_id,
            tenant_id=principal.tenant_id,
            kind=kind,
            secret_hash=hash_password(password),
            report_interval_s=report_interval_s,
            created_at=now,
        )
    )
    return {
        "device_id": device_id,
        "kind": kind,
        "username": device_id,
        "password": password,
        "topic": f"xborder/v1/devices/{device_id}/telemetry",
        "status_topic": f"xborder/v1/devices/{device_id}/status",
        "report_interval_s": report_interval_s,
    }


def _device(session: Session, principal: Principal, device_id: str) -> Any:
    query = select(devices).where(devices.c.device_id == device_id)
    if principal.role is not Role.ADMIN:
        query = query.where(devices.c.tenant_id == principal.tenant_id)
    row = session.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"device {device_id} does not exist")
    return row


def get_device(session: Session, principal: Principal, device_id: str) -> dict[str, Any]:
    row = _device(session, principal, device_id)
    attached = session.execute(
        select(tracker_attachments.c.waybill_no).where(
            tracker_attachments.c.device_id == device_id, tracker_attachments.c.detached_at.is_(None)
        )
    ).scalar()
    return {
        "device_id": row["device_id"],
        "kind": row["kind"],
        "report_interval_s": row["report_interval_s"],
        "last_seq": row["last_seq"],
        "last_seen_at": rfc3339(row["last_seen_at"]) if row["last_seen_at"] else None,
        "waybill_no": attached,
    }


def attach(
    session: Session, principal: Principal, waybill_no: str, device_id: str, now: datetime
) -> dict[str, Any]:
    """Attach a tracker to a shipment; a tracker follows one shipment at a time."""
    require_visible(session, principal, waybill_no)
    _device(session, principal, device_id)
    status = session.execute(
        select(waybills.c.status).where(waybills.c.waybill_no == waybill_no)
    ).scalar_one()
    if status in ("DELIVERED", "CANCELLED"):
        raise WrongState(f"waybill {waybill_no} is {status}; trackers cannot be attached")
    current = session.execute(
        select(tracker_attachments.c.waybill_no).where(
            tracker_attachments.c.device_id == device_id, tracker_attachments.c.detached_at.is_(None)
        )
    ).scalar()
    if current == waybill_no:
        return {"device_id": device_id, "waybill_no": waybill_no, "attached": True}
    if current is not None:
        raise WrongState(f"device {device_id} is attached to waybill {current}; detach it first")
    session.execute(
        tracker_attachments.insert().values(device_id=device_id, waybill_no=waybill_no, attached_at=now)
    )
    return {"device_id": device_id, "waybill_no": waybill_no, "attached": True}


def detach(session: Session, principal: Principal, waybill_no: str, device_id: str, now: datetime) -> None:
    require_visible(session, principal, waybill_no)
    session.execute(
        update(tracker_attachments)
        .where(
            and_(
                tracker_attachments.c.device_id == device_id,
                tracker_attachments.c.waybill_no == waybill_no,
                tracker_attachments.c.detached_at.is_(None),
            )
        )
        .values(detached_at=now)
    )
