"""From a planned option to an itinerary: legs, the stops along them, and the planned (PLN) milestones.

Pure: works on `routing` objects and plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from geopy.distance import great_circle

from kernel.clock import parse_time, rfc3339
from routing.network import Network, Node
from routing.options import Option, PlannedLeg

# Geofence radius by node kind, km. Coordinates of terminals are city points, so fences are generous.
RADIUS_KM = {
    "border_crossing": 15.0,
    "seaport": 12.0,
    "river_port": 8.0,
    "airport": 8.0,
    "rail_terminal": 8.0,
    "inland_hub": 8.0,
    "warehouse": 3.0,
}


def _kinds(node: Node) -> tuple[str, ...]:
    return tuple(node.kinds)


def radius_for(node: Node) -> float:
    return max((RADIUS_KM.get(k, 5.0) for k in _kinds(node)), default=5.0)


def _role(node: Node, position: str) -> str:
    if position == "origin":
        return "origin"
    if "warehouse" in _kinds(node) and position == "destination":
        return "warehouse"
    if "border_crossing" in _kinds(node):
        return "border"
    return "destination" if position == "destination" else "hub"


def leg_json(leg: PlannedLeg) -> dict[str, Any]:
    return {
        "mode": leg.mode,
        "origin": leg.origin,
        "destination": leg.destination,
        "departure": rfc3339(leg.departure),
        "arrival": rfc3339(leg.arrival),
        "service_id": leg.service_id,
        "departure_id": leg.departure_id,
        "corridor": leg.corridor,
        "distance_km": round(leg.distance_km, 1),
        "cost": {"amount": f"{leg.cost:.2f}", "currency": "USD"},
        "co2e_kg": round(leg.co2e_kg, 1),
        "co2e": {
            "wtw_kg": round(leg.co2e_kg, 1),
            "ttw_kg": round(leg.ttw_co2e_kg, 1),
            "hub_kg": round(leg.hub_co2e_kg, 1),
            "wtw_g_per_tkm": leg.wtw_g_per_tkm,
            "ttw_g_per_tkm": leg.ttw_g_per_tkm,
            "tonnes": round(leg.weight_kg / 1000.0, 3),
            "distance_km": round(leg.distance_km, 1),
            "distance_basis": leg.distance_basis,
            "emission_class": leg.emission_class,
            "source": leg.emission_source,
        },
        "basis": leg.basis,
    }


def option_json(option: Option) -> dict[str, Any]:
    return {
        "id": option.id,
        "legs": [leg_json(leg) for leg in option.legs],
        "cost": {
            "amount": f"{option.total():.2f}",
            "currency": option.currency,
            "transport": f"{option.cost:.2f}",
            "breakdown": [
                {
                    "code": c.code,
                    "description": c.description,
                    "amount": f"{c.amount:.2f}",
                    "leg": c.leg,
                    "basis": c.basis,
                    "source": c.source,
                }
                for c in option.breakdown
            ],
        },
        "transit_hours": round(option.transit_hours, 1),
        "door_to_door_hours": round(option.door_to_door_hours, 1),
        "door_to_door_days": round(option.door_to_door_hours / 24, 1),
        "delivery": rfc3339(option.legs[-1].arrival + timedelta(hours=option.destination_hours)),
        "co2e_kg": round(option.co2e_kg, 1),
        "co2e": {
            "wtw_kg": round(option.co2e_kg, 1),
            "ttw_kg": round(option.ttw_co2e_kg(), 1),
            "hub_kg": round(option.hub_co2e_kg(), 1),
            "co2e_kg_scope": "WTW",
            "method": "ISO 14083:2023 / GLEC Framework v3: distance x tonnes x intensity per leg, plus hubs",
        },
        "labels": list(option.labels),
        "basis": option.basis,
        "departure": rfc3339(option.legs[0].departure),
        "arrival": rfc3339(option.legs[-1].arrival),
    }


def _stop(
    node: Node,
    role: str,
    arrival: datetime | None,
    departure: datetime | None,
    mode_in: str | None,
    mode_out: str | None,
) -> dict[str, Any]:
    return {
        "node_id": node.id,
        "name": node.name,
        "unlocode": node.unlocode,
        "lat": node.lat,
        "lon": node.lon,
        "role": role,
        "radius_km": radius_for(node),
        "planned_arrival": rfc3339(arrival) if arrival else None,
        "planned_departure": rfc3339(departure) if departure else None,
        "mode_in": mode_in,
        "mode_out": mode_out,
    }


def _via_stops(network: Network, leg: dict[str, Any]) -> list[dict[str, Any]]:
    """Border crossings a through service passes, with planned times interpolated by distance."""
    service = network.services.get(leg["service_id"] or "")
    if service is None or not service.via:
        return []
    points = [network.nodes[leg["origin"]]] + [network.nodes[v] for v in service.via if v in network.nodes]
    points.append(network.nodes[leg["destination"]])
    cumulative = [0.0]
    for a, b in zip(points, points[1:], strict=False):
        cumulative.append(cumulative[-1] + great_circle((a.lat, a.lon), (b.lat, b.lon)).km)
    total = cumulative[-1] or 1.0
    dep, arr = parse_time(leg["departure"]), parse_time(leg["arrival"])
    span = (arr - dep).total_seconds()
    stops = []
    for node, dist in zip(points[1:-1], cumulative[1:-1], strict=False):
        at = dep + timedelta(minutes=round(span * dist / total / 60))
        stops.append(_stop(node, _role(node, "via"), at, at, leg["mode"], leg["mode"]))
    return stops


def build_itinerary(network: Network, option: Mapping[str, Any]) -> dict[str, Any]:
    """The itinerary stored on a waybill: the option's legs and every stop along them."""
    legs = option["legs"]
    stops: list[dict[str, Any]] = []
    first = network.nodes[legs[0]["origin"]]
    stops.append(_stop(first, "origin", None, parse_time(legs[0]["departure"]), None, legs[0]["mode"]))
    for i, leg in enumerate(legs):
        stops.extend(_via_stops(network, leg))
        node = network.nodes[leg["destination"]]
        last = i == len(legs) - 1
        nxt = None if last else legs[i + 1]
        stops.append(
            _stop(
                node,
                _role(node, "destination" if last else "hub"),
                parse_time(leg["arrival"]),
                None if nxt is None else parse_time(nxt["departure"]),
                leg["mode"],
                None if nxt is None else nxt["mode"],
            )
        )
    return {
        "option_id": option["id"],
        "legs": legs,
        "stops": stops,
        "cost": option["cost"],
        "transit_hours": option["transit_hours"],
        "co2e_kg": option["co2e_kg"],
        "basis": option.get("basis"),
    }


