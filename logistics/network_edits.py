"""Operators' edits of the network: timetables (departures per week), transit times, rates, capacity, flags.

Edits are stored per service and laid over the reference network by every process (`NetworkState.sync`).
Figures an operator sets carry the basis `operator` in quotes. Validation refuses impossible figures and the
usual unit mistakes (hours given as days or minutes show as an impossible speed for the mode).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.db import dialect_insert
from kernel.errors import InvalidInput, NotFound
from kernel.identity import Principal
from logistics.tables import service_overrides
from routing.network import Network, Rate, Service

# Door-to-door average speeds outside which a transit time is a unit mistake, km/h (min, max).
PLAUSIBLE_SPEED = {"rail": (3, 120), "sea": (5, 60), "river": (2, 35), "air": (80, 1000), "road": (5, 110)}
FIELDS = (
    "departures_per_week",
    "transit_hours",
    "rate_per_feu",
    "rate_per_kg",
    "capacity_teu",
    "capacity_kg",
    "dangerous_goods",
    "reefer",
)


def validate_patch(service: Service, patch: dict[str, Any]) -> dict[str, Any]:
    """The patch, checked field by field; InvalidInput names every problem."""
    problems: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    for key, value in patch.items():
        if key not in FIELDS:
            problems.append({"field": key, "message": f"cannot be edited; editable: {', '.join(FIELDS)}"})
            continue
        if value is None:
            continue
        if key in ("dangerous_goods", "reefer"):
            if not isinstance(value, bool):
                problems.append({"field": key, "message": "must be true or false"})
            else:
                clean[key] = value
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            problems.append({"field": key, "message": "must be a number"})
            continue
        if not number.is_finite() or number < 0:
            problems.append({"field": key, "message": "must be a finite number >= 0"})
            continue
        if key == "departures_per_week" and not (0 < number <= 100):
            problems.append({"field": key, "message": "must be more than 0 and at most 100 per week"})
            continue
        if key == "transit_hours":
            if number <= 0:
                problems.append({"field": key, "message": "must be more than 0 hours"})
                continue
            speed = service.distance_km / float(number)
            low, high = PLAUSIBLE_SPEED.get(service.mode, (1, 1000))
            if not low <= speed <= high:
                hint = "days given as hours?" if speed < low else "hours given as days or minutes?"
                problems.append(
                    {
                        "field": key,
                        "message": (
                            f"{float(number):g} h over {service.distance_km:.0f} km is {speed:.1f} km/h, "
                            f"implausible for {service.mode} ({low}-{high} km/h): {hint}"
                        ),
                    }
                )
                continue
        clean[key] = str(number) if key.startswith("rate") else float(number)
    if problems:
        raise InvalidInput(f"service {service.id}: {len(problems)} figure(s) refused", errors=problems)
    if not clean:
        raise InvalidInput(
            "nothing to change", errors=[{"field": "body", "message": f"give one of {FIELDS}"}]
        )
    return clean


def apply_overrides(network: Network, overrides: dict[str, dict[str, Any]]) -> Network:
    """The network with every stored patch laid over its services."""
    if not overrides:
        return network
    services = dict(network.services)
    for service_id, patch in overrides.items():
        s = services.get(service_id)
        if s is None:
            continue
        changes: dict[str, Any] = {}
        for key in (
            "departures_per_week",
            "transit_hours",
            "capacity_teu",
            "capacity_kg",
            "dangerous_goods",
            "reefer",
        ):
            if key in patch:
                changes[key] = patch[key]
        if "rate_per_feu" in patch or "rate_per_kg" in patch:
            changes["rate"] = Rate(
                Decimal(patch["rate_per_feu"]) if "rate_per_feu" in patch else s.rate.per_feu,
                Decimal(patch["rate_per_kg"]) if "rate_per_kg" in patch else s.rate.per_kg,
                s.rate.currency,
                "operator",
            )
        services[service_id] = replace(s, basis="operator", **changes)
    return Network(network.nodes, services, network.planning, network.sources, network.raw)


def load_overrides(session: Session) -> tuple[tuple[int, str], dict[str, dict[str, Any]]]:
    """(version, patches): the version changes whenever any patch does."""
    count, latest = session.execute(
        select(func.count(), func.max(service_overrides.c.updated_at)).select_from(service_overrides)
    ).one()
    version = (int(count), rfc3339(latest, exact=True) if latest else "")
    if not count:
        return version, {}
    rows = session.execute(select(service_overrides.c.service_id, service_overrides.c.patch)).all()
    return version, {r.service_id: dict(r.patch) for r in rows}


def edit_service(
    session: Session,
    network: Network,
    principal: Principal,
    service_id: str,
    patch: dict[str, Any],
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Store an operator's edit of one service (merged over earlier edits)."""
    service = network.services.get(service_id)
    if service is None:
        raise NotFound(f"service {service_id} does not exist")
    if not reason.strip():
        raise InvalidInput("say why (reason)", errors=[{"field": "reason", "message": "must not be empty"}])
    clean = validate_patch(service, patch)
    current = session.execute(
        select(service_overrides.c.patch).where(service_overrides.c.service_id == service_id)
    ).scalar()
    merged = {**(current or {}), **clean}
    stmt = dialect_insert(session, service_overrides).values(
        service_id=service_id, patch=merged, reason=reason, updated_by=principal.tenant_id, updated_at=now
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["service_id"],
            set_={"patch": merged, "reason": reason, "updated_by": principal.tenant_id, "updated_at": now},
        )
    )
    return {"service_id": service_id, "patch": merged, "reason": reason, "updated_at": rfc3339(now)}
