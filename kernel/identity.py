"""Tenants, API keys and idempotency records: the tables every package relies on."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint, select
from sqlalchemy.orm import Session

from kernel.db import UtcDateTime, metadata
from kernel.errors import InvalidInput, NotFound, Unauthorized
from kernel.ids import new_id


class TenantKind(StrEnum):
    SELLER = "seller"
    FORWARDER = "forwarder"
    OPERATOR = "operator"
    PLATFORM = "platform"
    # The pilot zone's administration: reads statistics and shared events across tenants, never an object.
    REGULATOR = "regulator"


class Role(StrEnum):
    ADMIN = "admin"
    # Changes the shared network for every tenant (disruptions, service rates, capacity): the platform's own.
    NETWORK_OPERATOR = "network_operator"
    # Runs the warehouses its key names, and nothing beyond them.
    OPERATOR = "operator"
    FORWARDER = "forwarder"
    SELLER = "seller"
    DEVICE = "device"
    # Aggregates across tenants (groups below XB_STATS_MIN_TENANTS suppressed) and DCSA events; no object.
    REGULATOR = "regulator"


ROLE_FOR_KIND = {
    TenantKind.SELLER: {Role.SELLER},
    TenantKind.FORWARDER: {Role.FORWARDER},
    TenantKind.OPERATOR: {Role.OPERATOR},
    TenantKind.REGULATOR: {Role.REGULATOR},
    TenantKind.PLATFORM: {
        Role.ADMIN,
        Role.NETWORK_OPERATOR,
        Role.DEVICE,
        Role.OPERATOR,
        Role.FORWARDER,
        Role.SELLER,
    },
}

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("role", String(20), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("warehouses", JSON, nullable=False, default=list),
    Column("label", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("principal_id", String(40), nullable=False),
    Column("key", String(200), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False, index=True),
    UniqueConstraint("principal_id", "scope", "key", name="uq_idempotency_keys_principal_scope_key"),
)

PLATFORM_TENANT_ID = "tn_platform"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's tenant, its role, and for operators the warehouses it runs."""

    key_id: str
    tenant_id: str
    role: Role
    warehouses: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def hash_key(secret: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is enough (no dictionary to defend against).
    return hashlib.sha256(secret.encode()).hexdigest()


def ensure_platform_tenant(session: Session, now: datetime) -> str:
    found = session.execute(select(tenants.c.id).where(tenants.c.id == PLATFORM_TENANT_ID)).first()
    if not found:
        session.execute(
            tenants.insert().values(
                id=PLATFORM_TENANT_ID, name="xborder platform", kind=TenantKind.PLATFORM, created_at=now
            )
        )
    return PLATFORM_TENANT_ID


def create_tenant(session: Session, name: str, kind: TenantKind, now: datetime) -> dict[str, Any]:
    if not name.strip():
        raise InvalidInput("tenant name must not be empty")
    tenant_id = new_id("tn")
    row: dict[str, Any] = {"id": tenant_id, "name": name.strip(), "kind": kind.value, "created_at": now}
    session.execute(tenants.insert().values(**row))
    return row


def get_tenant(session: Session, tenant_id: str) -> dict[str, object]:
    row = session.execute(select(tenants).where(tenants.c.id == tenant_id)).mappings().first()
    if row is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    return dict(row)


def issue_key(
    session: Session,
    tenant_id: str,
    role: Role,
    now: datetime,
    warehouses: list[str] | None = None,
    label: str | None = None,
) -> tuple[str, str]:
    """Create an API key; returns (key id, the secret shown once). Only its hash is stored."""
    tenant = get_tenant(session, tenant_id)
    allowed = ROLE_FOR_KIND[TenantKind(str(tenant["kind"]))]
    if role not in allowed:
        raise InvalidInput(
            f"role {role.value} does not fit a {tenant['kind']} tenant",
            errors=[{"field": "role", "message": f"allowed: {sorted(r.value for r in allowed)}"}],
        )
    prefix = secrets.token_hex(6)
    secret = f"xb_{prefix}_{secrets.token_urlsafe(32)}"
    key_id = new_id("key")
    session.execute(
        api_keys.insert().values(
            id=key_id,
            tenant_id=tenant_id,
            role=role.value,
            prefix=prefix,
            key_hash=hash_key(secret),
            warehouses=list(warehouses or []),
            label=label,
            created_at=now,
        )
    )
    return key_id, secret


def idempotency_cutoff(now: datetime, ttl_hours: float) -> datetime:
    """Idempotency answers stored before this moment have expired."""
    return now - timedelta(hours=ttl_hours)


def list_keys(session: Session, tenant_id: str | None = None) -> list[dict[str, Any]]:
    """The API keys (never their hashes), oldest first; only `tenant_id`'s where one is given."""
    query = select(
        api_keys.c.id,
        api_keys.c.tenant_id,
        api_keys.c.role,
        api_keys.c.prefix,
        api_keys.c.warehouses,
        api_keys.c.label,
        api_keys.c.created_at,
        api_keys.c.revoked_at,
    ).order_by(api_keys.c.created_at, api_keys.c.id)
    if tenant_id is not None:
        query = query.where(api_keys.c.tenant_id == tenant_id)
    return [dict(row) for row in session.execute(query).mappings()]


def revoke_key(session: Session, key_id: str, now: datetime, tenant_id: str | None = None) -> None:
    """Revoke a key (again: a no-op); NotFound for an unknown key or, given `tenant_id`, another tenant's."""
    query = select(api_keys.c.revoked_at).where(api_keys.c.id == key_id)
    if tenant_id is not None:
        query = query.where(api_keys.c.tenant_id == tenant_id)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"API key {key_id} does not exist")
    if row.revoked_at is None:
        session.execute(api_keys.update().where(api_keys.c.id == key_id).values(revoked_at=now))


def purge_idempotency_keys(session: Session, before: datetime) -> int:
    """Delete the stored idempotency answers created before `before`; returns how many."""
    result = session.execute(idempotency_keys.delete().where(idempotency_keys.c.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def authenticate(session: Session, secret: str) -> Principal:
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != "xb":
        raise Unauthorized("malformed API key")
    row = session.execute(select(api_keys).where(api_keys.c.prefix == parts[1])).mappings().first()
    if (
        row is None
        or row["revoked_at"] is not None
        or not secrets.compare_digest(row["key_hash"], hash_key(secret))
    ):
        raise Unauthorized("unknown or revoked API key")
    return Principal(
        key_id=row["id"],
        tenant_id=row["tenant_id"],
        role=Role(row["role"]),
        warehouses=tuple(row["warehouses"] or ()),
    )
