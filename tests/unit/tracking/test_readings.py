"""Parsing the telemetry payload (the contract's MQTT section) and screening fixes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logistics.tracking.readings import (
    FUTURE_TIMESTAMP,
    GPS_ROLLOVER,
    IMPOSSIBLE_SPEED,
    NULL_ISLAND,
    POOR_ACCURACY,
    TOO_OLD,
    ParsedPayload,
    PayloadError,
    Reading,
    parse_message,
    parse_payload,
    parse_standard,
    screen,
)

NOW = datetime(2027, 3, 4, 10, 20, tzinfo=UTC)
GOOD = {"seq": 42, "ts": "2027-03-04T10:15:00Z", "lat": 28.77, "lon": 104.63, "speed_kmh": 62.5,
        "accuracy_m": 8, "temp_c": 4.2, "humidity_pct": 55, "shock_g": 0.3, "door_open": False,
        "battery_pct": 81}  # fmt: skip


def dumps(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_the_contract_example_parses_to_one_reading() -> None:
    [r] = parse_payload("trk-7", dumps(GOOD), received_at=NOW)
    assert r == Reading("trk-7", 42, datetime(2027, 3, 4, 10, 15, tzinfo=UTC), 28.77, 104.63, 62.5, 8.0, 4.2,
                        55.0, 0.3, False, 81.0, NOW)  # fmt: skip


def test_only_seq_ts_lat_lon_are_required() -> None:
    [r] = parse_payload("trk-7", b'{"seq": 0, "ts": "2027-03-04T18:15:00+08:00", "lat": 1, "lon": -2}')
    assert (r.seq, r.ts, r.lat, r.lon, r.temp_c, r.door_open) == (
        0, datetime(2027, 3, 4, 10, 15, tzinfo=UTC), 1.0, -2.0, None, None,
    )  # fmt: skip
    assert r.ts.tzinfo is UTC


def test_nanosecond_timestamps_are_accepted_to_the_microsecond() -> None:
    [r] = parse_payload("d", dumps({**GOOD, "ts": "2027-03-04T10:15:00.123456789Z"}))
    assert r.ts == datetime(2027, 3, 4, 10, 15, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'"hello"', "expected a JSON object or an array"),
        (b"[]", "empty array"),
        (b"[" * 150_000 + b"]" * 150_000, "exceeds the limit"),
        (b'{"seq": 1, "ts": "2027-03-04T10:15:00Z", "lat": NaN, "lon": 1}', "NaN is not a number"),
    ],
)
def test_unusable_payloads_raise_with_the_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_message("d", payload)
    assert reason in caught.value.reason


def test_deep_nesting_within_the_size_limit_is_a_payload_error_not_a_crash() -> None:
    with pytest.raises(PayloadError, match="malformed JSON"):
        parse_message("d", b"[" * 60_000 + b"]" * 60_000)


def test_a_huge_payload_is_refused_before_parsing() -> None:
    big = dumps([{**GOOD, "seq": i} for i in range(3000)])
    assert len(big) > 256_000
    with pytest.raises(PayloadError, match="exceeds the limit of 256000 bytes"):
        parse_message("d", big)
    assert len(parse_message("d", big, max_bytes=len(big)).readings) == 3000


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seq": None}, "missing required field 'seq'"),
        ({"lat": None}, "missing required field 'lat'"),
        ({"seq": "42"}, "'seq' must be an integer, got a string"),
        ({"seq": True}, "'seq' must be an integer, got a boolean"),
        ({"seq": 4.5}, "'seq' must be an integer, got a number"),
        ({"seq": -1}, "'seq' must be between 0"),
        ({"seq": 2**64}, "'seq' must be between 0"),
        ({"ts": 1741083300}, "'ts' must be an RFC 3339 string"),
        ({"ts": "2027-03-04T10:15:00"}, "not an RFC 3339 time with an offset"),
        ({"ts": "2027-03-04"}, "not an RFC 3339 time with an offset"),
        ({"ts": "2027-02-30T10:15:00Z"}, "not a valid time"),
        ({"lat": 91}, "'lat' must be between -90 and 90"),
        ({"lon": "104.6"}, "'lon' must be a number, got a string"),
        ({"temp_c": [4]}, "'temp_c' must be a number, got an array"),
        ({"battery_pct": 101}, "'battery_pct' must be between 0 and 100"),
        ({"accuracy_m": -3}, "'accuracy_m' must be between 0"),
        ({"door_open": "no"}, "'door_open' must be true, false or null"),
    ],
)
def test_bad_fields_are_rejected_with_a_clear_reason(change: dict[str, object], reason: str) -> None:
    doc = {**GOOD, **change}
    doc = {k: v for k, v in doc.items() if v is not None}
    parsed = parse_message("d", dumps(doc))
    assert parsed.readings == ()
    assert len(parsed.rejected) == 1 and reason in parsed.rejected[0][1]
    with pytest.raises(PayloadError, match="must|missing|not"):
        parse_payload("d", dumps(doc))


def test_a_backlog_array_keeps_the_good_elements_and_names_the_bad_ones() -> None:
    backlog = [{**GOOD, "seq": 40}, {**GOOD, "seq": "x"}, "junk", {**GOOD, "seq": 43}]
    parsed = parse_message("d", dumps(backlog))
    assert [r.seq for r in parsed.readings] == [40, 43]
    assert [i for i, _ in parsed.rejected] == [1, 2]
    assert "expected a JSON object, got a string" in parsed.rejected[1][1]
    with pytest.raises(PayloadError, match="element 1: field 'seq'"):
        parse_payload("d", dumps(backlog))


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    [r] = parse_payload("d", dumps({**GOOD, "firmware": "2.1", "rssi": -71}))
    assert r.seq == 42


# ------------------------------------------------------------------------------------------------ screening


def reading(**kw: object) -> Reading:
    base: dict[str, object] = {"device_id": "d", "seq": 1, "ts": NOW - timedelta(minutes=1), "lat": 28.77,
                               "lon": 104.63, "accuracy_m": 8.0}  # fmt: skip
    base.update(kw)
    return Reading(**base)  # type: ignore[arg-type]


def test_a_good_fix_passes() -> None:
    assert screen(reading(), reading(seq=0, ts=NOW - timedelta(minutes=11), lon=104.70), NOW) is None


def test_null_island_poor_accuracy_and_jumps_are_quarantined() -> None:
    previous = reading(seq=0, ts=NOW - timedelta(minutes=11))
    assert screen(reading(lat=0.0, lon=0.0), previous, NOW) == NULL_ISLAND
    assert screen(reading(accuracy_m=2500.0), previous, NOW) == POOR_ACCURACY
    # Ürümqi in ten minutes from Yibin: 1,800 km, far beyond any aircraft.
    assert screen(reading(lat=43.83, lon=87.62), previous, NOW) == IMPOSSIBLE_SPEED
    # 150 km in ten minutes is 900 km/h: an aircraft could, so it stands.
    assert screen(reading(lon=104.63 + 1.52), previous, NOW) is None


def test_a_lower_seq_with_a_later_time_is_out_of_sequence() -> None:
    previous = reading(seq=10, ts=NOW - timedelta(minutes=11))
    assert screen(reading(seq=9), previous, NOW) == "timestamp_out_of_sequence"
    assert screen(reading(seq=11), previous, NOW) is None


def test_clock_skew_into_the_future_is_quarantined_beyond_the_allowance() -> None:
    assert screen(reading(ts=NOW + timedelta(minutes=4)), None, NOW) is None
    assert screen(reading(ts=NOW + timedelta(hours=2)), None, NOW) == FUTURE_TIMESTAMP


def test_gps_week_rollover_and_very_old_fixes_are_quarantined() -> None:
    rolled = NOW - timedelta(weeks=1024)
    assert screen(reading(ts=rolled), None, NOW) == GPS_ROLLOVER
    assert screen(reading(ts=NOW - timedelta(days=400)), None, NOW) == TOO_OLD
    assert screen(reading(ts=NOW - timedelta(days=3)), None, NOW) is None  # a backlog after a gap
    assert screen(reading(ts=rolled), None, None) is None  # nothing to compare with


def test_the_skew_allowance_grows_with_an_accelerated_service_clock() -> None:
    from logistics.tracking.rules import rules_for_clock_speed

    ahead = reading(ts=NOW + timedelta(minutes=20))  # one real second ahead at 1000x is ~17 minutes
    assert screen(ahead, None, NOW) == FUTURE_TIMESTAMP
    assert screen(ahead, None, NOW, rules_for_clock_speed(1000).screening) is None
    assert rules_for_clock_speed(1).screening.max_clock_skew == timedelta(minutes=5)


# The orjson fast path must give exactly what the standard library's parse gives (readings, rejections and
# reasons), whatever the payload: values of every JSON type in every field, huge integers (orjson reads them
# as floats), non-finite and extreme numbers, odd strings, arrays mixing good and bad elements.
_FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["2027-03-04T10:15:00Z", "2027-03-04T10:15:00.123456789+08:00", "1e400", "", "\ud800x"]),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)
_FIELDS = st.sampled_from(
    ["seq", "ts", "lat", "lon", "speed_kmh", "accuracy_m", "temp_c", "door_open", "extra"]
)


@st.composite
def _telemetry_docs(draw: st.DrawFn) -> object:
    def element() -> dict[str, object]:
        doc: dict[str, object] = dict(GOOD)
        for name, value in draw(st.dictionaries(_FIELDS, _FIELD_VALUES, max_size=3)).items():
            doc[name] = value
        for name in draw(st.lists(_FIELDS, max_size=2)):
            doc.pop(name, None)
        return doc

    if draw(st.booleans()):
        return element()
    return [element() for _ in range(draw(st.integers(min_value=0, max_value=3)))]


def _outcome(parse: Callable[[], ParsedPayload]) -> object:
    try:
        return parse()
    except PayloadError as exc:
        return ("error", exc.reason)


@settings(max_examples=300, deadline=None)
@given(doc=_telemetry_docs(), raw=st.sampled_from(["", "huge", "nan", "exp"]))
def test_the_fast_parse_equals_the_standard_librarys(doc: object, raw: str) -> None:
    text = json.dumps(doc)
    if raw == "huge":
        text = text.replace('"seq": 42', '"seq": 123456789012345678901234567890', 1)
    elif raw == "nan":
        text = text.replace('"lat": 28.77', '"lat": NaN', 1)
    elif raw == "exp":
        text = text.replace('"lon": 104.63', '"lon": 1e400', 1)
    payload = text.encode("utf-8", "surrogatepass")
    assert _outcome(lambda: parse_message("d", payload, received_at=NOW)) == _outcome(
        lambda: parse_standard("d", payload, received_at=NOW)
    )
