"""What a cargo pays and emits on a leg: line haul, surcharges, handling, transport and hub CO2e.

`leg_charge` is the reference arithmetic; `Tariff` does the same operations per cargo once, and `charges_for`
memoises its answers per network for the search.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from routing.network_model import Network, Service
from routing.quote_request import Cargo

CENT = Decimal("0.01")


def _money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def line_haul_cost(network: Network, service: Service, cargo: Cargo) -> Decimal:
    """Price of carrying the cargo on the service (USD): equipment rate or chargeable kg, with surcharges."""
    p = network.planning
    eq = p.equipment.get(cargo.equipment, {})
    factor = Decimal(str(eq.get("rate_factor", 1.0)))
    if service.mode == "air":
        per_kg = service.rate.per_kg if service.rate.per_kg is not None else Decimal("3.00")
        base = per_kg * Decimal(str(round(cargo.chargeable_kg(), 3)))
    else:
        per_feu = service.rate.per_feu if service.rate.per_feu is not None else Decimal("1000")
        if cargo.equipment in ("LCL", "AIR"):
            minimum = eq.get("min_revenue_tonnes", 1.0)
            lcl = Decimal(str(p.equipment.get("LCL", {}).get("rate_factor", 0.05)))
            base = per_feu * lcl * Decimal(str(round(cargo.revenue_tonnes(minimum), 3)))
        elif service.rate.per_box is not None:
            base = service.rate.per_box
        else:
            base = per_feu * factor
    surcharge = Decimal(1)
    if cargo.dangerous_goods:
        surcharge += Decimal(str(p.surcharges.get("dangerous_goods", 0.0)))
    if cargo.needs_reefer:
        surcharge += Decimal(str(p.surcharges.get("reefer", 0.0)))
    surcharge += service.rate.baf + service.rate.peak
    return _money(base * surcharge)


def handling_cost(network: Network, cargo: Cargo) -> Decimal:
    """What one transfer (lift off, yard, lift on) costs for the cargo."""
    h = network.planning.handling_cost
    eq = cargo.equipment
    if eq == "AIR":
        x = Decimal(str(h.get("per_chargeable_kg", 0.0))) * Decimal(str(round(cargo.chargeable_kg(), 3)))
    elif eq == "LCL":
        x = Decimal(str(h.get("per_revenue_tonne", 0.0))) * Decimal(str(round(cargo.revenue_tonnes(), 3)))
    elif eq == "20GP":
        x = Decimal(str(h.get("per_teu", 0.0)))
    else:
        x = Decimal(str(h.get("per_feu", 0.0)))
    return _money(x)


def transport_co2e(service: Service, cargo: Cargo) -> float:
    """ISO 14083 style: distance x shipment tonnes x the mode's intensity (g/tkm), in kg."""
    return round(service.distance_km * cargo.tonnes * service.co2e_g_per_tkm / 1000.0, 3)


def hub_co2e(network: Network, mode: str, cargo: Cargo) -> float:
    """Hub emissions of one transfer onto a leg of `mode` (kg)."""
    f = network.planning.hub_emissions_kg_per_tonne
    per_t = f.get(mode, f.get("default", 0.0)) if mode == "air" else f.get("default", 0.0)
    return round(per_t * cargo.tonnes, 3)


class LegCharge(NamedTuple):
    cost: Decimal
    co2e_kg: float
    handling_cost: Decimal
    hub_co2e_kg: float
    cents: int = 0  # cost in US cents, for fast comparisons in the search


# A LegCharge as a plain tuple (cost, co2e_kg, handling_cost, hub_co2e_kg, cents): memos hold thousands of
# them, and plain tuples of numbers drop out of the cyclic garbage collector's work.
ChargeRow = tuple[Decimal, float, Decimal, float, int]


