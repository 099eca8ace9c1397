"""Bounds on numbers and instants that the storage and the date arithmetic below the edge can hold."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

INT32_MAX = 2_147_483_647  # an INTEGER column (quantities, counts)
INT32_MIN = -2_147_483_648
# Units on one line: a sane business bound well inside an INTEGER column, so that the balances a few hundred
# such lines add up to still fit in one.
QTY_MAX = 1_000_000
MONEY_MAX = Decimal("9999999999.99")  # a NUMERIC(12, 2) column (prices, costs, values)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # far enough from 9999-12-31 that adding years cannot overflow


def in_range(value: datetime) -> datetime:
    """`value` unchanged if it lies between EARLIEST and LATEST in UTC (a naive one read as UTC)."""
    try:
        at = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except OverflowError:
        at = None  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
    if at is None or not EARLIEST <= at < LATEST:
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(in_range)]
"""A timezone-aware instant that can be converted to UTC and moved by years without overflowing."""
InstantOrNaive = Annotated[datetime, AfterValidator(in_range)]
"""Like `Instant`, but a naive one (read as UTC) is accepted too."""
