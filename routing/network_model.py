"""The multimodal network as the planner sees it: nodes, services (one per leg and direction), planning
parameters, and the look-ups by id, UN/LOCODE and coordinate. Built by `routing.network.load_network`.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from geopy.distance import geodesic

from routing.errors import AmbiguousPlace, UnknownPlace

MODES = ("rail", "sea", "river", "air", "road")
PUBLISHED = "published"
ESTIMATE = "estimate"
# Plausible commercial speeds (km/h, door of terminal to door of terminal, dwell included): a figure outside
# these means a unit mistake (days given as hours, miles as km) or a typo.
SPEED_KMH = {
    "road": (10.0, 110.0),
    "rail": (3.0, 120.0),
    "river": (2.0, 40.0),
    "sea": (5.0, 60.0),
    "air": (150.0, 950.0),
}
# Nodes that are crossings only: coordinates never snap to them.
NOT_SNAPPABLE = frozenset({"border_crossing"})


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    unlocode: str | None
    lat: float
    lon: float
    kinds: tuple[str, ...]
    country: str
    notes: str | None = None


@dataclass(frozen=True)
class Figure:
    """Where one figure of a service comes from."""

    name: str
    basis: str  # published | estimate
    note: str


@dataclass(frozen=True)
class Rate:
    """Line-haul price of a service: per 40GP (container modes) or per chargeable kg (air), in USD."""

    per_feu: Decimal | None
    per_kg: Decimal | None
    currency: str
    basis: str
    # From a rate table row (routing.rate_table): a fixed price per box of the row's equipment, the bunker
    # (BAF) and peak season (PSS) surcharges as fractions of the freight, and the row's own source.
    per_box: Decimal | None = None
    baf: Decimal = Decimal(0)
    peak: Decimal = Decimal(0)
    source: str = ""


@dataclass(frozen=True)
class Service:
    """One timetabled (or on-demand road) product between two nodes: a leg of network.json, per direction."""

    id: str
    origin: str
    destination: str
    mode: str
    corridor: str
    via: tuple[str, ...]
    distance_km: float
    transit_hours: float
    departures_per_week: float | None  # None: on demand (road)
    basis: str
    leg_id: str = ""
    leg_type: str = "segment"
    transit_hours_range: tuple[float, float] = (0.0, 0.0)
    rate: Rate = field(default_factory=lambda: Rate(None, None, "USD", ESTIMATE))
    dangerous_goods: bool = True
    reefer: bool = True
    passenger_aircraft: bool = False
    capacity_teu: float = 0.0
    capacity_kg: float = 0.0
    emission_class: str = ""
    co2e_g_per_tkm: float = 0.0  # well-to-wheel (ISO 14083): what the planner sums and labels on
    ttw_g_per_tkm: float = 0.0  # tank-to-wheel, reported beside it
    distance_basis: str = (
        "estimate"  # published: a route distance from a source; estimate: great circle x circuity
    )
    co2e_basis: str = ESTIMATE
    sources: tuple[str, ...] = ()
    notes: str | None = None
    provenance: tuple[Figure, ...] = ()

    @property
    def on_demand(self) -> bool:
        return self.departures_per_week is None

    def accepts_dangerous_goods(self) -> bool:
        return self.dangerous_goods and not (self.mode == "air" and self.passenger_aircraft)


@dataclass(frozen=True)
class Planning:
    """Times, rates, limits and factors the planner applies on top of the services (see planning.json)."""

    cutoff_hours: Mapping[str, float]
    handling_in_hours: Mapping[str, float]
    node_handling_in_hours: Mapping[str, Mapping[str, float]]
    customs_hours: Mapping[str, float]
    rates: Mapping[str, Mapping[str, float]]
    equipment: Mapping[str, Mapping[str, float]]
    surcharges: Mapping[str, float]
    handling_cost: Mapping[str, float]
    hub_emissions_kg_per_tonne: Mapping[str, float]
    circuity: Mapping[str, float]
    emission_g_per_tkm: Mapping[str, float]  # class -> well-to-wheel factor
    # Hours from arrival at the destination terminal to delivery there: import clearance by the arrival mode
    # (an international shipment only); destination handling is `handling_in` of the last leg.
    import_clearance_hours: Mapping[str, float] = field(default_factory=dict)
    emission_ttw_g_per_tkm: Mapping[str, float] = field(default_factory=dict)  # class -> tank-to-wheel
    emission_source: Mapping[str, str] = field(default_factory=dict)  # class -> where its factors come from
    # Relaxed dominance of the options shown (routing.options.Margins): cost and CO2e relative, time in hours.
    selection_margins: Mapping[str, float] = field(default_factory=dict)
    # Cut-offs that differ at one node (sea-rail terminals, border stations where trains connect).
    node_cutoff_hours: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # Road border dwell by crossing "XX-YY" (ISO countries, from-to) and "default"; crossings closed to trucks
    road_border_hours: Mapping[str, float] = field(default_factory=dict)
    closed_road_borders: frozenset[str] = frozenset()
    customs_unions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    brokerage_usd: Mapping[str, float] = field(default_factory=dict)  # export | import, per declaration
    # Rate of a reverse service into China as a share of the forward one, by mode (backhaul is cheaper).
    backhaul_rate_factor: Mapping[str, float] = field(default_factory=dict)

    def customs_border(self, a: str, b: str) -> bool:
        """Whether goods between countries a and b pass a customs border (not one customs union)."""
        return a != b and not any(a in m and b in m for m in self.customs_unions.values())

    def handling_in(self, node: str, mode: str) -> float:
        """Hours from arrival by `mode` at `node` until the cargo can be offered to the next departure."""
        per_node = self.node_handling_in_hours.get(node)
        if per_node is not None and mode in per_node:
            return float(per_node[mode])
        return float(self.handling_in_hours.get(mode, 0.0))

    def cutoff(self, mode: str, node: str | None = None) -> float:
        """Hours before a departure of `mode` from `node` that the cargo must be there (node figure first)."""
        per_node = self.node_cutoff_hours.get(node) if node is not None else None
        if per_node is not None and mode in per_node:
            return float(per_node[mode])
        return float(self.cutoff_hours.get(mode, 0.0))


class Network:
    """Nodes and services, indexed for the planner; immutable after loading."""

    def __init__(
        self,
        nodes: Mapping[str, Node],
        services: Mapping[str, Service],
        planning: Planning,
        sources: Mapping[str, Mapping[str, Any]] | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self.nodes: dict[str, Node] = dict(sorted(nodes.items()))
        self.services: dict[str, Service] = dict(sorted(services.items()))
        self.planning = planning
        self.sources: dict[str, Mapping[str, Any]] = dict(sources or {})
        self.raw: Mapping[str, Any] = raw or {}
        outgoing: dict[str, list[Service]] = {n: [] for n in self.nodes}
        for s in self.services.values():
            outgoing[s.origin].append(s)
        self.services_from: dict[str, tuple[Service, ...]] = {n: tuple(v) for n, v in outgoing.items()}
        self._by_locode: dict[str, list[Node]] = {}
        for n in self.nodes.values():
            if n.unlocode:
                self._by_locode.setdefault(norm_locode(n.unlocode), []).append(n)
        served = {s.origin for s in self.services.values()} | {s.destination for s in self.services.values()}
        self._snappable = tuple(
            n for n in self.nodes.values() if n.id in served and not (set(n.kinds) <= NOT_SNAPPABLE)
        )

    def resolve(self, place: str | tuple[float, float]) -> Node:
        """A node id, a UN/LOCODE (case-insensitive, spaces ignored) or (lat, lon) -> the node meant."""
        if isinstance(place, tuple):
            lat, lon = place
            found = self.nearest(lat, lon, 1)
            return found[0][0]
        text = place.strip()
        if not text:
            raise UnknownPlace("the place is empty: give a node id, a UN/LOCODE or {lat, lon}")
        if text in self.nodes:
            return self.nodes[text]
        upper = text.upper()
        by_id = [n for n in self.nodes.values() if n.id.upper() == upper]
        if len(by_id) == 1:
            return by_id[0]
        matches = self._by_locode.get(norm_locode(text), [])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ids = tuple(sorted(n.id for n in matches))
            raise AmbiguousPlace(
                f"{text!r} is the UN/LOCODE of several nodes ({', '.join(ids)}): name the node id", ids
            )
        raise UnknownPlace(f"no node has the id or UN/LOCODE {text!r}; GET /v1/network/nodes lists them")

    def nearest(
        self, lat: float, lon: float, k: int = 1, within_km: float = 1000.0
    ) -> list[tuple[Node, float]]:
        """The k nearest nodes a shipment can start or end at, with their geodesic distance (km)."""
        if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0) or math.isnan(lat) or math.isnan(lon):
            raise UnknownPlace(
                f"({lat}, {lon}) is not a coordinate: lat must be in -90..90 and lon in -180..180"
            )
        # A cheap spherical pre-sort, then the exact geodesic on the few closest.
        rough = sorted(self._snappable, key=lambda n: (_haversine_km(lat, lon, n.lat, n.lon), n.id))
        exact = sorted(
            ((n, float(geodesic((lat, lon), (n.lat, n.lon)).km)) for n in rough[: max(k, 1) + 2]),
            key=lambda t: (t[1], t[0].id),
        )
        out = [(n, d) for n, d in exact[:k] if d <= within_km]
        if not out:
            raise UnknownPlace(
                f"no terminal, port or airport within {within_km:.0f} km of ({lat}, {lon}); "
                f"the nearest is {exact[0][0].id} at {exact[0][1]:.0f} km"
                if exact
                else "the network has no nodes"
            )
        return out

    def export(self) -> dict[str, Any]:
        """The data this network was loaded from (network.json shape plus planning and emission factors)."""
        return copy.deepcopy(dict(self.raw))


def norm_locode(code: str) -> str:
    """A UN/LOCODE without spaces or dashes, upper case."""
    return re.sub(r"[\s-]", "", code).upper()


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def geodesic_km(a: Node, b: Node) -> float:
    """The geodesic distance between two nodes (km)."""
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).km)
