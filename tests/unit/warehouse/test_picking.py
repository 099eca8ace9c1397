"""Which reservations a pick takes, and an order's status from its reservations' states."""

from __future__ import annotations

from datetime import date

import pytest

from kernel.errors import Conflict, InvalidInput
from warehouse.domain import OrderStatus, ReservationStatus
from warehouse.picking import Held, PickRequest, plan_picks, status_after

TODAY = date(2027, 3, 1)
A, P = ReservationStatus.ACTIVE, ReservationStatus.PICKED


def held(
    id_: int,
    qty: int,
    lot: str = "",
    expires: date | None = None,
    status: ReservationStatus = A,
    line_no: int = 1,
) -> Held:
    return Held(id_, line_no, "DE", "TEA", lot, qty, status, expires)


def test_earliest_expiry_first_and_never_an_already_picked_unit() -> None:
    rows = [
        held(1, 3, "LATE", date(2027, 9, 1)),
        held(2, 2, "SOON", date(2027, 4, 1)),
        held(3, 5, "", None),
        held(4, 9, "SOON", date(2027, 4, 1), status=P),
    ]
    plan = plan_picks(rows, [PickRequest("TEA", 6)], TODAY)
    assert [(h.id, q) for h, q in plan] == [(2, 2), (1, 3), (3, 1)]


def test_two_requests_share_what_is_left() -> None:
    rows = [held(1, 3), held(2, 3, line_no=2)]
    plan = plan_picks(rows, [PickRequest("TEA", 2, line_no=2), PickRequest("TEA", 4)], TODAY)
    assert [(h.id, q) for h, q in plan] == [(2, 2), (1, 3), (2, 1)]
    with pytest.raises(InvalidInput):
        plan_picks(rows, [PickRequest("TEA", 4), PickRequest("TEA", 3)], TODAY)


def test_expired_units_are_not_picked_and_the_refusal_says_why() -> None:
    rows = [held(1, 2, "OLD", date(2027, 3, 1)), held(2, 1, "NEW", date(2027, 6, 1))]
    assert [(h.id, q) for h, q in plan_picks(rows, [PickRequest("TEA", 1)], TODAY)] == [(2, 1)]
    with pytest.raises(Conflict, match="expired"):
        plan_picks(rows, [PickRequest("TEA", 3)], TODAY)
    with pytest.raises(InvalidInput):
        plan_picks(rows, [PickRequest("TEA", 4)], TODAY)
    with pytest.raises(InvalidInput):
        plan_picks(rows, [PickRequest("TEA", 0)], TODAY)


def test_status_after() -> None:
    S, R = ReservationStatus.SHIPPED, ReservationStatus.RELEASED
    assert status_after([(A, 2)]) is OrderStatus.ALLOCATED
    assert status_after([(A, 2), (R, 1)]) is OrderStatus.ALLOCATED
    assert status_after([(A, 1), (P, 1)]) is OrderStatus.PICKING
    assert status_after([(P, 1), (S, 1)]) is OrderStatus.PARTLY_SHIPPED
    assert status_after([(S, 2), (R, 1)]) is OrderStatus.SHIPPED
    assert status_after([(R, 3)]) is OrderStatus.CANCELLED
