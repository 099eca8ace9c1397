"""Small generated networks (network.json shape) and a brute-force reference planner for the tests."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from routing.network import Network, default_planning
from routing.planner import (
    SNAP_CANDIDATES,
    SNAP_WITHIN_KM,
    QuoteRequest,
    carries,
    fits,
    leg_charge,
    road_service,
)
from routing.timetable import Timetable

MODE_SPEED = {"rail": 30.0, "sea": 25.0, "river": 12.0, "road": 50.0}


def small_network(
    coords: list[tuple[float, float]],
    legs: list[tuple[int, int, str, float, float, float, int, bool, bool]],
    handling: int = 6,
) -> dict[str, Any]:
    """Nodes N0..Nk at `coords`; legs (i, j, mode, km, speed factor, departures/week, USD/FEU, DG, 2-way)."""
    nodes = [
        {
            "id": f"N{i}",
            "name": f"Node {i}",
            "unlocode": None,
            "lat": lat,
            "lon": lon,
            "kind": ["inland_hub"],
            "country": "CN",
        }
        for i, (lat, lon) in enumerate(coords)
    ]
    out_legs = []
    overrides: dict[str, Any] = {}
    for k, (i, j, mode, distance, speed_factor, freq, price, dg, bidi) in enumerate(legs):
        leg_id = f"L{k}-N{i}-N{j}-{mode}"
        hours = round(distance / (MODE_SPEED[mode] * speed_factor), 1)
        out_legs.append(
            {
                "id": leg_id,
                "from": f"N{i}",
                "to": f"N{j}",
                "mode": mode,
                "corridor": f"corridor {k % 3}",
                "leg_type": "segment",
                "via": [],
                "bidirectional": bidi,
                "transit_time": {"min": hours, "max": hours, "unit": "hours", "basis": "published"},
                "distance_km": distance,
                "distance_basis": "published",
                "great_circle_km": None,
                "departures_per_week": None if mode == "road" else freq,
                "departures_basis": "published",
                "price": {"currency": "USD", "unit": "per FEU", "value": price, "basis": "published"},
                "sources": [],
                "notes": None,
            }
        )
        if not dg:
            overrides[leg_id] = {"dangerous_goods": False}
    planning = default_planning()
    planning["legs"] = overrides
    planning["node_handling_in_hours"] = {}
    planning["handling_in_hours"] = {
        "rail": handling,
        "sea": handling * 2,
        "river": handling,
        "road": 1,
        "air": 3,
    }
    return {"meta": {"sources": {}}, "nodes": nodes, "legs": out_legs, "planning": planning}


def brute_force(
    network: Network,
    timetable: Timetable,
    request: QuoteRequest,
    capacity_left: dict[str, float] | None = None,
) -> set[tuple[datetime, Decimal, float]]:
    """Enumerate every simple itinerary and every departure choice; return the Pareto front's criteria."""
    cargo = request.cargo
    planning = network.planning
    services = list(network.services.values())
    # coordinates: the nearest terminals, each with a truck leg (the same rule as the planner's)
    if isinstance(request.origin, tuple):
        src = "@origin"
        for node, km in network.nearest(*request.origin, SNAP_CANDIDATES, SNAP_WITHIN_KM):
            services.append(replace(road_service(network, "o", node.id, km, "pre"), origin=src))
    else:
        src = network.resolve(request.origin).id
    if isinstance(request.destination, tuple):
        dst = "@destination"
        for node, km in network.nearest(*request.destination, SNAP_CANDIDATES, SNAP_WITHIN_KM):
            services.append(replace(road_service(network, node.id, "d", km, "on"), destination=dst))
    else:
        dst = network.resolve(request.destination).id
    start = request.ready_at + timedelta(seconds=round(planning.customs_hours[request.customs_mode] * 3600))
    found: list[tuple[datetime, Decimal, float]] = []
    by_service: dict[str, list[Any]] = {}
    for d in timetable.departures:
        by_service.setdefault(d.service_id, []).append(d)

    def dfs(
        node: str, ready: datetime, visited: frozenset[str], legs: int, cost: Decimal, co2: float
    ) -> None:
        for svc in services:
            if svc.origin != node or svc.destination in visited or carries(svc, cargo) is not None:
                continue
            charge = leg_charge(network, svc, cargo, legs > 0 and not node.startswith("@"))
            if svc.on_demand:
                choices = [(ready, ready + timedelta(seconds=round(svc.transit_hours * 3600)))]
            else:
                choices = [
                    (d.departure, d.arrival)
                    for d in by_service.get(svc.id, [])
                    if d.cutoff >= ready and d.status == "scheduled" and fits(d, cargo, capacity_left)
                ]
            for _dep, arr in choices:
                if request.deliver_by is not None and arr > request.deliver_by:
                    continue
                c, e = cost + charge.cost, co2 + charge.co2e_kg
                if svc.destination == dst:
                    found.append((arr, c, e))
                else:
                    hin = timedelta(seconds=round(planning.handling_in(svc.destination, svc.mode) * 3600))
                    if svc.destination.startswith("@"):
                        continue
                    dfs(svc.destination, arr + hin, visited | {svc.destination}, legs + 1, c, e)

    dfs(src, start, frozenset({src}), 0, Decimal("0.00"), 0.0)
    front = {
        f for f in found if not any(g[0] <= f[0] and g[1] <= f[1] and g[2] <= f[2] and g != f for g in found)
    }
    return {(a, c, round(e, 3)) for a, c, e in front}


def with_planning(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["planning"].update(changes)
    return out
