"""Why a quote has no option: relax one constraint at a time and say what would work."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

from routing.errors import NoRoute, RoutingError
from routing.label_search import search
from routing.network_model import Network
from routing.quote_request import Cargo, QuoteRequest
from routing.search_graph import Problem
from routing.timetable import Timetable


def diagnose(network: Network, timetable: Timetable, request: QuoteRequest, pb: Problem) -> RoutingError:
    """Explain an empty answer by relaxing one constraint at a time; say what would work."""
    cargo = request.cargo
    where = f"from {pb.source.lstrip('@')} to {pb.target.lstrip('@')}"
    if pb.deliver_by_s is not None:
        relaxed = search(replace(pb, deliver_by_s=None))
        if relaxed:
            first = datetime.fromtimestamp(min(r.arrival for r in relaxed), UTC)
            return NoRoute(
                f"no option {where} arrives by {request.deliver_by:%Y-%m-%dT%H:%MZ}; "
                f"the earliest arrival is {first:%Y-%m-%dT%H:%MZ}",
                suggestion=f"a deliver_by of {first:%Y-%m-%dT%H:%MZ} or later",
            )
    if cargo.dangerous_goods and search(replace(pb, cargo=replace(cargo, dangerous_goods=False))):
        refusing = sorted({s.id for s in network.services.values() if not s.accepts_dangerous_goods()})
        alt = _other_equipment(pb, cargo)
        return NoRoute(
            f"no service on the routes {where} takes dangerous goods for {cargo.equipment} "
            f"(refusing: {', '.join(refusing[:8]) or 'none'})",
            suggestion=alt or "ship the dangerous goods separately; the rest of the cargo has options",
        )
    if cargo.needs_reefer and search(replace(pb, cargo=replace(cargo, temperature=None, equipment="40HC"))):
        return NoRoute(
            f"no service on the routes {where} takes reefer (temperature-controlled) cargo",
            suggestion=_other_equipment(pb, cargo) or "dry cargo in 40HC has options on this route",
        )
    limited = pb.capacity_left is not None or pb.kg_left is not None
    if limited and search(replace(pb, capacity_left=None, kg_left=None)):
        return NoRoute(
            f"every departure that connects {where} is full "
            f"for {cargo.teu():.2f} TEU / {cargo.weight_kg:,.0f} kg",
            suggestion="a later ready_at date, or smaller lots",
        )
    if search(replace(pb, ignore_suspensions=True)):
        return NoRoute(
            f"the services that connect {where} are suspended",
            suggestion="a later ready_at date, once the suspension ends",
        )
    alt = _other_equipment(pb, cargo)
    if alt:
        return NoRoute(f"no service {where} carries {cargo.equipment}", suggestion=alt)
    end = timetable.end
    return NoRoute(
        f"no itinerary {where} fits the timetable (which runs to {end:%Y-%m-%d}) for this cargo",
        suggestion="an earlier ready_at within the timetable horizon, or another destination",
    )


def _other_equipment(pb: Problem, cargo: Cargo) -> str | None:
    limits = pb.network.planning.equipment
    for eq in ("40HC", "40GP", "20GP", "LCL", "AIR"):
        if eq == cargo.equipment:
            continue
        spec = limits.get(eq, {})
        if cargo.weight_kg > spec.get("max_kg", math.inf) or cargo.volume_m3 > spec.get("max_m3", math.inf):
            continue
        if cargo.temperature is not None and eq != "AIR":
            continue
        found = search(replace(pb, cargo=replace(cargo, equipment=eq)))
        if found:
            return f"equipment {eq} has {len(found)} option(s) on this route"
    return None
