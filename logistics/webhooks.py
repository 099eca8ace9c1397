"""Webhook subscriptions: a tenant registers a URL for waybill events; `webhook_delivery` calls it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.ids import new_id
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


def register_webhook(session: Session, command: RegisterWebhook, now: datetime) -> str:
    """Subscribe the tenant's URL to the given events; returns the webhook's id."""
    hook_id = new_id("wh")
    session.execute(
        webhooks.insert().values(
            id=hook_id,
            tenant_id=command.tenant_id,
            url=command.url,
            events=list(command.events),
            secret=command.secret,
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