class Tariff:
    """What one cargo pays and emits on any leg, with everything but the service's own figures worked out.

    `charge` does exactly the arithmetic of `line_haul_cost`, `handling_cost`, `transport_co2e` and `hub_co2e`
    (same operations in the same order), once per cargo instead of once per leg.
    """

    __slots__ = ("air_units", "lcl", "revenue", "factor", "per_box", "surcharge", "handling", "hub", "tonnes")

    def __init__(self, network: Network, cargo: Cargo) -> None:
        p = network.planning
        eq = p.equipment.get(cargo.equipment, {})
        self.factor = Decimal(str(eq.get("rate_factor", 1.0)))
        self.air_units = Decimal(str(round(cargo.chargeable_kg(), 3)))
        self.per_box = cargo.equipment not in ("LCL", "AIR")
        self.lcl = Decimal(str(p.equipment.get("LCL", {}).get("rate_factor", 0.05)))
        self.revenue = Decimal(str(round(cargo.revenue_tonnes(eq.get("min_revenue_tonnes", 1.0)), 3)))
        surcharge = Decimal(1)
        if cargo.dangerous_goods:
            surcharge += Decimal(str(p.surcharges.get("dangerous_goods", 0.0)))
        if cargo.needs_reefer:
            surcharge += Decimal(str(p.surcharges.get("reefer", 0.0)))
        self.surcharge = surcharge
        self.handling = handling_cost(network, cargo)
        self.hub = {True: hub_co2e(network, "air", cargo), False: hub_co2e(network, "rail", cargo)}
        self.tonnes = cargo.tonnes

    def charge(self, service: Service, transfer: bool) -> LegCharge:
        return LegCharge(*self.row(service, transfer))

    def row(self, service: Service, transfer: bool) -> ChargeRow:
        """The charge as a plain tuple (cost, co2e_kg, handling_cost, hub_co2e_kg, cents)."""
        if service.mode == "air":
            per_kg = service.rate.per_kg if service.rate.per_kg is not None else Decimal("3.00")
            base = per_kg * self.air_units
        else:
            per_feu = service.rate.per_feu if service.rate.per_feu is not None else Decimal("1000")
            if not self.per_box:
                base = per_feu * self.lcl * self.revenue
            elif service.rate.per_box is not None:
                base = service.rate.per_box
            else:
                base = per_feu * self.factor
        h = self.handling if transfer else Decimal("0.00")
        hub = self.hub[service.mode == "air"] if transfer else 0.0
        rate = service.rate
        surcharge = self.surcharge + rate.baf + rate.peak if rate.baf or rate.peak else self.surcharge
        cost = (base * surcharge).quantize(CENT, rounding=ROUND_HALF_UP) + h  # as _money
        transport = round(service.distance_km * self.tonnes * service.co2e_g_per_tkm / 1000.0, 3)
        return (cost, round(transport + hub, 3), h, hub, int(cost * 100))


def leg_charge(network: Network, service: Service, cargo: Cargo, transfer: bool) -> LegCharge:
    """Cost and CO2e of a leg; `transfer` adds the handling and hub emissions at its origin."""
    h = handling_cost(network, cargo) if transfer else Decimal("0.00")
    hub = hub_co2e(network, service.mode, cargo) if transfer else 0.0
    cost = line_haul_cost(network, service, cargo) + h
    co2 = round(transport_co2e(service, cargo) + hub, 3)
    return LegCharge(cost, co2, h, hub, int(cost * 100))


_CHARGE_CACHE_LIMIT = 20_000


class Charges:
    """Leg charges of one cargo on one network, worked out as the search needs them."""

    __slots__ = ("tariff", "table")

    def __init__(self, network: Network, cargo: Cargo) -> None:
        self.tariff = Tariff(network, cargo)
        self.table: dict[tuple[str, bool], ChargeRow] = {}


def charges_for(network: Network, cargo: Cargo) -> Charges:
    """A per-network memo of leg charges for one cargo, keyed (service id, transfer)."""
    memo: dict[Cargo, Charges] = network.__dict__.setdefault("_cargo_charges", {})
    found = memo.get(cargo)
    if found is None:
        if sum(len(c.table) for c in memo.values()) > _CHARGE_CACHE_LIMIT:
            memo.clear()
        found = memo[cargo] = Charges(network, cargo)
    return found


def charge_row(charges: Charges, svc: Service, transfer: bool) -> ChargeRow:
    key = (svc.id, transfer)
    c = charges.table.get(key)
    if c is None:
        c = charges.table[key] = charges.tariff.row(svc, transfer)
    return c
