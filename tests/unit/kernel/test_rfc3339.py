"""Times in answers read to the second; cursors keep every microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from kernel.clock import parse_time, rfc3339


def test_answers_are_to_the_second_in_utc_with_z() -> None:
    t = datetime(2027, 3, 1, 8, 15, 42, 987654, tzinfo=timezone(timedelta(hours=8)))
    assert rfc3339(t) == "2027-03-01T00:15:42Z"


def test_exact_keeps_microseconds_and_round_trips() -> None:
    t = datetime(2027, 3, 1, 0, 15, 42, 987654, tzinfo=UTC)
    assert rfc3339(t, exact=True) == "2027-03-01T00:15:42.987654Z"
    assert parse_time(rfc3339(t, exact=True)) == t
