"""The pure rules: movements, allocation order, FEFO, dispositions, return receipts, refunds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kernel.errors import Conflict
from warehouse.domain import (
    Disposition,
    Grade,
    InsufficientStock,
    Location,
    MoveKind,
    MoveLine,
    SellableLot,
    ShipTo,
    Site,
    Stockbook,
    StockKey,
    StockMove,
    Virtual,
    Zone,
    disposition_for,
    fefo,
    move,
    plan_allocation,
    rank_sites,
    refund_amount,
    split_return_receipt,
)

TODAY = date(2027, 3, 1)
SITES = {
    "DEDUI": Site("DEDUI", "DE", 51.43, 6.76, Decimal("2")),
    "PLLOD": Site("PLLOD", "PL", 51.76, 19.46, Decimal("1")),
    "NLRTM": Site("NLRTM", "NL", 51.92, 4.48, Decimal("3")),
    "SGSIN": Site("SGSIN", "SG", 1.29, 103.85),
}


def lot(wh: str, sku: str, qty: int, name: str = "", exp: date | None = None) -> SellableLot:
    return SellableLot(wh, sku, name, qty, exp)


def test_a_movement_must_sum_to_zero() -> None:
    sup, pick = Location.virtual(Virtual.SUPPLIER), Location.at("DEDUI", Zone.PICK)
    with pytest.raises(ValueError, match="sum to zero"):
        StockMove("s", MoveKind.RECEIPT, "x", (MoveLine(sup, "tea", "", -5), MoveLine(pick, "tea", "", 4)))
    with pytest.raises(ValueError, match="sum to zero"):  # per SKU, not only overall
        StockMove("s", MoveKind.RECEIPT, "x", (MoveLine(sup, "tea", "", -5), MoveLine(pick, "lamp", "", 5)))
    mv = move("s", MoveKind.RECEIPT, "x", [(sup, pick, "tea", "", 5)])
    assert mv.real_deltas() == [(StockKey("s", "DEDUI", "pick", "tea", ""), 5)]
    assert mv.reversed("undo").real_deltas() == [(StockKey("s", "DEDUI", "pick", "tea", ""), -5)]


def test_stockbook_refuses_to_move_reserved_units() -> None:
    book = Stockbook()
    sup, pick = Location.virtual(Virtual.SUPPLIER), Location.at("DEDUI", Zone.PICK)
    book.apply(move("s", MoveKind.RECEIPT, "x", [(sup, pick, "tea", "", 5)]))
    book.reserve(StockKey("s", "DEDUI", "pick", "tea", ""), 4)
    with pytest.raises(Conflict):
        book.apply(
            move("s", MoveKind.CYCLE_COUNT, "x", [(pick, Location.virtual(Virtual.ADJUSTMENT), "tea", "", 2)])
        )
    with pytest.raises(Conflict):
        book.reserve(StockKey("s", "DEDUI", "pick", "tea", ""), 2)


def test_in_country_beats_nearer_foreign_warehouse() -> None:
    # a customer in Szczecin (PL) is nearer to nothing in particular, but Poland has a warehouse: it wins
    stock = [lot("DEDUI", "tea", 10), lot("PLLOD", "tea", 10)]
    plan = plan_allocation([("tea", 2)], ShipTo("PL", 53.43, 14.55), SITES, stock, TODAY)
    assert {p.warehouse for p in plan.picks} == {"PLLOD"}


def test_same_market_then_nearest_then_cheapest() -> None:
    stock = [lot("SGSIN", "tea", 10), lot("PLLOD", "tea", 10), lot("NLRTM", "tea", 10)]
    # France: no French warehouse; EU ones come before Singapore, the nearer (Rotterdam) first
    plan = plan_allocation([("tea", 2)], ShipTo("FR", 48.85, 2.35), SITES, stock, TODAY)
    assert plan.warehouses == ["NLRTM"]
    ranked = rank_sites([SITES["SGSIN"], SITES["PLLOD"], SITES["NLRTM"]], ShipTo("FR", 48.85, 2.35))
    assert [r.site.code for r in ranked] == ["NLRTM", "PLLOD", "SGSIN"]
    # equal distance (no position, unknown country): the cheaper handling wins
    ranked = rank_sites([SITES["DEDUI"], SITES["PLLOD"]], ShipTo("ZZ"))
    assert [r.site.code for r in ranked] == ["PLLOD", "DEDUI"]


def test_whole_order_from_one_warehouse_before_splitting() -> None:
    # Duisburg is nearer but cannot fill both lines; Lodz can: no split
    stock = [lot("DEDUI", "tea", 10), lot("PLLOD", "tea", 5), lot("PLLOD", "lamp", 5)]
    plan = plan_allocation([("tea", 3), ("lamp", 2)], ShipTo("DE", 51.2, 6.8), SITES, stock, TODAY)
    assert plan.warehouses == ["PLLOD"]
    assert any("whole order" in e for e in plan.explanation)


def test_split_only_when_nothing_else_works_and_fewest_warehouses() -> None:
    stock = [lot("DEDUI", "tea", 3), lot("NLRTM", "tea", 1), lot("PLLOD", "tea", 6)]
    plan = plan_allocation([("tea", 8)], ShipTo("DE"), SITES, stock, TODAY)
    assert sorted((p.warehouse, p.qty) for p in plan.picks) == [("DEDUI", 2), ("PLLOD", 6)]
    assert sum(p.qty for p in plan.picks) == 8
    assert any("split" in e for e in plan.explanation)


def test_not_enough_anywhere_names_the_shortage() -> None:
    with pytest.raises(InsufficientStock) as err:
        plan_allocation([("tea", 4), ("lamp", 1)], ShipTo("DE"), SITES, [lot("DEDUI", "tea", 3)], TODAY)
    assert err.value.extra["shortages"] == [{"sku": "lamp", "missing": 1}, {"sku": "tea", "missing": 1}]


def test_fefo_skips_expired_and_puts_undated_last() -> None:
    lots = [
        lot("DEDUI", "bj", 5, "NODATE"),
        lot("DEDUI", "bj", 5, "LATE", date(2027, 9, 1)),
        lot("DEDUI", "bj", 5, "GONE", date(2027, 3, 1)),
        lot("DEDUI", "bj", 5, "SOON", date(2027, 4, 1)),
    ]
    assert [x.lot for x in fefo(lots, TODAY)] == ["SOON", "LATE", "NODATE"]
    with pytest.raises(InsufficientStock):
        plan_allocation([("bj", 16)], ShipTo("DE"), SITES, lots, TODAY)
    plan2 = plan_allocation([("bj", 7)], ShipTo("DE"), SITES, lots, TODAY)
    assert [(p.lot, p.qty) for p in plan2.picks] == [("SOON", 5), ("LATE", 2)]


def test_quantity_spread_over_repeated_lines() -> None:
    plan = plan_allocation([("tea", 2), ("tea", 3)], ShipTo("DE"), SITES, [lot("DEDUI", "tea", 5)], TODAY)
    assert sorted((p.line_no, p.qty) for p in plan.picks) == [(1, 2), (2, 3)]


def test_dispositions_follow_the_sellers_table_and_expired_is_disposed() -> None:
    assert disposition_for(Grade.A, expired=False) is Disposition.RESTOCK
    assert disposition_for(Grade.D, expired=False) is Disposition.DISPOSE
    assert (
        disposition_for(Grade.C, False, {Grade.C: Disposition.RETURN_TO_ORIGIN})
        is Disposition.RETURN_TO_ORIGIN
    )
    assert disposition_for(Grade.A, expired=True) is Disposition.DISPOSE


def test_return_receipt_splits_expected_and_unexpected() -> None:
    split = split_return_receipt({"tea": 3}, {"tea": 2}, {"tea": 3, "lamp": 1})
    assert split.expected == {"tea": 1}
    assert split.unexpected == {"tea": 2, "lamp": 1}


def test_refund_is_for_what_was_received_at_the_price_paid() -> None:
    assert refund_amount({"tea": 2, "lamp": 1}, {"tea": Decimal("9.99"), "lamp": Decimal("20")}) == Decimal(
        "39.98"
    )
