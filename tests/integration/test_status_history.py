"""The waybill's status history: each change recorded at the event time of the milestone that caused it
(beside the time it was recorded), the same whatever order the readings arrived in, and the same on replay."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.container import Container
from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import Message
from logistics.ingest import process_batch
from logistics.replay import replay_waybill
from tests.conftest import Keys
from tests.integration.test_shipments_api import _book, _quote, _reading


def _tracked_waybill(client: TestClient, h: dict[str, str]) -> tuple[str, str, list[dict[str, Any]]]:
    no = _book(client, h, _quote(client, h))["waybill_no"]
    dev = f"dev-hist-{no}"
    assert (
        client.post("/v1/devices", json={"device_id": dev, "kind": "container"}, headers=h).status_code == 201
    )
    assert client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=h).status_code == 201
    return no, dev, client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _journey(stops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At the origin before departure, leaving it, on the way, then at the next stop."""
    origin, nxt = stops[0], stops[1]
    dep, arr = _at(origin["planned_departure"]), _at(nxt["planned_arrival"])
    out = [_reading(1, _iso(dep - timedelta(hours=1)), origin["lat"], origin["lon"])]
    for seq, f in enumerate((0.25, 0.5, 0.75), start=2):
        lat = origin["lat"] + (nxt["lat"] - origin["lat"]) * f
        lon = origin["lon"] + (nxt["lon"] - origin["lon"]) * f
        out.append(_reading(seq, _iso(dep + (arr - dep) * f), lat, lon))
    out.append(_reading(5, _iso(arr), nxt["lat"], nxt["lon"]))
    return out


def _history(client: TestClient, h: dict[str, str], no: str) -> list[dict[str, Any]]:
    items = client.get(f"/v1/waybills/{no}/events", headers=h).json()["items"]
    current = [e for e in items if e["kind"] == "status" and e["superseded_by"] is None]
    return sorted(current, key=lambda e: (e["event_time"], e["id"]))


def test_status_changes_are_recorded_at_their_milestones_event_time_in_any_arrival_order(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    histories = []
    booked = [_tracked_waybill(client, h) for _ in range(2)]  # both booked before their departures
    for newest_first, (no, dev, stops) in zip((False, True), booked, strict=True):
        journey = _journey(stops)
        clock.set(max(clock.now(), _at(journey[-1]["ts"]) + timedelta(hours=1)))
        topic = f"xborder/v1/devices/{dev}/telemetry"
        # One reading per batch: live, the fold is continued (or re-folded when a reading is late).
        for reading in reversed(journey) if newest_first else journey:
            clock.advance(timedelta(minutes=1))
            with container.db.session() as s:
                result = process_batch(s, [Message(topic, json.dumps(reading).encode(), 1)], clock.now())
            assert result.accepted == 1
        wb = client.get(f"/v1/waybills/{no}", headers=h).json()
        acts = {(m["code"], m["location"]): m["time"] for m in wb["milestones"] if m["classifier"] == "ACT"}
        gate_out = acts[("GTOT", stops[0]["node_id"])]
        history = _history(client, h, no)
        codes = [e["code"] for e in history]
        assert codes[:3] == ["BOOKED", "PICKED_UP", "IN_TRANSIT"], history
        assert codes[-1] == wb["status"] != "IN_TRANSIT", history  # arrived at the next stop
        # PICKED_UP and IN_TRANSIT at the gate-out's event time; each later change at one of its milestones.
        assert [e["event_time"] for e in history[1:3]] == [gate_out, gate_out]
        assert all(e["event_time"] in acts.values() for e in history[1:])
        # The event time is the milestone's; the recorded time is when the service learnt it (later).
        assert all(_at(e["recorded_time"]) > _at(e["event_time"]) for e in history[1:])
        with container.db.session() as s:
            report = replay_waybill(s, no, clock.now(), check_only=True)
        assert report["same"], report
        times = {e["code"]: _at(e["event_time"]) - _at(stops[0]["planned_departure"]) for e in history[1:]}
        histories.append(([e["code"] for e in history], times))
    # Newest-first (a backlog uploaded after a gap) gives the same history as live order.
    assert histories[0] == histories[1]
