"""Planned legs and options, and the selection of the few meaningfully different options a user sees."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

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

    def arrival(self) -> datetime:
        return self.legs[-1].arrival

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


def select(front: Sequence[Option], max_options: int) -> list[Option]:
    """Label the extremes, drop near-duplicates, keep the most diverse rest up to max_options."""
    if not front:
        return []
    cheapest = min(front, key=lambda o: (o.cost, o.arrival(), o.co2e_kg, o.id))
    fastest = min(front, key=lambda o: (o.arrival(), o.cost, o.co2e_kg, o.id))
    greenest = min(front, key=lambda o: (o.co2e_kg, o.cost, o.arrival(), o.id))
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
