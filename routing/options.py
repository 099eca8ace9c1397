"""Planned legs and options, and the selection of the few meaningfully different options a user sees."""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from routing.network_model import Figure


@dataclass(frozen=True)
class PlannedLeg:
    mode: str
    origin: str
    destination: str
    departure: datetime
    arrival: datetime
    service_id: str | None  # None for road legs to/from a coordinate
    departure_id: str | None  # None for on-demand road legs
    corridor: str
    distance_km: float
    cost: Decimal  # line haul + surcharges + handling at this leg's origin when it is a transfer
    co2e_kg: float  # transport + hub emissions at this leg's origin when it is a transfer
    basis: str
    cutoff: datetime | None = None
    handling_cost: Decimal = Decimal("0.00")
    hub_co2e_kg: float = 0.0
    teu: float = 0.0
    weight_kg: float = 0.0
    via: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    provenance: tuple[Figure, ...] = ()
    # ISO 14083 / GLEC: co2e_kg is well-to-wheel (transport + hub); these say how it was worked out.
    ttw_co2e_kg: float = 0.0  # tank-to-wheel transport + hub
    wtw_g_per_tkm: float = 0.0
    ttw_g_per_tkm: float = 0.0
    emission_class: str = ""
    emission_source: str = ""
    distance_basis: str = ""  # how distance_km was found (published route distance, or great circle x factor)


@dataclass(frozen=True)
class Option:
    id: str  # stable hash of its legs
    legs: tuple[PlannedLeg, ...]
    cost: Decimal
    currency: str
    transit_hours: float  # first departure to arrival
    co2e_kg: float
    labels: tuple[str, ...]  # subset of cheapest | fastest | greenest
    basis: str  # published if every figure is published, else estimate
    lead_time_hours: float = 0.0  # ready_at to arrival (customs, waiting, transit)
    exact: bool = True  # False when the search hit its label budget and pruned within the tolerance
    # ready_at to delivery at the destination: waiting, transit, destination handling and import clearance.
    door_to_door_hours: float = 0.0
    destination_hours: float = 0.0  # of which destination handling + import clearance after the arrival
    # The price line by line (routing.charges.ChargeLine); set on the options `plan` returns. Legs' lines add
    # up to `cost`; per-shipment lines (brokerage) come on top: `total()` is what the forwarder pays.
    breakdown: tuple[Any, ...] = ()

    def ttw_co2e_kg(self) -> float:
        """Tank-to-wheel total (co2e_kg is well-to-wheel)."""
        return round(sum(leg.ttw_co2e_kg for leg in self.legs), 3)

    def hub_co2e_kg(self) -> float:
        return round(sum(leg.hub_co2e_kg for leg in self.legs), 3)

    def total(self) -> Decimal:
        """The price with per-shipment charges (brokerage): cost + the lines that belong to no leg."""
        return self.cost + sum((c.amount for c in self.breakdown if c.leg is None), Decimal("0.00"))

    def arrival(self) -> datetime:
        return self.legs[-1].arrival

    def path(self) -> tuple[str, ...]:
        """The services and places it goes through, whatever the dates (one path is one choice)."""
        return tuple(leg.service_id or f"{leg.mode}:{leg.origin}>{leg.destination}" for leg in self.legs)

    def departure(self) -> datetime:
        return self.legs[0].departure

    def departure_ids(self) -> tuple[str, ...]:
        return tuple(leg.departure_id for leg in self.legs if leg.departure_id is not None)


# Tolerance: an option that another kept option matches within these margins on every criterion adds nothing
# a user would act on.
TOLERANCE_COST = (Decimal("0.02"), Decimal("25"))  # relative, absolute USD
TOLERANCE_HOURS = 6.0
TOLERANCE_CO2 = (0.02, 5.0)  # relative, absolute kg


def _near_enough(p: Option, o: Option) -> bool:
    """p is at least about as good as o on every criterion (within the tolerance)."""
    cost_ok = p.cost <= o.cost + max(o.cost * TOLERANCE_COST[0], TOLERANCE_COST[1])
    time_ok = (p.arrival() - o.arrival()).total_seconds() <= TOLERANCE_HOURS * 3600
    co2_ok = p.co2e_kg <= o.co2e_kg + max(o.co2e_kg * TOLERANCE_CO2[0], TOLERANCE_CO2[1])
    return cost_ok and time_ok and co2_ok


@dataclass(frozen=True)
class Margins:
    """What makes an option a real choice beside another: it beats it by one of these (planning.json)."""

    cost: float = 0.02  # relative
    hours: float = 12.0  # door to door
    co2e: float = 0.05  # relative

    @classmethod
    def of(cls, table: Mapping[str, float]) -> Margins:
        d = cls()
        return cls(
            cost=float(table.get("cost", d.cost)),
            hours=float(table.get("hours", d.hours)),
            co2e=float(table.get("co2e", d.co2e)),
        )


def one_per_path(front: Sequence[Option]) -> list[Option]:
    """At most one option per path: the one delivered first (then cheapest, greenest)."""
    best: dict[tuple[str, ...], Option] = {}
    for o in front:
        key = o.path()
        cur = best.get(key)
        if cur is None or _rank_door(o) < _rank_door(cur):
            best[key] = o
    return list(best.values())


