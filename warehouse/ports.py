"""Ports to the shipment side. `warehouse` never imports `logistics`; the composition root (`api.bootstrap`)
passes real adapters to the handlers, tests pass the fakes below.

A port takes no database session: the composition root binds its adapters to the caller's transaction
before a handler sees them (one `WarehousePorts` per unit of work), so what a port reads or books commits
or rolls back with the warehouse change that asked for it, and no adapter opens a transaction of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from kernel.errors import Conflict
from kernel.ids import document_number

ORIGIN_NODE = "YIB"  # Yibin: where return_to_origin goes and replenishment ships from


@dataclass(frozen=True)
class Cargo:
    """What a warehouse ships: enough for the route planner to quote and book."""

    weight_kg: Decimal
    volume_m3: Decimal
    dangerous_goods: bool = False
    pieces: int = 0
    description: str = ""


@dataclass(frozen=True)
class TransitOption:
    corridor: str
    hours: float
    cost: Decimal
    currency: str = "USD"


class ShipmentBooker(Protocol):
    def book_transfer(
        self, from_node: str, to_node: str, cargo: Cargo, ready_at: datetime, reference: str
    ) -> str:
        """Book a shipment between two network nodes through the route planner; returns the waybill number.

        Bound to the warehouse transaction: raising aborts the transfer (nothing is moved, nothing is
        booked).
        """
        ...


@dataclass(frozen=True)
class Progress:
    """What a warehouse may know of a shipment heading to it: its status, live ETA and last position
    (`{"lat", "lon", "at"}`), nothing else of the shipper's waybill."""

    status: str
    eta: datetime | None
    position: dict[str, float | str] | None


class EtaLookup(Protocol):
    def eta(self, waybill_no: str) -> datetime | None:
        """The live ETA of a waybill from tracking, or None when unknown."""
        ...

    def progress(self, waybill_nos: list[str]) -> dict[str, Progress]:
        """Status, live ETA and last position of the waybills tracking knows (absent ones left out)."""
        ...


class TransitTimes(Protocol):
    def hours(self, from_node: str, to_node: str, ready_at: datetime) -> list[TransitOption]:
        """Route options between two nodes departing after `ready_at` (empty when none)."""
        ...


class NoRoutePlanner:
    """The default booker until the composition root wires the route planner."""

    def book_transfer(
        self, from_node: str, to_node: str, cargo: Cargo, ready_at: datetime, reference: str
    ) -> str:
        raise Conflict("no route planner wired: cannot book a shipment from the warehouse service")


class NoEta:
    def eta(self, waybill_no: str) -> datetime | None:
        return None

    def progress(self, waybill_nos: list[str]) -> dict[str, Progress]:
        return {}


class NoTransitTimes:
    def hours(self, from_node: str, to_node: str, ready_at: datetime) -> list[TransitOption]:
        return []


@dataclass
class FakeShipmentBooker:
    """Books into a list; for tests and the demo without the route planner."""

    booked: list[dict[str, object]] = field(default_factory=list)
    fail: bool = False

    def book_transfer(
        self, from_node: str, to_node: str, cargo: Cargo, ready_at: datetime, reference: str
    ) -> str:
        if self.fail:
            raise Conflict("no capacity on any departure")
        waybill = document_number("XBW")
        self.booked.append(
            {
                "waybill_no": waybill,
                "from": from_node,
                "to": to_node,
                "cargo": cargo,
                "ready_at": ready_at,
                "reference": reference,
            }
        )
        return waybill


@dataclass
class FakeEtaLookup:
    """ETAs from a dict; records the waybills it was asked about."""

    etas: dict[str, datetime] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def eta(self, waybill_no: str) -> datetime | None:
        self.asked.append(waybill_no)
        return self.etas.get(waybill_no)

    def progress(self, waybill_nos: list[str]) -> dict[str, Progress]:
        self.asked.extend(waybill_nos)
        return {no: Progress("IN_TRANSIT", self.etas[no], None) for no in waybill_nos if no in self.etas}


@dataclass
class FakeTransitTimes:
    """Transit options from a dict (three Yibin corridors by default); records the legs it was asked about."""

    options: dict[tuple[str, str], list[TransitOption]] = field(default_factory=dict)
    default: list[TransitOption] = field(
        default_factory=lambda: [
            TransitOption("china-europe-rail", 18 * 24.0, Decimal("4200")),
            TransitOption("yangtze-sea", 38 * 24.0, Decimal("2100")),
            TransitOption("air", 4 * 24.0, Decimal("15800")),
        ]
    )
    asked: list[tuple[str, str]] = field(default_factory=list)

    def hours(self, from_node: str, to_node: str, ready_at: datetime) -> list[TransitOption]:
        self.asked.append((from_node, to_node))
        return self.options.get((from_node, to_node), self.default)


@dataclass(frozen=True)
class WarehousePorts:
    """The shipment ports of one unit of work, each bound to its transaction by the composition root."""

    booker: ShipmentBooker = NoRoutePlanner()
    eta: EtaLookup = NoEta()
    transit: TransitTimes = NoTransitTimes()


def arrival(ready_at: datetime, option: TransitOption) -> datetime:
    """When goods ready at `ready_at` arrive by `option`."""
    return ready_at + timedelta(hours=option.hours)
