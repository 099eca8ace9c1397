"""What a quote asks for: the cargo, the endpoints and dates, and which services and departures take it.

Validation raises `InvalidRequest` / `InvalidCargo` (routing.errors) before any search starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from routing.errors import InvalidCargo, InvalidRequest
from routing.network_model import Network, Service
from routing.timetable import Departure

EQUIPMENT = ("LCL", "20GP", "40GP", "40HC", "40RF", "AIR")
CONTAINERS = ("20GP", "40GP", "40HC", "40RF")
CUSTOMS_MODES = ("9610", "9710", "9810", "1210")
TEU = {"20GP": 1.0, "40GP": 2.0, "40HC": 2.0, "40RF": 2.0, "AIR": 0.0}
LCL_M3_PER_TEU = 33.2  # inside volume of a 20GP
VOLUMETRIC_KG_PER_M3 = 1_000_000 / 6000  # IATA 1:6000
REEFER_RANGE_C = (-35.0, 30.0)


@dataclass(frozen=True)
class Cargo:
    weight_kg: float
    volume_m3: float
    equipment: str  # LCL | 20GP | 40GP | 40HC | 40RF | AIR
    dangerous_goods: bool = False
    temperature: tuple[float, float] | None = None  # (min, max) degrees C

    def teu(self) -> float:
        """Capacity the cargo takes on a departure (LCL: its volume share of a 20GP; AIR: 0, it counts kg)."""
        if self.equipment == "LCL":
            return self.volume_m3 / LCL_M3_PER_TEU
        return TEU.get(self.equipment, 2.0)

    def chargeable_kg(self) -> float:
        """Air chargeable weight: the greater of actual and volumetric weight (1:6000)."""
        return max(self.weight_kg, self.volume_m3 * VOLUMETRIC_KG_PER_M3)

    def revenue_tonnes(self, minimum: float = 1.0) -> float:
        """LCL freight tons (W/M): the greater of tonnes and cubic metres, at least `minimum`."""
        return max(minimum, self.weight_kg / 1000.0, self.volume_m3)

    @property
    def tonnes(self) -> float:
        return self.weight_kg / 1000.0

    @property
    def needs_reefer(self) -> bool:
        return self.temperature is not None or self.equipment == "40RF"


@dataclass(frozen=True)
class QuoteRequest:
    origin: str | tuple[float, float]
    destination: str | tuple[float, float]
    ready_at: datetime
    deliver_by: datetime | None
    cargo: Cargo
    customs_mode: str  # 9610 | 9710 | 9810 | 1210
    max_options: int = 8


def validate_request(network: Network, request: QuoteRequest) -> None:
    """Raise InvalidRequest / InvalidCargo for anything the planner cannot take; change nothing."""
    ready = request.ready_at
    if not isinstance(ready, datetime) or ready.tzinfo is None:
        raise InvalidRequest("ready_at must be a date-time with a timezone (UTC)")
    if request.deliver_by is not None:
        if request.deliver_by.tzinfo is None:
            raise InvalidRequest("deliver_by must be a date-time with a timezone (UTC)")
        if request.deliver_by <= ready:
            raise InvalidRequest(
                f"deliver_by ({request.deliver_by.isoformat()}) must be after ready_at ({ready.isoformat()})"
            )
    if request.customs_mode not in CUSTOMS_MODES:
        raise InvalidRequest(
            f"customs_mode {request.customs_mode!r} is not one of {', '.join(CUSTOMS_MODES)}"
        )
    if not (1 <= request.max_options <= 50):
        raise InvalidRequest(f"max_options must be between 1 and 50, not {request.max_options}")
    validate_cargo(network, request.cargo)


def validate_cargo(network: Network, cargo: Cargo) -> None:
    eq = cargo.equipment
    if eq not in EQUIPMENT:
        raise InvalidCargo(f"equipment {eq!r} is not one of {', '.join(EQUIPMENT)}")
    w, v = cargo.weight_kg, cargo.volume_m3
    if not _finite(w) or w <= 0:
        raise InvalidCargo(f"weight_kg must be a positive number, not {w!r}")
    if not _finite(v) or v <= 0:
        raise InvalidCargo(f"volume_m3 must be a positive number, not {v!r}")
    spec = network.planning.equipment.get(eq, {})
    max_kg, max_m3 = spec.get("max_kg", math.inf), spec.get("max_m3", math.inf)
    if w > max_kg:
        bigger = [
            e
            for e in ("20GP", "40RF", "40GP", "40HC")
            if network.planning.equipment.get(e, {}).get("max_kg", 0) >= w
        ]
        hint = (
            f"; use {bigger[0]}" if bigger and eq in ("LCL", "AIR") else "; split it over several containers"
        )
        raise InvalidCargo(f"{w:,.0f} kg is more than a {eq} carries ({max_kg:,.0f} kg){hint}")
    if v > max_m3:
        bigger = [
            e for e in ("20GP", "40GP", "40HC") if network.planning.equipment.get(e, {}).get("max_m3", 0) >= v
        ]
        hint = f"; use {bigger[0]}" if bigger and eq not in ("AIR",) else "; split the shipment"
        raise InvalidCargo(f"{v:,.1f} m3 does not fit a {eq} ({max_m3:,.1f} m3){hint}")
    if cargo.temperature is not None:
        lo, hi = cargo.temperature
        if not (_finite(lo) and _finite(hi)) or lo > hi:
            raise InvalidCargo(
                f"temperature must be (min, max) in degrees C with min <= max, not {cargo.temperature!r}"
            )
        if eq not in ("40RF", "AIR"):
            raise InvalidCargo(f"temperature-controlled cargo needs a 40RF reefer (or AIR), not {eq}")
        if lo < REEFER_RANGE_C[0] or hi > REEFER_RANGE_C[1]:
            raise InvalidCargo(
                f"a reefer holds {REEFER_RANGE_C[0]:g} to {REEFER_RANGE_C[1]:g} C, not {lo:g}..{hi:g} C"
            )


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def carries(service: Service, cargo: Cargo) -> str | None:
    """None if the service can carry the cargo, else the reason it cannot."""
    if cargo.equipment == "AIR" and service.mode not in ("air", "road"):
        return f"{service.id} is {service.mode}: AIR cargo goes by air and truck only"
    if cargo.equipment != "AIR" and service.mode == "air":
        return f"{service.id} is air: {cargo.equipment} goes by surface"
    if cargo.dangerous_goods and not service.accepts_dangerous_goods():
        why = "passenger aircraft" if service.passenger_aircraft else "the service"
        return f"{service.id} does not take dangerous goods ({why})"
    if cargo.needs_reefer and not service.reefer:
        return f"{service.id} does not take reefers"
    return None


def fits(
    departure: Departure,
    cargo: Cargo,
    capacity_left: Mapping[str, float] | None,
    kg_left: Mapping[str, float] | None = None,
) -> bool:
    """Whether the departure still has room for the cargo (TEU, and kg where kg_left says or for air)."""
    teu_left = (
        departure.capacity_teu
        if capacity_left is None
        else capacity_left.get(departure.id, departure.capacity_teu)
    )
    if cargo.teu() > teu_left + 1e-9:
        return False
    if departure.mode == "air" or kg_left is not None:
        kg = departure.capacity_kg if kg_left is None else kg_left.get(departure.id, departure.capacity_kg)
        if cargo.weight_kg > kg + 1e-6:
            return False
    return True
