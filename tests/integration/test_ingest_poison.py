"""Poison telemetry among good readings in one batch: every good reading is stored, every poison one is
dead-lettered once with its reason, and the batch commits in one go (no retries, no split into messages)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import FakeCommunicator, Message
from logistics.ingest import TelemetryIngest
from logistics.tables import deadletters, readings
from tests.conftest import Keys
from tests.integration.test_shipments_api import _reading, _tracked

POISON_TIMES = ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00")


def test_poison_readings_are_dead_lettered_alone_and_the_good_ones_stored(
    client: TestClient, keys: Keys, container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no, dev, stops = _tracked(client, h, "dev-poison")
    origin = stops[0]
    start = datetime.fromisoformat(origin["planned_departure"].replace("Z", "+00:00")) - timedelta(hours=2)
    clock.set(start + timedelta(hours=1))
    topic = f"xborder/v1/devices/{dev}/telemetry"

    def good(seq: int) -> dict:
        at = (start + timedelta(minutes=seq)).isoformat().replace("+00:00", "Z")
        return _reading(seq, at, origin["lat"], origin["lon"])

    def poison(seq: int, ts: str) -> dict:
        return {**good(seq), "ts": ts}

    huge_int = {**good(0), "lat": int("1" + "0" * 400)}
    messages = [
        Message(topic, json.dumps(good(1)).encode(), 1),
        Message(topic, json.dumps(poison(2, POISON_TIMES[0])).encode(), 1),
        Message(topic, json.dumps(good(3)).encode(), 1),
        Message(topic, json.dumps(poison(4, POISON_TIMES[1])).encode(), 1),
        # A backlog: the good elements are stored, each poison element dead-lettered on its own.
        Message(
            topic,
            json.dumps([good(5), poison(6, POISON_TIMES[0]), good(7), {**huge_int, "seq": 8}]).encode(),
            1,
        ),
        Message(
            topic, b'{"seq": 9, "ts": "2027-03-01T00:00:00Z", "lat": 1' + b"0" * 5000 + b', "lon": 2}', 1
        ),
    ]
    comm = FakeCommunicator()
    ingest = TelemetryIngest(container.db, clock, comm)
    result = ingest.handle(messages)

    assert result is not None  # committed as one batch: handle() returns None only when it split the batch
    assert (result.accepted, result.deadletter) == (4, 5)
    reasons = sorted(reason for _, reason, _ in result.deadletters)
    assert reasons == [
        "element 1: field 'ts' is out of range (years 1000 to 8999 UTC): '9999-12-31T23:59:59-12:00'",
        "element 3: field 'lat' must be between -90 and 90, got 1000000000000000000000000000000000000000...",
        "field 'ts' is out of range (years 1000 to 8999 UTC): '0001-01-01T00:00:00+01:00'",
        "field 'ts' is out of range (years 1000 to 8999 UTC): '9999-12-31T23:59:59-12:00'",
        "malformed JSON: a number with too many digits",
    ]
    assert len(comm.acked) == len(messages)
    assert len([m for m in comm.published if m.topic.endswith(f"/deadletter/{dev}")]) == 5
    with container.db.session() as s:
        stored = sorted(s.execute(select(readings.c.seq).where(readings.c.device_id == dev)).scalars())
        dead = s.execute(select(func.count()).where(deadletters.c.device_id == dev)).scalar_one()
    assert stored == [1, 3, 5, 7]
    assert dead == 5


def test_a_backlog_refused_as_a_whole_counts_each_of_its_readings(
    client: TestClient, keys: Keys, container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    _, dev, stops = _tracked(client, h, "dev-huge")
    topic = f"xborder/v1/devices/{dev}/telemetry"
    ingest = TelemetryIngest(container.db, clock, FakeCommunicator())
    result = ingest.handle([Message(topic, b"[" + b",".join([b"{}"] * 6000) + b"]", 1)])
    assert result is not None
    assert (result.accepted, result.deadletter, len(result.deadletters)) == (0, 6000, 1)
    assert result.deadletters[0][1] == "backlog of 6000 readings exceeds the limit of 5000"
