"""Matching what a dock counted against what was announced (an inbound notice, a transfer), pure.

A count names a SKU and, where the goods carry one, a lot. A count of the exact (SKU, lot) goes to that
line; a count without a lot is spread over the SKU's lot lines in order, each up to its announced quantity.
Whatever is left (goods nobody announced, or more than the lines took) comes back as leftovers, which the
receipts book to quarantine. Each counted unit is used once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kernel.errors import InvalidInput
from warehouse.domain import NO_LOT


def match_counts(
    lines: Sequence[tuple[str, str, int]], counted: Mapping[tuple[str, str], int]
) -> tuple[list[int], dict[tuple[str, str], int]]:
    """Units counted for each announced line (sku, lot, qty), in order, and the leftovers by (sku, lot)."""
    left = dict(counted)
    got: list[int] = []
    for sku, lot, qty in lines:
        g = left.pop((sku, lot), 0)
        if not g and lot and left.get((sku, NO_LOT)):
            g = min(left[(sku, NO_LOT)], qty)
            left[(sku, NO_LOT)] -= g
        got.append(g)
    return got, {k: v for k, v in sorted(left.items()) if v}


@dataclass(frozen=True)
class CountLine:
    """Units of a SKU (and lot, where the goods carry one) counted at a dock or on a shelf."""

    sku: str
    qty: int
    lot: str | None = None


def counted_quantities(lines: Sequence[CountLine]) -> dict[tuple[str, str], int]:
    """Counted units by (sku, lot); a negative count is refused."""
    counted: dict[tuple[str, str], int] = defaultdict(int)
    for i, ln in enumerate(lines):
        if ln.qty < 0:
            raise InvalidInput(
                f"lines.{i}.qty: a counted quantity cannot be negative",
                errors=[{"field": f"lines.{i}.qty", "message": "must be >= 0"}],
            )
        counted[(ln.sku, (ln.lot or "").strip())] += ln.qty
    return counted