def planned_milestones(itinerary: dict[str, Any]) -> list[dict[str, Any]]:
    """PLN milestones (DCSA codes) for every stop of an itinerary."""
    out: list[dict[str, Any]] = []
    for stop in itinerary["stops"]:
        arr, dep = stop["planned_arrival"], stop["planned_departure"]
        role = stop["role"]
        if role == "origin":
            out.append({"code": "GTOT", "node_id": stop["node_id"], "time": dep})
            out.append({"code": "DEPA", "node_id": stop["node_id"], "time": dep})
        elif role == "border":
            out.append({"code": "CROS", "node_id": stop["node_id"], "time": arr})
        elif role == "hub":
            out.append({"code": "ARRI", "node_id": stop["node_id"], "time": arr})
            if stop["mode_in"] != stop["mode_out"]:
                out.append({"code": "DISC", "node_id": stop["node_id"], "time": arr})
                out.append({"code": "LOAD", "node_id": stop["node_id"], "time": dep})
            out.append({"code": "DEPA", "node_id": stop["node_id"], "time": dep})
        elif role == "destination":
            out.append({"code": "ARRI", "node_id": stop["node_id"], "time": arr})
        elif role == "warehouse":
            out.append({"code": "ARRI", "node_id": stop["node_id"], "time": arr})
            out.append({"code": "GTIN", "node_id": stop["node_id"], "time": arr})
    return [m for m in out if m["time"] is not None]
