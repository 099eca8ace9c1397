"""Status messages go out when what they say changes, not for every reading."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import FakeCommunicator, Message
from logistics.ingest import TelemetryIngest
from tests.conftest import Keys
from tests.integration.test_shipments_api import _reading, _tracked


def test_a_reading_that_changes_nothing_publishes_no_status_message(
    client: TestClient, keys: Keys, container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no, dev, stops = _tracked(client, h, "dev-pub")
    origin = stops[0]
    start = datetime.fromisoformat(origin["planned_departure"].replace("Z", "+00:00")) - timedelta(hours=2)
    clock.set(start + timedelta(hours=1))
    topic = f"xborder/v1/devices/{dev}/telemetry"
    status_topic = f"xborder/v1/waybills/{no}/status"
    comm = FakeCommunicator()
    ingest = TelemetryIngest(container.db, clock, comm)

    def deliver(seq: int, minutes: int, lat: float, lon: float) -> list[dict]:
        at = (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        ingest.handle([Message(topic, json.dumps(_reading(seq, at, lat, lon)).encode(), 1)])
        return [json.loads(m.payload) for m in comm.published if m.topic == status_topic]

    sent = deliver(1, 0, origin["lat"], origin["lon"])
    assert len(sent) == 1 and sent[0]["position"]["lat"] == origin["lat"]
    # A 0,0 fix is quarantined: the waybill's position, status and alarms stay as they were.
    assert len(deliver(2, 5, 0.0, 0.0)) == 1
    # A good fix that moves the position is published.
    sent = deliver(3, 10, origin["lat"] + 0.001, origin["lon"])
    assert len(sent) == 2 and sent[1]["position"]["lat"] == origin["lat"] + 0.001


def test_position_ticks_go_out_once_per_ten_seconds_of_fix_time(
    client: TestClient, keys: Keys, container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    no, dev, stops = _tracked(client, h, "dev-tick", kind="parcel")
    origin = stops[0]
    start = datetime.fromisoformat(origin["planned_departure"].replace("Z", "+00:00")) - timedelta(hours=2)
    start = start.replace(second=0, microsecond=0)
    clock.set(start + timedelta(hours=1))
    comm = FakeCommunicator()
    ingest = TelemetryIngest(container.db, clock, comm)
    status_topic = f"xborder/v1/waybills/{no}/status"
    for seq in range(1, 31):  # a fix every second for 30 s, each moving the position a little
        at = (start + timedelta(seconds=seq - 1)).isoformat().replace("+00:00", "Z")
        reading = _reading(seq, at, origin["lat"] + seq * 1e-5, origin["lon"])
        ingest.handle([Message(f"xborder/v1/devices/{dev}/telemetry", json.dumps(reading).encode(), 1)])
    sent = [m for m in comm.published if m.topic == status_topic]
    # The first fix (a new status), then one tick as each new ten-second slot begins: seconds 10 and 20.
    assert [json.loads(m.payload)["position"]["at"][17:19] for m in sent] == ["00", "10", "20"]
    assert [m.qos for m in sent[1:]] == [0, 0]  # position ticks
    # The waybill keeps the newest position all the same.
    assert client.get(f"/v1/waybills/{no}", headers=h).json()["position"]["at"][17:19] == "29"
