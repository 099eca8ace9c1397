"""Tracker readings: parsing the MQTT telemetry payload (the contract's MQTT section) and screening fixes.

Parsing decides whether a payload can be *used at all* (bad ones go to the dead letter topic with the reason);
screening decides whether a well-formed reading is *trustworthy* (bad ones are quarantined: stored, flagged,
never driving status).

Backlog arrays: one bad element does not cost the good ones. `parse_message` returns the good readings and the
rejected elements as `(index, reason)`; the ingest dead-letters each rejected element with its reason and
counts it, and stores the rest. Only a payload that is unusable as a whole (not UTF-8 JSON, too large, neither
an object nor an array, an empty array, a backlog of more than MAX_BACKLOG_READINGS) raises `PayloadError`;
nothing else escapes the parse, whatever the bytes. `parse_payload` is the strict form: it returns the
readings or raises `PayloadError` for the first bad element (the reason names its index).

Poison values are refused here, element by element, so that they never reach the batch: a fix time outside
EARLIEST_TS..LATEST_TS (`9999-12-31T23:59:59-12:00` is past datetime's range once in UTC, and every later
offset, dwell or ETA computed from a time near either end would overflow), a number that is not finite or
does not fit a float, an integer of more digits than Python converts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

MAX_PAYLOAD_BYTES = 256_000
MAX_SEQ = 2**63 - 1  # fits a PostgreSQL bigint
# A backlog upload's readings at most: a tracker reporting every minute, offline for three and a half days
# (about 5,000 readings is also what the payload limit holds). A longer array is refused as a whole.
MAX_BACKLOG_READINGS = 5_000
# Fix times the service computes with. No tracker clock (a GPS week rollover, an epoch reset to 1970 or 1980)
# comes near either end; screening quarantines those. Beyond them, a time is a poison value, and a thousand
# years of margin keep every computation from a fix time (dwell, offsets, ETAs, alarms) in datetime's range.
EARLIEST_TS = datetime(1000, 1, 1, tzinfo=UTC)
LATEST_TS = datetime(9000, 1, 1, tzinfo=UTC)
EARTH_RADIUS_KM = 6371.0088

# RFC 3339 date-time with an explicit offset; `datetime.fromisoformat` alone also takes dates without a time,
# week dates and naive times, none of which is a fix time.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True, slots=True)
class Reading:
    device_id: str
    seq: int
    ts: datetime  # fix time, tz-aware UTC
    lat: float
    lon: float
    speed_kmh: float | None = None
    accuracy_m: float | None = None
    temp_c: float | None = None
    humidity_pct: float | None = None
    shock_g: float | None = None
    door_open: bool | None = None
    battery_pct: float | None = None
    # When the service received it (the ingest's clock). Not part of the wire payload; stored with the
    # reading so that screening against "now" gives the same answer on replay.
    received_at: datetime | None = None


class PayloadError(Exception):
    """A payload (or an element of a backlog array) that cannot be used; `reason` goes to the dead letter.

    `readings`: how many readings it stands for (a backlog refused as a whole counts each of its elements)."""

    def __init__(self, reason: str, readings: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.readings = readings


@dataclass(frozen=True, slots=True)
class ParsedPayload:
    readings: tuple[Reading, ...]
    rejected: tuple[tuple[int, str], ...]  # (index in the array, reason); index 0 for a single object
    is_array: bool


def parse_message(
    device_id: str,
    payload: bytes,
    max_bytes: int = MAX_PAYLOAD_BYTES,
    *,
    received_at: datetime | None = None,
) -> ParsedPayload:
    """Parse one telemetry payload; good readings and rejected elements. Raises `PayloadError` if unusable.

    Fast path: orjson, taken only when it yields a wholly good payload. Anything else (bad UTF-8, bad JSON, a
    number orjson reads otherwise, a bad element) is parsed again by the standard library, whose result and
    reasons are the reference: both give the same readings wherever orjson is used.
    """
    if len(payload) > max_bytes:
        raise PayloadError(f"payload of {len(payload)} bytes exceeds the limit of {max_bytes} bytes")
    try:
        fast = _parsed(device_id, orjson.loads(payload), received_at)
    except (orjson.JSONDecodeError, PayloadError):  # the standard parse gives the reason
        fast = None
    if fast is not None and not fast.rejected:
        return fast
    return parse_standard(device_id, payload, received_at=received_at)


def parse_standard(device_id: str, payload: bytes, *, received_at: datetime | None = None) -> ParsedPayload:
    """`parse_message` with the standard library's JSON only (the reference for every outcome and reason)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        doc = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except PayloadError:
        raise
    except RecursionError:
        raise PayloadError("malformed JSON: nested too deeply") from None
    except (
        ValueError
    ):  # an integer longer than Python converts (4,300 digits), raised outside JSONDecodeError
        raise PayloadError("malformed JSON: a number with too many digits") from None
    return _parsed(device_id, doc, received_at)


