"""Poison telemetry: whatever the bytes, the parse gives readings and reasons, never another exception.

A value that overflows datetime arithmetic, a number beyond a float, an integer beyond Python's digit limit,
a huge backlog: each is refused with its reason, element by element, so the ingest dead-letters it alone.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.mqtt import Message
from logistics.ingest import receive
from logistics.tracking.readings import (
    EARLIEST_TS,
    LATEST_TS,
    MAX_BACKLOG_READINGS,
    MAX_PAYLOAD_BYTES,
    PayloadError,
    parse_message,
)

NOW = datetime(2027, 3, 4, 10, 20, tzinfo=UTC)
GOOD = {"seq": 42, "ts": "2027-03-04T10:15:00Z", "lat": 28.77, "lon": 104.63}


def _rejected(payload: bytes) -> list[tuple[int, str]]:
    parsed = parse_message("d", payload, received_at=NOW)
    assert parsed.readings == ()
    return list(parsed.rejected)


@pytest.mark.parametrize(
    "ts",
    [
        "9999-12-31T23:59:59-12:00",  # year 10000 in UTC
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC
        "9999-12-31T23:59:59Z",  # representable, but nothing can be added to it
        "0001-01-01T00:00:00Z",
        "0999-12-31T23:59:59Z",
        "9000-01-01T00:00:00Z",
    ],
)
def test_a_fix_time_out_of_range_is_refused_with_its_reason(ts: str) -> None:
    payload = json.dumps({**GOOD, "ts": ts}).encode()
    assert _rejected(payload) == [(0, f"field 'ts' is out of range (years 1000 to 8999 UTC): {ts!r}")]


def test_the_ends_of_the_range_are_fix_times() -> None:
    for ts in ("1000-01-01T00:00:00Z", "8999-12-31T23:59:59Z"):
        [r] = parse_message("d", json.dumps({**GOOD, "ts": ts}).encode()).readings
        assert EARLIEST_TS <= r.ts < LATEST_TS


def test_an_integer_beyond_a_float_is_refused_with_its_reason() -> None:
    payload = json.dumps({**GOOD, "lat": 10**400}).encode()
    assert _rejected(payload) == [(0, "field 'lat' must be between -90 and 90, got 1" + "0" * 39 + "...")]


def test_an_integer_beyond_the_digit_limit_makes_the_payload_unusable() -> None:
    payload = b'{"seq": 1, "ts": "2027-03-04T10:15:00Z", "lat": 1' + b"0" * 5000 + b', "lon": 2}'
    with pytest.raises(PayloadError) as caught:
        parse_message("d", payload)
    assert caught.value.reason == "malformed JSON: a number with too many digits"


def test_a_backlog_longer_than_the_limit_is_refused_and_counts_each_reading() -> None:
    n = MAX_BACKLOG_READINGS + 1
    with pytest.raises(PayloadError) as caught:
        parse_message("d", b"[" + b",".join([b'{"seq":1}'] * n) + b"]")
    assert (caught.value.reason, caught.value.readings) == (
        f"backlog of {n} readings exceeds the limit of {MAX_BACKLOG_READINGS}",
        n,
    )


# ------------------------------------------------------------------------------ generated poison payloads

_EXTREME_TIMES = st.builds(
    lambda t, minutes, fmt: fmt(t.replace(tzinfo=timezone(timedelta(minutes=minutes)))),
    st.one_of(
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(1, 1, 3)),
        st.datetimes(min_value=datetime(9999, 12, 29), max_value=datetime(9999, 12, 31, 23, 59, 59)),
        st.datetimes(),
    ),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
    st.sampled_from([lambda t: t.isoformat(), lambda t: t.isoformat(timespec="seconds")]),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(),  # NaN and infinities included
    st.text(max_size=12),
    _EXTREME_TIMES,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
)
_FIELDS = st.sampled_from(["seq", "ts", "lat", "lon", "speed_kmh", "temp_c", "door_open", "battery_pct"])


@st.composite
def _elements(draw: st.DrawFn) -> object:
    if draw(st.integers(0, 9)) == 0:
        return draw(_VALUES)  # not an object at all
    doc: dict[str, object] = dict(GOOD)
    doc["ts"] = draw(st.one_of(st.just(GOOD["ts"]), _EXTREME_TIMES))
    doc.update(draw(st.dictionaries(_FIELDS, _VALUES, max_size=3)))
    return doc


def _dumps(doc: object) -> bytes:
    # Python's json writes NaN, Infinity and integers of any length: the poison a device could send.
    return json.dumps(doc, allow_nan=True).encode()


@st.composite
def _payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["object", "array", "huge array", "bytes", "bad utf-8", "nested"]))
    if kind == "object":
        return _dumps(draw(_elements()))
    if kind == "array":
        return _dumps(draw(st.lists(_elements(), max_size=6)))
    if kind == "huge array":
        n = draw(st.integers(MAX_BACKLOG_READINGS - 2, MAX_BACKLOG_READINGS + 2))
        element = draw(st.sampled_from([b"{}", b'{"seq":1}', b"1", _dumps(draw(_elements()))]))
        return b"[" + b",".join([element] * n) + b"]"
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "bad utf-8":
        good = _dumps(draw(_elements()))
        at = draw(st.integers(0, len(good)))
        return good[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + good[at:]
    depth = draw(st.integers(1, 5000))
    return b'{"a":' * depth + b"1" + b"}" * depth


def _refuse(name: str) -> object:
    raise ValueError(name)


def _elements_in(payload: bytes) -> int:
    """Readings a payload stands for: each element of a backlog; one for a payload unusable as a whole."""
    try:
        # Strict UTF-8 (json.loads of bytes lets surrogates through); NaN or Infinity: malformed JSON.
        doc = json.loads(payload.decode("utf-8"), parse_constant=_refuse)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return 1
    return len(doc) if isinstance(doc, list) and doc else 1


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(payload=_payloads())
def test_every_generated_payload_gives_readings_or_reasons_never_an_exception(payload: bytes) -> None:
    try:
        parsed = parse_message("d", payload, received_at=NOW)
    except PayloadError as exc:
        assert exc.reason and exc.readings >= 1
    else:
        assert all(reason for _, reason in parsed.rejected)
        for r in parsed.readings:  # every time the service computes from a fix stays representable
            assert EARLIEST_TS <= r.ts < LATEST_TS
            assert r.ts + timedelta(days=365_000) and r.ts - timedelta(days=365_000)
            assert math.isfinite(r.lat) and math.isfinite(r.lon)
    # The ingest's view of it: each element is a reading or a dead letter with a reason, counted once.
    received = receive(Message("xborder/v1/devices/d/telemetry", payload, 1), NOW)
    assert all(reason for _, reason, _ in received.deadletters)
    expected = _elements_in(payload) if len(payload) <= MAX_PAYLOAD_BYTES else 1
    assert len(received.readings) + received.refused == expected
