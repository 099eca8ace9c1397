"""A booking with no tracker: once its first planned departure passes with no data, the scheduler's check
raises the no-tracking-data alarm and slips its EST milestones and ETA, so it never looks on time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.container import Container
from kernel.clock import FixedClock, parse_time
from kernel.identity import Role
from logistics.scheduled import offline_job
from tests.conftest import Keys

QUOTE: dict[str, Any] = {
    "origin": "CNYIB",
    "destination": "PLLOD",
    "ready_at": "2027-03-01T06:00:00Z",
    "cargo": {"weight_kg": 8000, "volume_m3": 30, "equipment": "40HC"},
    "customs_mode": "9810",
}


def test_an_untracked_booking_slips_and_raises_no_tracking_data(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    quote = client.post("/v1/quotes", json=QUOTE, headers=fwd).json()
    option = quote["options"][0]
    no = client.post(
        "/v1/bookings", headers=fwd, json={"quote_id": quote["id"], "option_id": option["id"]}
    ).json()["waybill_no"]
    planned_arrival = parse_time(option["arrival"])
    first_departure = parse_time(option["legs"][0]["departure"])

    clock.set(first_departure - timedelta(minutes=5))
    assert (no, "raised") not in offline_job(container.db, clock)
    assert not client.get(f"/v1/waybills/{no}", headers=fwd).json()["alarms"]

    clock.set(first_departure + timedelta(hours=6))
    assert (no, "raised") in offline_job(container.db, clock)
    wb = client.get(f"/v1/waybills/{no}", headers=fwd).json()
    assert [a["kind"] for a in wb["alarms"]] == ["no_tracking_data"]
    assert parse_time(wb["eta"]) == planned_arrival + timedelta(hours=6)
    est = [m for m in wb["milestones"] if m["classifier"] == "EST"]
    assert est and min(parse_time(m["time"]) for m in est) == clock.now()
    assert (no, "raised") not in offline_job(container.db, clock)  # raised once
    again = client.get(f"/v1/waybills/{no}", headers=fwd).json()
    assert again["eta"] == wb["eta"] and len(again["alarms"]) == 1

    clock.set(planned_arrival + timedelta(days=2))  # past the planned arrival, still no data
    offline_job(container.db, clock)
    wb = client.get(f"/v1/waybills/{no}", headers=fwd).json()
    assert parse_time(wb["eta"]) > planned_arrival and parse_time(wb["eta"]) >= clock.now()
    assert wb["planned_arrival"] == option["arrival"]  # the booked arrival stays
    assert len([a for a in wb["alarms"] if a["kind"] == "no_tracking_data"]) == 1
