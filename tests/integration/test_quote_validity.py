"""Honest quotes over HTTP: ready_at in the past, door-to-door figures, expiry and re-quote 409s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from kernel.clock import FixedClock, parse_time
from kernel.identity import Role
from tests.conftest import T0, Keys

QUOTE: dict[str, Any] = {
    "origin": "CNYIB",
    "destination": "DEDUI",
    "ready_at": "2027-03-01T06:00:00Z",
    "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC"},
    "customs_mode": "9810",
}


def _quote(client: TestClient, h: dict[str, str], **overrides: object) -> dict[str, Any]:
    r = client.post("/v1/quotes", json={**QUOTE, **overrides}, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_ready_at_before_the_service_clock_is_a_422_naming_the_field(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    r = client.post("/v1/quotes", json={**QUOTE, "ready_at": "2020-01-01T00:00:00Z"}, headers=h)
    assert r.status_code == 422
    body = r.json()
    assert body["errors"] == [{"field": "ready_at", "message": "is in the past"}]
    assert "before the service clock" in body["detail"]


def test_ready_at_within_the_grace_of_the_clock_is_quoted(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    _quote(client, h, ready_at=(T0 - timedelta(minutes=30)).isoformat())


def test_options_show_door_to_door_beside_line_haul_and_fastest_ranks_by_it(
    client: TestClient, keys: Keys
) -> None:
    h = keys.headers(Role.FORWARDER)
    options = _quote(client, h)["options"]
    ready = parse_time(QUOTE["ready_at"])
    for o in options:
        door = (parse_time(o["delivery"]) - ready).total_seconds() / 3600
        assert o["door_to_door_hours"] == round(door, 1)
        assert o["door_to_door_days"] == round(door / 24, 1)
        # Yibin -> Duisburg is international: delivery is after the arrival (handling + import clearance)
        assert parse_time(o["delivery"]) > parse_time(o["arrival"])
        assert o["door_to_door_hours"] > o["transit_hours"]
    fastest = next(o for o in options if "fastest" in o["labels"])
    assert fastest["door_to_door_hours"] == min(o["door_to_door_hours"] for o in options)


def test_each_option_expires_no_later_than_the_quote_or_its_first_cutoff(
    client: TestClient, keys: Keys
) -> None:
    h = keys.headers(Role.FORWARDER)
    q = _quote(client, h)
    for o in q["options"]:
        assert parse_time(o["expires_at"]) <= parse_time(q["expires_at"])
        assert parse_time(o["expires_at"]) <= parse_time(o["departure"])


def test_booking_an_expired_quote_is_a_409_quote_expired_with_a_requote(
    client: TestClient, keys: Keys, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    q = _quote(client, h, ready_at=(T0 + timedelta(days=20)).isoformat())
    clock.set(parse_time(q["expires_at"]) + timedelta(minutes=1))
    r = client.post(
        "/v1/bookings",
        json={"quote_id": q["id"], "option_id": q["options"][0]["id"]},
        headers=h,
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["type"].endswith("/quote-expired")
    assert "new quote" in body["detail"]
    assert body["requote"]["href"] == "/v1/quotes"
    assert body["requote"]["body"]["destination"] == "DEDUI"
    again = client.post("/v1/quotes", json=body["requote"]["body"], headers=h)
    assert again.status_code == 201, again.text


def test_booking_after_the_departure_left_is_a_409_departure_left(
    client: TestClient, keys: Keys, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    q = _quote(client, h)
    option = q["options"][0]
    clock.set(parse_time(option["departure"]) + timedelta(minutes=1))
    r = client.post("/v1/bookings", json={"quote_id": q["id"], "option_id": option["id"]}, headers=h)
    assert r.status_code == 409
    body = r.json()
    assert body["type"].endswith("/departure-left")
    # the requote starts from the service clock, not from the ready_at that has passed
    assert parse_time(body["requote"]["body"]["ready_at"]) == clock.now()


def test_booking_past_the_first_cutoff_is_a_409_departure_left(
    client: TestClient, keys: Keys, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    q = _quote(client, h, origin="YIB", destination="SHA", cargo={**QUOTE["cargo"], "equipment": "40GP"})
    scheduled = [o for o in q["options"] if o["legs"][0]["mode"] != "road"]
    assert scheduled
    option = scheduled[0]
    closes = parse_time(option["expires_at"])
    assert closes < parse_time(option["departure"])  # the cut-off comes before the departure
    clock.set(closes + timedelta(minutes=1))
    r = client.post("/v1/bookings", json={"quote_id": q["id"], "option_id": option["id"]}, headers=h)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/departure-left")


def test_each_option_shows_its_price_line_by_line(client: TestClient, keys: Keys) -> None:
    from decimal import Decimal

    h = keys.headers(Role.FORWARDER)
    for o in _quote(client, h)["options"]:
        lines = o["cost"]["breakdown"]
        assert sum(Decimal(c["amount"]) for c in lines) == Decimal(o["cost"]["amount"])
        assert sum(Decimal(c["amount"]) for c in lines if c["leg"] is not None) == Decimal(
            o["cost"]["transport"]
        )
        assert {c["code"] for c in lines} >= {"FRT", "BRK"}
        assert all(c["source"] and c["basis"] in ("published", "estimate") for c in lines)


def test_each_option_and_leg_shows_wtw_and_ttw(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    for o in _quote(client, h)["options"]:
        assert o["co2e"]["co2e_kg_scope"] == "WTW" and o["co2e"]["wtw_kg"] == o["co2e_kg"]
        assert o["co2e"]["ttw_kg"] <= o["co2e"]["wtw_kg"]
        for leg in o["legs"]:
            c = leg["co2e"]
            assert c["wtw_kg"] == leg["co2e_kg"] and c["ttw_kg"] <= c["wtw_kg"]
            assert c["source"] and c["distance_basis"] and c["emission_class"]
            assert c["wtw_g_per_tkm"] >= c["ttw_g_per_tkm"] >= 0


def test_the_grace_for_ready_at_scales_with_the_clock_speed(
    client: TestClient, keys: Keys, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    two_hours_ago = (T0 - timedelta(hours=2)).isoformat()
    r = client.post("/v1/quotes", json={**QUOTE, "ready_at": two_hours_ago}, headers=h)
    assert r.status_code == 422  # at 1x the grace is an hour
    clock.speed = 30_000.0  # 30 real seconds are 250 hours of service time: a request's delay, not the past
    assert client.post("/v1/quotes", json={**QUOTE, "ready_at": two_hours_ago}, headers=h).status_code == 201