def _parsed(device_id: str, doc: Any, received_at: datetime | None) -> ParsedPayload:
    if isinstance(doc, dict):
        try:
            return ParsedPayload((_reading(device_id, doc, received_at),), (), False)
        except PayloadError as exc:
            return ParsedPayload((), ((0, exc.reason),), False)
    if isinstance(doc, list):
        if not doc:
            raise PayloadError("empty array: a backlog upload carries at least one reading")
        if len(doc) > MAX_BACKLOG_READINGS:
            raise PayloadError(
                f"backlog of {len(doc)} readings exceeds the limit of {MAX_BACKLOG_READINGS}",
                readings=len(doc),
            )
        good: list[Reading] = []
        bad: list[tuple[int, str]] = []
        for index, element in enumerate(doc):
            try:
                if not isinstance(element, dict):
                    raise PayloadError(f"expected a JSON object, got {_json_type(element)}")
                good.append(_reading(device_id, element, received_at))
            except PayloadError as exc:
                bad.append((index, exc.reason))
        return ParsedPayload(tuple(good), tuple(bad), True)
    raise PayloadError(f"expected a JSON object or an array of objects, got {_json_type(doc)}")


def parse_payload(
    device_id: str, payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES, *, received_at: datetime | None = None
) -> list[Reading]:
    """Strict form of `parse_message`: every element must be good, else `PayloadError`."""
    parsed = parse_message(device_id, payload, max_bytes, received_at=received_at)
    if parsed.rejected:
        index, reason = parsed.rejected[0]
        raise PayloadError(f"element {index}: {reason}" if parsed.is_array else reason)
    return list(parsed.readings)


def _reject_constant(name: str) -> Any:
    raise PayloadError(f"malformed JSON: {name} is not a number")


