"""Counts matched to announced lines: exact lot first, a lot-less count spread in order, each unit once."""

from __future__ import annotations

from warehouse.counting import match_counts


def test_exact_lots_and_lot_less_counts_spread_in_order() -> None:
    lines = [("TEA", "L1", 5), ("TEA", "L2", 5), ("CUP", "", 3)]
    got, left = match_counts(lines, {("TEA", "L2"): 4, ("TEA", ""): 7, ("CUP", ""): 4})
    assert got == [5, 4, 4] and left == {("TEA", ""): 2}


def test_unannounced_goods_are_left_over_and_each_unit_counts_once() -> None:
    lines = [("TEA", "L1", 5), ("TEA", "L2", 5)]
    got, left = match_counts(lines, {("TEA", ""): 3, ("SOAP", ""): 2})
    assert got == [3, 0] and left == {("SOAP", ""): 2}
    got, left = match_counts([("TEA", "", 5), ("TEA", "L1", 5)], {("TEA", ""): 4})
    assert got == [4, 0] and left == {}  # the lot-less line took the count; the lot line gets none of it
    assert match_counts([], {}) == ([], {})