def _rank_door(o: Option) -> tuple[float, Decimal, float, str]:
    return (o.door_to_door_hours, o.cost, o.co2e_kg, o.id)


def relaxed_prune(front: Sequence[Option], margins: Margins) -> list[Option]:
    """Drop options that no other option is meaningfully worse than (relaxed dominance); removes, never adds.

    p relaxed-dominates o when o beats p by no margin: o is not `margins.cost` cheaper, not `margins.hours`
    earlier door to door and not `margins.co2e` greener. Options are decided in order, each after every
    option that relaxed-dominates it while beating it by a margin somewhere ("strictly"), ties by cost: an
    option goes when one already kept relaxed-dominates it (the Singapore "cheapest" that saves 0.3 % for two
    weeks and half as much CO2e again goes for the faster one), else it stays. So every option dropped has a
    kept one within the margins on every criterion (the cheapest shown is within `margins.cost` of the
    cheapest found, and so on), and every two options kept beat each other by a margin somewhere. The set
    never empties and, being a subset of a Pareto front, stays Pareto-optimal.
    """
    n = len(front)
    if n <= 1:
        return list(front)
    keep_cost = 1.0 - margins.cost
    keep_co2 = 1.0 - margins.co2e
    hours = margins.hours
    rows = [(float(o.cost), o.door_to_door_hours, o.co2e_kg) for o in front]

    def beats_somewhere(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
        return a[0] < b[0] * keep_cost or a[1] < b[1] - hours or a[2] < b[2] * keep_co2

    waiting = [0] * n  # strict dominators of i not decided yet
    dominated_by: list[list[int]] = [[] for _ in range(n)]  # i -> the options i strictly dominates
    for i in range(n):
        for j in range(n):
            if i != j and not beats_somewhere(rows[i], rows[j]) and beats_somewhere(rows[j], rows[i]):
                waiting[i] += 1
                dominated_by[j].append(i)
    rank = sorted(range(n), key=lambda k: _rank_cost(front[k]))
    order = {k: r for r, k in enumerate(rank)}
    ready = [order[k] for k in range(n) if waiting[k] == 0]
    heapq.heapify(ready)
    decided = [False] * n
    kept: list[int] = []
    left = n
    while left:
        if not ready:  # a cycle of strict dominance (margins can make one): take the best undecided
            ready = [min(order[k] for k in range(n) if not decided[k])]
        i = rank[heapq.heappop(ready)]
        if decided[i]:
            continue
        decided[i] = True
        left -= 1
        if all(beats_somewhere(rows[i], rows[k]) for k in kept):
            kept.append(i)
        for d in dominated_by[i]:
            waiting[d] -= 1
            if waiting[d] == 0 and not decided[d]:
                heapq.heappush(ready, order[d])
    return [front[k] for k in sorted(kept, key=lambda k: order[k])]


def _rank_cost(o: Option) -> tuple[Decimal, float, float, str]:
    return (o.cost, o.door_to_door_hours, o.co2e_kg, o.id)


def select(front: Sequence[Option], max_options: int, margins: Margins | None = None) -> list[Option]:
    """One option per path, relaxed-dominance pruning, labels on what is shown, then the most diverse rest.

    Labels rank by the figures the option shows: cost, door-to-door hours, co2e_kg.
    """
    if not front:
        return []
    front = relaxed_prune(one_per_path(front), margins or Margins())
    cheapest = min(front, key=lambda o: (o.cost, o.door_to_door_hours, o.co2e_kg, o.id))
    fastest = min(front, key=lambda o: (o.door_to_door_hours, o.cost, o.co2e_kg, o.id))
    greenest = min(front, key=lambda o: (o.co2e_kg, o.cost, o.door_to_door_hours, o.id))
    tags: dict[str, list[str]] = {}
    for name, o in (("cheapest", cheapest), ("fastest", fastest), ("greenest", greenest)):
        tags.setdefault(o.id, []).append(name)
    kept: list[Option] = []
    for o in (cheapest, fastest, greenest):
        if o.id not in {k.id for k in kept} and len(kept) < max_options:
            kept.append(o)
    costs = [float(o.cost) for o in front]
    times = [o.arrival().timestamp() for o in front]
    co2s = [o.co2e_kg for o in front]
    span = (max(costs) - min(costs) or 1.0, max(times) - min(times) or 1.0, max(co2s) - min(co2s) or 1.0)

    def point(o: Option) -> tuple[float, float, float]:
        return (float(o.cost) / span[0], o.arrival().timestamp() / span[1], o.co2e_kg / span[2])

    rest = sorted((o for o in front if o.id not in {k.id for k in kept}), key=lambda o: o.id)
    while len(kept) < max_options:
        pool = [o for o in rest if not any(_near_enough(k, o) for k in kept)]
        if not pool:
            break
        pts = [point(k) for k in kept]

        def spread(o: Option, pts: list[tuple[float, float, float]] = pts) -> tuple[float, str]:
            po = point(o)
            return (min(math.dist(po, q) for q in pts), o.id)

        best = max(pool, key=lambda o: (spread(o)[0], [-ord(c) for c in o.id]))
        kept.append(best)
        rest.remove(best)
    out = [replace(o, labels=tuple(tags.get(o.id, ()))) for o in kept]
    return sorted(out, key=lambda o: (o.arrival(), o.cost, o.co2e_kg, o.id))