# One decoder for every payload: `json.loads` with an argument builds a new decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _reading(device_id: str, obj: Mapping[str, Any], received_at: datetime | None) -> Reading:
    for name in ("seq", "ts", "lat", "lon"):
        if name not in obj or obj[name] is None:
            raise PayloadError(f"missing required field {name!r}")
    seq = obj["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise PayloadError(f"field 'seq' must be an integer, got {_json_type(seq)}")
    if not 0 <= seq <= MAX_SEQ:
        raise PayloadError(f"field 'seq' must be between 0 and {MAX_SEQ}, got {seq}")
    ts = _timestamp(obj["ts"])
    lat = _number(obj, "lat", -90.0, 90.0)
    lon = _number(obj, "lon", -180.0, 180.0)
    assert lat is not None and lon is not None  # required, checked above
    door = obj.get("door_open")
    if door is not None and not isinstance(door, bool):
        raise PayloadError(f"field 'door_open' must be true, false or null, got {_json_type(door)}")
    return Reading(
        device_id=device_id,
        seq=seq,
        ts=ts,
        lat=lat,
        lon=lon,
        speed_kmh=_number(obj, "speed_kmh", 0.0, 5000.0),
        accuracy_m=_number(obj, "accuracy_m", 0.0, math.inf),
        temp_c=_number(obj, "temp_c", -100.0, 150.0),
        humidity_pct=_number(obj, "humidity_pct", 0.0, 100.0),
        shock_g=_number(obj, "shock_g", 0.0, 1000.0),
        door_open=door,
        battery_pct=_number(obj, "battery_pct", 0.0, 100.0),
        received_at=received_at,
    )


def _number(obj: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"field {name!r} must be a number, got {_json_type(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not math.isfinite(number) or not low <= number <= high:
        shown = str(value)  # an int within the JSON parser's digit limit, or a float
        shown = shown if len(shown) <= 40 else f"{shown[:40]}..."
        raise PayloadError(f"field {name!r} must be between {low:g} and {high:g}, got {shown}")
    return number


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise PayloadError(f"field 'ts' must be an RFC 3339 string, got {_json_type(value)}")
    if not _RFC3339.match(value):
        raise PayloadError(f"field 'ts' is not an RFC 3339 time with an offset: {value[:40]!r}")
    text = value
    if "." in text:  # Python keeps microseconds; trim nanoseconds so fromisoformat accepts them
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    try:
        ts = datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise PayloadError(f"field 'ts' is not a valid time: {value[:40]!r}") from None
    except OverflowError:  # in range with its offset, out of range in UTC (year 0 or 10000)
        ts = None
    if ts is None or not EARLIEST_TS <= ts < LATEST_TS:
        years = f"years {EARLIEST_TS.year} to {LATEST_TS.year - 1} UTC"
        raise PayloadError(f"field 'ts' is out of range ({years}): {value[:40]!r}")
    return ts


# ---------------------------------------------------------------------------------------------- screening


@dataclass(frozen=True, slots=True)
class ScreeningRules:
    """Limits for trusting a fix; the defaults suit rail, sea, road and air alike."""

    max_accuracy_m: float = 500.0
    # Mode-independent: faster than any freight aircraft, so a real move is never quarantined.
    max_speed_kmh: float = 1000.0
    jump_slack_km: float = 1.0
    max_clock_skew: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=180)
    null_island_deg: float = 1e-4


DEFAULT_SCREENING = ScreeningRules()
GPS_WEEK_ROLLOVER = timedelta(weeks=1024)
_ROLLOVER_WINDOW = timedelta(days=366)

# Why a reading was quarantined. The position ones leave its sensor values (temperature, door...) usable.
NULL_ISLAND = "null_island_fix"
POOR_ACCURACY = "poor_accuracy"
IMPOSSIBLE_SPEED = "impossible_speed"
FUTURE_TIMESTAMP = "future_timestamp"
GPS_ROLLOVER = "gps_week_rollover"
TOO_OLD = "timestamp_too_old"
OUT_OF_SEQUENCE = "timestamp_out_of_sequence"
POSITION_REASONS = frozenset({NULL_ISLAND, POOR_ACCURACY, IMPOSSIBLE_SPEED})


def screen(
    reading: Reading,
    previous: Reading | None,
    now: datetime | None,
    rules: ScreeningRules = DEFAULT_SCREENING,
) -> str | None:
    """None if the reading may drive status, else the quarantine reason (one of the constants above).

    `previous` is the same device's previous *good* reading in event-time order; `now` is when the reading
    was received (None skips the time checks: nothing to compare with).
    """
    if now is not None:
        age = now - reading.ts
        if -age > rules.max_clock_skew:
            return FUTURE_TIMESTAMP
        if age > rules.max_age:
            # A receiver with the 1024-week bug reports a time ~19.6 years back (plus however long since).
            return GPS_ROLLOVER if abs(age - GPS_WEEK_ROLLOVER) <= _ROLLOVER_WINDOW else TOO_OLD
    if abs(reading.lat) < rules.null_island_deg and abs(reading.lon) < rules.null_island_deg:
        return NULL_ISLAND
    if reading.accuracy_m is not None and reading.accuracy_m > rules.max_accuracy_m:
        return POOR_ACCURACY
    if previous is not None:
        # seq rises by one per reading: a lower seq with a later time is a clock that jumped ahead (and
        # escaped the future check because it was uploaded late, in a backlog).
        if reading.seq < previous.seq and reading.ts > previous.ts:
            return OUT_OF_SEQUENCE
        if impossible_jump(previous, reading, rules):
            return IMPOSSIBLE_SPEED
    return None


def impossible_jump(previous: Reading, reading: Reading, rules: ScreeningRules = DEFAULT_SCREENING) -> bool:
    """Could no vehicle have gone from one fix to the other in the time between them?"""
    hours = abs((reading.ts - previous.ts).total_seconds()) / 3600.0
    slack = rules.jump_slack_km + ((reading.accuracy_m or 0.0) + (previous.accuracy_m or 0.0)) / 1000.0
    allowed = rules.max_speed_kmh * hours + slack
    # Cheap bound first (the hot path): |dlat| + |dlon| in km along a meridian and a parallel is never
    # shorter than the great-circle distance, so well under the allowance needs no haversine.
    dlat = abs(reading.lat - previous.lat) * 111.2
    dlon = abs(reading.lon - previous.lon)
    if dlon < 180 and dlat + dlon * 111.3 < allowed * 0.98:
        return False
    return distance_km(previous.lat, previous.lon, reading.lat, reading.lon) > allowed


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance; geopy's is the same formula at ten times the cost per call."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
