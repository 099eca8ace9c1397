"""The ingest's folds kept in memory (PostgreSQL): the same results as without them, and never trusted once
anything else has written the waybill."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import FakeCommunicator, Message
from logistics.fold_cache import FoldCache
from logistics.ingest import TelemetryIngest, process_batch
from logistics.replay import replay_waybill
from logistics.tables import waybills
from tests.conftest import Keys
from tests.integration.test_shipments_api import _book, _quote, _reading

pytestmark = pytest.mark.postgres


def _tracked_waybill(client: TestClient, h: dict[str, str], tag: str) -> tuple[str, str, list[dict]]:
    no = _book(client, h, _quote(client, h))["waybill_no"]
    dev = f"dev-{tag}-{no}"
    client.post("/v1/devices", json={"device_id": dev, "kind": "container"}, headers=h)
    client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=h)
    stops = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"]
    return no, dev, stops


def _journey(stops: list[dict], per_leg: int = 6) -> list[dict]:
    fixes = []
    for a, b in zip(stops, stops[1:], strict=False):
        t0 = datetime.fromisoformat(a["planned_departure"].replace("Z", "+00:00"))
        t1 = datetime.fromisoformat(b["planned_arrival"].replace("Z", "+00:00"))
        for i in range(per_leg):
            f = i / per_leg
            lat, lon = a["lat"] + f * (b["lat"] - a["lat"]), a["lon"] + f * (b["lon"] - a["lon"])
            fixes.append((t0 + (t1 - t0) * f, lat, lon))
        fixes.append((t1, b["lat"], b["lon"]))
    return [
        _reading(i + 1, t.isoformat().replace("+00:00", "Z"), lat, lon)
        for i, (t, lat, lon) in enumerate(fixes)
    ]


def test_kept_folds_give_what_a_replay_gives_with_late_readings_and_duplicates(
    client: TestClient, keys: Keys, container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no, dev, stops = _tracked_waybill(client, h, "kept")
    readings = _journey(stops)
    clock.set(datetime.fromisoformat(readings[-1]["ts"].replace("Z", "+00:00")) + timedelta(hours=1))
    rng = random.Random(11)
    late = readings[5:9]
    stream = [r for r in readings if r not in late] + late + rng.sample(readings, 5)
    topic = f"xborder/v1/devices/{dev}/telemetry"
    cache = FoldCache()
    for i in range(0, len(stream), 3):
        with container.db.session() as s:
            process_batch(s, [Message(topic, json.dumps(r).encode(), 1) for r in stream[i : i + 3]],
                          clock.now(), cache=cache)  # fmt: skip
        cache.commit()
    assert cache.hits > 0  # the kept fold was used, late readings included
    with container.db.session() as s:
        report = replay_waybill(s, no, clock.now(), check_only=True)
    assert report["same"], report
    assert report["milestones_stored"] > 2


def test_a_write_by_anyone_else_makes_the_kept_fold_miss(
    client: TestClient, keys: Keys, container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no, dev, stops = _tracked_waybill(client, h, "miss")
    readings = _journey(stops)
    clock.set(datetime.fromisoformat(readings[-1]["ts"].replace("Z", "+00:00")) + timedelta(hours=1))
    topic = f"xborder/v1/devices/{dev}/telemetry"
    cache = FoldCache()

    def deliver(batch: list[dict]) -> None:
        with container.db.session() as s:
            process_batch(s, [Message(topic, json.dumps(r).encode(), 1) for r in batch], clock.now(),
                          cache=cache)  # fmt: skip
        cache.commit()

    deliver(readings[:4])
    deliver(readings[4:6])
    assert (cache.hits, cache.misses) == (1, 1)
    # A person puts the shipment on hold: the row changes under the kept fold.
    with container.db.session() as s:
        s.execute(update(waybills).where(waybills.c.waybill_no == no).values(status="EXCEPTION"))
    deliver(readings[6:])
    assert cache.misses == 2
    with container.db.session() as s:
        status = s.execute(select(waybills.c.status).where(waybills.c.waybill_no == no)).scalar_one()
    assert status == "EXCEPTION"  # a stale kept row would have moved it on


def test_a_failed_batch_drops_the_kept_folds(
    client: TestClient, keys: Keys, container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no, dev, stops = _tracked_waybill(client, h, "fail")
    readings = _journey(stops)
    clock.set(datetime.fromisoformat(readings[-1]["ts"].replace("Z", "+00:00")) + timedelta(hours=1))
    topic = f"xborder/v1/devices/{dev}/telemetry"
    failures = [1]

    def flaky(_session: object, _changes: object) -> None:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("the warehouse is not reachable")

    comm = FakeCommunicator()
    ingest = TelemetryIngest(container.db, clock, comm, hooks=[flaky])
    ingest.handle([Message(topic, json.dumps(r).encode(), 1) for r in readings[:5]])
    assert failures == [0]
    assert len(ingest.cache) == 1  # kept after the retry committed
    ingest.handle([Message(topic, json.dumps(r).encode(), 1) for r in readings[5:]])
    with container.db.session() as s:
        report = replay_waybill(s, no, clock.now(), check_only=True)
    assert report["same"], report
