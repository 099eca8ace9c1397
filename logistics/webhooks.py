"""Webhook subscriptions: a tenant registers a URL for waybill events; `webhook_delivery` calls it.

Any authenticated principal of a tenant may register its tenant's webhooks (the route asks for no role);
they hear only of the tenant's own waybills. The URL must pass the outbound policy (`kernel.outbound`: no
internal addresses unless `XB_WEBHOOK_ALLOW_HOSTS` allows them), and the shared secret is stored sealed
(`kernel.sealing`, under a key derived from `XB_SECRET_KEY`), opened only to sign a delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput
from kernel.ids import new_id
from kernel.outbound import TargetPolicy, TargetRefused
from kernel.sealing import SecretBox
from logistics.tables import webhooks

WebhookEvent = Literal[
    "waybill.status",
    "waybill.milestone",
    "waybill.alarm",
    "waybill.alarm_cleared",
    "waybill.replanned",
    "*",
]


@dataclass(frozen=True)
class RegisterWebhook:
    tenant_id: str
    url: str
    events: tuple[WebhookEvent, ...]
    secret: str  # the shared secret of the HMAC-SHA256 signature


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    active: bool


@lru_cache(maxsize=4)
def secret_box(secret_key: str) -> SecretBox:
    """The box that seals webhook secrets under `XB_SECRET_KEY` (its own derived key)."""
    return SecretBox(secret_key, "webhook-secrets")


def register_webhook(
    session: Session, command: RegisterWebhook, now: datetime, targets: TargetPolicy, box: SecretBox
) -> str:
    """Subscribe the tenant's URL to the given events; returns the webhook's id."""
    try:
        targets.check_url(command.url)
    except TargetRefused as exc:
        raise InvalidInput(
            f"webhook url refused: {exc}", errors=[{"field": "url", "message": str(exc)}]
        ) from exc
    hook_id = new_id("wh")
    session.execute(
        webhooks.insert().values(
            id=hook_id,
            tenant_id=command.tenant_id,
            url=command.url,
            events=list(command.events),
            secret=box.seal(command.secret),
            created_at=now,
            active=True,
        )
    )
    return hook_id


def list_webhooks(session: Session, tenant_id: str) -> list[Webhook]:
    """The tenant's webhooks (without their secrets)."""
    rows = session.execute(
        select(webhooks.c.id, webhooks.c.url, webhooks.c.events, webhooks.c.active).where(
            webhooks.c.tenant_id == tenant_id
        )
    )
    return [Webhook(r.id, r.url, tuple(r.events), r.active) for r in rows]
