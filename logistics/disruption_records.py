"""Stored disruptions as the route planner's disruption objects (shared by quoting and re-planning)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import parse_time
from kernel.errors import InvalidInput
from logistics.tables import disruptions
from routing.disruptions import CloseCorridor, Delay, Disruption, Suspend, Window


def _window(spec: dict[str, Any]) -> Window:
    def at(key: str) -> datetime | None:
        value = spec.get(key)
        return parse_time(value) if value else None

    return Window(at("starts_at"), at("ends_at"))


def to_domain(kind: str, spec: dict[str, Any], reason: str) -> Disruption:
    window = _window(spec)
    if kind == "suspend":
        return Suspend(reason, spec.get("service_id"), spec.get("departure_id"), window)
    if kind == "close":
        return CloseCorridor(reason, spec.get("corridor"), spec.get("node"), window)
    if kind == "delay":
        hours = spec.get("hours")
        if not isinstance(hours, int | float) or hours <= 0:
            raise InvalidInput(
                "a delay needs hours > 0", errors=[{"field": "hours", "message": "must be > 0"}]
            )
        return Delay(
            float(hours), reason, spec.get("node"), spec.get("corridor"), spec.get("service_id"), window
        )
    raise InvalidInput(
        f"unknown disruption kind {kind}", errors=[{"field": "kind", "message": "suspend|close|delay"}]
    )


def active(session: Session) -> tuple[Disruption, ...]:
    rows = session.execute(
        select(disruptions)
        .where(disruptions.c.lifted_at.is_(None))
        .order_by(disruptions.c.created_at, disruptions.c.id)
    ).mappings()
    return tuple(to_domain(r["kind"], r["spec"], r["reason"]) for r in rows)
