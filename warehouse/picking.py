"""Picking and partial shipment, pure: which reservations a pick takes, and the order's status after a step.

An order line's units are always in exactly one state: reserved (ACTIVE), picked (PICKED: off the shelf,
still on hand and reserved), shipped or released, so reserved + picked + shipped + released = ordered.
Picking splits a reservation; shipping takes only what was picked; cancelling releases the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from kernel.errors import Conflict, InvalidInput
from warehouse.domain import OrderStatus, ReservationStatus, is_expired

# reservations that still hold units on the shelf (a balance's `reserved`): reserved and picked
HELD = (ReservationStatus.ACTIVE.value, ReservationStatus.PICKED.value)


@dataclass(frozen=True)
class Held:
    """A reservation of an order that still holds units on the shelf."""

    id: int
    line_no: int
    warehouse: str
    sku: str
    lot: str
    qty: int
    status: ReservationStatus
    expires_on: date | None = None


@dataclass(frozen=True)
class PickRequest:
    sku: str
    qty: int
    warehouse: str | None = None
    line_no: int | None = None


def plan_picks(held: Sequence[Held], wanted: Sequence[PickRequest], today: date) -> list[tuple[Held, int]]:
    """(reservation, units to pick) for each request, from unpicked reservations, earliest expiry first.

    Raises `InvalidInput` when a request asks for more than is reserved and not yet picked, and `Conflict`
    when the only units left are of an expired lot (the expiry job re-allocates those).
    """
    left = {h.id: h.qty for h in held if h.status is ReservationStatus.ACTIVE}
    out: list[tuple[Held, int]] = []
    for i, req in enumerate(wanted):
        if req.qty <= 0:
            raise InvalidInput(
                f"lines.{i}.qty must be positive",
                errors=[{"field": f"lines.{i}.qty", "message": "must be > 0"}],
            )
        pool = sorted(
            (
                h
                for h in held
                if h.id in left
                and h.sku == req.sku
                and (req.warehouse is None or h.warehouse == req.warehouse)
                and (req.line_no is None or h.line_no == req.line_no)
            ),
            key=lambda h: (h.expires_on is None, h.expires_on or date.max, h.line_no, h.id),
        )
        fresh = [h for h in pool if not is_expired(h.expires_on, today)]
        unpicked = sum(left[h.id] for h in fresh)
        if req.qty > unpicked:
            stale = sum(left[h.id] for h in pool) - unpicked
            if stale and req.qty <= unpicked + stale:
                raise Conflict(
                    f"lines.{i}: {stale} reserved {req.sku} are of an expired lot and cannot be picked; "
                    "they are re-allocated to a fresh lot or released"
                )
            raise InvalidInput(
                f"lines.{i}: {req.qty} {req.sku} to pick but only {unpicked} reserved and not yet picked",
                errors=[{"field": f"lines.{i}.qty", "message": f"at most {unpicked}"}],
            )
        need = req.qty
        for h in fresh:
            q = min(need, left[h.id])
            if q:
                out.append((h, q))
                left[h.id] -= q
                need -= q
            if not need:
                break
    return out


def status_after(states: Iterable[tuple[ReservationStatus, int]]) -> OrderStatus:
    """The order's status from the quantities in each reservation state."""
    totals: Mapping[ReservationStatus, int] = _totals(states)
    held = totals.get(ReservationStatus.ACTIVE, 0) + totals.get(ReservationStatus.PICKED, 0)
    shipped = totals.get(ReservationStatus.SHIPPED, 0)
    if not held:
        return OrderStatus.SHIPPED if shipped else OrderStatus.CANCELLED
    if shipped:
        return OrderStatus.PARTLY_SHIPPED
    if totals.get(ReservationStatus.PICKED, 0):
        return OrderStatus.PICKING
    return OrderStatus.ALLOCATED


def _totals(states: Iterable[tuple[ReservationStatus, int]]) -> dict[ReservationStatus, int]:
    out: dict[ReservationStatus, int] = {}
    for status, qty in states:
        out[status] = out.get(status, 0) + qty
    return out
