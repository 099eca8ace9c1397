"""Demo data: tenants and API keys for every role, warehouses, sellers and SKUs (`xborder seed`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kernel.clock import Clock
from kernel.db import Database
from kernel.errors import Unauthorized
from kernel.identity import (
    Role,
    TenantKind,
    authenticate,
    create_tenant,
    ensure_platform_tenant,
    issue_key,
    tenants,
)

DEMO_TENANTS = [
    ("admin", None, "xborder platform"),
    ("network", None, "xborder platform"),
    ("forwarder", TenantKind.FORWARDER, "Sanjiang Freight Forwarding (Yibin)"),
    ("operator", TenantKind.OPERATOR, "EuroAsia Shared Warehousing"),
    ("seller", TenantKind.SELLER, "Yibin Zaoshan Tea Co."),
    ("seller2", TenantKind.SELLER, "Changning Bamboo Crafts"),
]
# The platform's own keys: its admin, and its network operator who declares disruptions and edits services.
PLATFORM_ROLES = {"admin": Role.ADMIN, "network": Role.NETWORK_OPERATOR}


def _keys_valid(db: Database, keys: dict[str, Any]) -> bool:
    if any(name not in keys for name, _, _ in DEMO_TENANTS):
        return False  # written before a demo role was added
    try:
        with db.session() as s:
            for entry in keys.values():
                authenticate(s, entry["key"])
    except (Unauthorized, KeyError, TypeError):
        return False
    return True


def seed_demo(db: Database, clock: Clock, keys_file: Path) -> dict[str, Any]:
    """Idempotent: reuses the keys in `keys_file` if they still work, else creates tenants and keys."""
    if keys_file.exists():
        stored: dict[str, Any] = json.loads(keys_file.read_text())
        if _keys_valid(db, stored):
            return stored
    now = clock.now()
    keys = {}
    with db.session() as s:
        ensure_platform_tenant(s, now)
        for name, kind, label in DEMO_TENANTS:
            if kind is None:
                tenant_id = "tn_platform"
                role = PLATFORM_ROLES[name]
            else:
                existing = s.execute(select(tenants.c.id).where(tenants.c.name == label)).scalar()
                tenant_id = existing or str(create_tenant(s, label, kind, now)["id"])
                role = Role(kind.value)
            warehouses = (
                ["DEDUI", "PLLOD", "NLRTM", "HUBUD", "SGSIN", "VNSGN", "USLAX"]
                if role is Role.OPERATOR
                else []
            )
            _, secret = issue_key(s, tenant_id, role, now, warehouses, label=f"demo {name}")
            keys[name] = {"role": role.value, "tenant_id": tenant_id, "tenant": label, "key": secret}
    _seed_warehouses(db, clock, [keys["seller"]["tenant_id"], keys["seller2"]["tenant_id"]])
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps(keys, indent=2))
    keys_file.chmod(0o600)
    return keys


def _seed_warehouses(db: Database, clock: Clock, seller_ids: list[str]) -> None:
    try:
        from warehouse.seed import seed_demo as seed_warehouses
    except ImportError:
        return
    with db.session() as s:
        seed_warehouses(s, clock.now(), seller_ids)
