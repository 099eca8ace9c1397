"""HTTP face of the network: terminals, ports, airports, crossings and the services between them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.bounds import InstantOrNaive
from api.container import Container
from api.deps import ContainerDep, CurrentPrincipal
from kernel.errors import InvalidInput, NotFound
from routing.network import MODES, Network, Node, Service
from routing.timetable import Departure, Timetable

router = APIRouter(prefix="/v1", tags=["network"])

HORIZON_WEEKS = 12
_LOCK = threading.Lock()


def network_of(container: Container) -> Network:
    """The process's network (one `NetworkState` per container, shared with quoting and booking), with the
    operators' current edits laid over it."""
    state = container.network_state
    with container.db.session() as session:
        state.sync(session)
    return state.network


def timetable_of(container: Container, covering: datetime | None = None) -> Timetable:
    """The process's rolling timetable, covering `covering` (default: now)."""
    return container.network_state.timetable((covering or container.clock.now()).astimezone(UTC))


def node_json(n: Node) -> dict[str, Any]:
    return {
        "id": n.id,
        "name": n.name,
        "unlocode": n.unlocode,
        "lat": n.lat,
        "lon": n.lon,
        "kind": n.kinds[0] if n.kinds else None,
        "kinds": list(n.kinds),
        "country": n.country,
        "notes": n.notes,
    }


def service_json(s: Service, net: Network) -> dict[str, Any]:
    stops = [s.origin, *s.via, s.destination]
    return {
        "id": s.id,
        "origin": s.origin,
        "destination": s.destination,
        "mode": s.mode,
        "corridor": s.corridor,
        "leg_type": s.leg_type,
        "via": list(s.via),
        "legs": [
            {"origin": a, "destination": b, "mode": s.mode} for a, b in zip(stops, stops[1:], strict=False)
        ],
        "distance_km": s.distance_km,
        "transit_hours": s.transit_hours,
        "transit_hours_range": list(s.transit_hours_range),
        "departures_per_week": s.departures_per_week,
        "on_demand": s.on_demand,
        "basis": s.basis,
        "rate": {
            "per_feu": str(s.rate.per_feu) if s.rate.per_feu is not None else None,
            "per_kg": str(s.rate.per_kg) if s.rate.per_kg is not None else None,
            "currency": s.rate.currency,
            "basis": s.rate.basis,
        },
        "dangerous_goods": s.accepts_dangerous_goods(),
        "reefer": s.reefer,
        "passenger_aircraft": s.passenger_aircraft,
        "capacity": {"teu": s.capacity_teu, "kg": s.capacity_kg},
        "co2e_g_per_tkm": s.co2e_g_per_tkm,
        "emission_class": s.emission_class,
        "provenance": [{"figure": f.name, "basis": f.basis, "note": f.note} for f in s.provenance],
        "sources": [
            {
                "id": sid,
                "title": (net.sources.get(sid) or {}).get("title"),
                "url": (net.sources.get(sid) or {}).get("url"),
            }
            for sid in s.sources
        ],
        "notes": s.notes,
    }


def departure_json(d: Departure) -> dict[str, Any]:
    return {
        "id": d.id,
        "service_id": d.service_id,
        "origin": d.origin,
        "destination": d.destination,
        "mode": d.mode,
        "corridor": d.corridor,
        "cutoff": _rfc3339(d.cutoff),
        "departure": _rfc3339(d.departure),
        "arrival": _rfc3339(d.arrival),
        "capacity_teu": d.capacity_teu,
        "capacity_kg": d.capacity_kg,
        "basis": d.basis,
        "status": d.status,
        "delay_hours": d.delay_hours,
    }


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/network/nodes", summary="List network nodes")
def get_nodes(
    container: ContainerDep,
    principal: CurrentPrincipal,
    kind: Annotated[str | None, Query(description="only nodes of this kind, e.g. seaport")] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> list[dict[str, Any]]:
    """Terminals, ports, airports, border crossings and hubs of the network."""
    net = network_of(container)
    nodes = list(net.nodes.values())
    if kind:
        nodes = [n for n in nodes if kind in n.kinds]
    if country:
        nodes = [n for n in nodes if n.country.upper() == country.upper()]
    return [node_json(n) for n in nodes]


@router.get(
    "/network/nodes/{node_id}",
    summary="Get a network node",
    description=(
        "One terminal, port, airport, border crossing, hub or warehouse: its id, name, "
        "UN/LOCODE where one exists, position and kind."
    ),
)
def get_node(node_id: str, container: ContainerDep, principal: CurrentPrincipal) -> dict[str, Any]:
    net = network_of(container)
    node = net.nodes.get(node_id)
    if node is None:
        raise NotFound(f"no node {node_id!r}")
    return node_json(node)


@router.get("/network/services", summary="List timetabled services")
def get_services(
    container: ContainerDep,
    principal: CurrentPrincipal,
    mode: Annotated[str | None, Query(description="rail|sea|river|air|road")] = None,
    corridor: Annotated[str | None, Query(description="part of the corridor name, case-insensitive")] = None,
    origin: str | None = None,
    destination: str | None = None,
) -> list[dict[str, Any]]:
    """Timetabled services (one per leg and direction), with frequency, basis and sources."""
    if mode is not None and mode not in MODES:
        raise InvalidInput(
            f"mode {mode!r} is not one of {', '.join(MODES)}",
            errors=[{"field": "mode", "message": f"one of {', '.join(MODES)}"}],
        )
    net = network_of(container)
    out = []
    for s in net.services.values():
        if mode and s.mode != mode:
            continue
        if corridor and corridor.lower() not in s.corridor.lower():
            continue
        if origin and s.origin != origin:
            continue
        if destination and s.destination != destination:
            continue
        out.append(service_json(s, net))
    return out


@router.get("/network/services/{service_id}/departures", summary="List a service's departures")
def get_departures(
    service_id: str,
    container: ContainerDep,
    principal: CurrentPrincipal,
    since: InstantOrNaive | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """Concrete departures of one service from `since` (default: now)."""
    net = network_of(container)
    if service_id not in net.services:
        raise NotFound(f"no service {service_id!r}")
    if since is not None and since.tzinfo is None:
        raise InvalidInput(
            "since must carry a timezone", errors=[{"field": "since", "message": "RFC 3339 with Z"}]
        )
    at = since or container.clock.now()
    tt = timetable_of(container, at)
    deps = [d for d in tt.for_service(service_id) if d.departure >= at]
    deps.sort(key=lambda d: d.departure)
    return [departure_json(d) for d in deps[:limit]]
