"""Quotes, bookings, capacity, devices and the ingest through the HTTP API and the batch handler."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.container import Container
from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import Message
from logistics.ingest import process_batch
from logistics.tables import departure_loads
from tests.conftest import Keys

QUOTE: dict[str, Any] = {
    "origin": "CNYIB",
    "destination": "DEDUI",
    "ready_at": "2027-03-01T06:00:00Z",
    "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC"},
    "customs_mode": "9810",
}


def _quote(client: TestClient, headers: dict[str, str], **overrides: object) -> dict:
    r = client.post("/v1/quotes", json={**QUOTE, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _book(client: TestClient, headers: dict[str, str], quote: dict, option: dict | None = None) -> dict:
    option = option or quote["options"][0]
    r = client.post(
        "/v1/bookings", json={"quote_id": quote["id"], "option_id": option["id"]}, headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_quote_is_a_labelled_pareto_set(client: TestClient, keys: Keys) -> None:
    quote = _quote(client, keys.headers(Role.FORWARDER))
    options = quote["options"]
    assert options
    labels = {label for o in options for label in o["labels"]}
    assert {"cheapest", "fastest", "greenest"} <= labels
    for a in options:
        for b in options:
            if a is b:
                continue
            dominated = (
                float(b["cost"]["amount"]) <= float(a["cost"]["amount"])
                and b["arrival"] <= a["arrival"]
                and b["co2e_kg"] <= a["co2e_kg"]
                and (float(b["cost"]["amount"]), b["arrival"], b["co2e_kg"])
                != (float(a["cost"]["amount"]), a["arrival"], a["co2e_kg"])
            )
            assert not dominated, (a["id"], b["id"])
    for o in options:
        assert o["legs"][0]["origin"] in ("YIB", "CNYIB") or o["legs"][0]["origin"]
        assert o["legs"][-1]["destination"]


def test_quote_bad_input_is_422_with_reason(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    r = client.post("/v1/quotes", json={**QUOTE, "destination": "XXNOPE"}, headers=h)
    assert r.status_code == 422
    assert "XXNOPE" in r.json()["detail"]
    r = client.post("/v1/quotes", json={**QUOTE, "deliver_by": "2027-02-01T00:00:00Z"}, headers=h)
    assert r.status_code == 422
    r = client.post("/v1/quotes", json={**QUOTE, "cargo": {**QUOTE["cargo"], "weight_kg": 0}}, headers=h)
    assert r.status_code == 422
    r = client.post("/v1/quotes", json={**QUOTE, "customs_mode": "1234"}, headers=h)
    assert r.status_code == 422
    # sellers do not quote
    assert client.post("/v1/quotes", json=QUOTE, headers=keys.headers(Role.SELLER)).status_code == 403


def test_booking_unknown_quote_is_404_and_other_tenants_see_nothing(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    r = client.post("/v1/bookings", json={"quote_id": "qt_nope", "option_id": "x"}, headers=h)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    quote = _quote(client, h)
    booking = _book(client, h, quote)
    other = keys.headers(Role.FORWARDER)
    assert client.get(f"/v1/waybills/{booking['waybill_no']}", headers=other).status_code == 404
    assert client.get(f"/v1/quotes/{quote['id']}", headers=other).status_code == 404
    r = client.post(
        "/v1/bookings", json={"quote_id": quote["id"], "option_id": quote["options"][0]["id"]}, headers=other
    )
    assert r.status_code == 404


def test_booking_creates_waybill_with_planned_milestones_and_holds_capacity(
    client: TestClient, keys: Keys, container: Container
) -> None:
    h = keys.headers(Role.FORWARDER)
    quote = _quote(client, h)
    option = quote["options"][0]
    booking = _book(client, h, quote, option)
    wb = client.get(f"/v1/waybills/{booking['waybill_no']}", headers=h).json()
    assert wb["status"] == "BOOKED"
    assert wb["itinerary"]["stops"][0]["role"] == "origin"
    pln = [m for m in wb["milestones"] if m["classifier"] == "PLN"]
    assert pln and pln[0]["code"] in ("GTOT", "DEPA")
    assert pln[-1]["location"] == option["legs"][-1]["destination"]
    dep_ids = [leg["departure_id"] for leg in option["legs"] if leg["departure_id"]]
    with container.db.session() as s:
        loads = {r.departure_id: r.booked_teu for r in s.execute(departure_loads.select())}
    for dep in dep_ids:
        assert loads[dep] >= 2.0 - 1e-9  # a 40HC is two TEU
    # cancel releases
    r = client.post(f"/v1/bookings/{booking['id']}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
    with container.db.session() as s:
        after = {r.departure_id: r.booked_teu for r in s.execute(departure_loads.select())}
    for dep in dep_ids:
        assert after[dep] == loads[dep] - 2.0


def test_same_booking_twice_with_idempotency_key_books_once(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    quote = _quote(client, h)
    body = {"quote_id": quote["id"], "option_id": quote["options"][0]["id"]}
    a = client.post("/v1/bookings", json=body, headers={**h, "Idempotency-Key": "same-1"})
    b = client.post("/v1/bookings", json=body, headers={**h, "Idempotency-Key": "same-1"})
    assert a.status_code == b.status_code == 201
    assert a.json()["waybill_no"] == b.json()["waybill_no"]
    assert len(client.get("/v1/waybills", headers=h).json()["items"]) == 1


def _tracked(client: TestClient, headers: dict[str, str], tag: str, kind: str = "container") -> tuple:
    """A booked waybill with a tracker `{tag}-{waybill_no}` registered and attached: (waybill_no, device,
    the itinerary's stops)."""
    no = _book(client, headers, _quote(client, headers))["waybill_no"]
    dev = f"{tag}-{no}"
    r = client.post("/v1/devices", json={"device_id": dev, "kind": kind}, headers=headers)
    assert r.status_code == 201, r.text
    r = client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=headers)
    assert r.status_code == 201, r.text
    return no, dev, client.get(f"/v1/waybills/{no}", headers=headers).json()["itinerary"]["stops"]


def _reading(seq: int, ts: str, lat: float, lon: float) -> dict:
    return {"seq": seq, "ts": ts, "lat": lat, "lon": lon, "accuracy_m": 10}


def test_ingest_moves_the_waybill_and_dead_letters_bad_input(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    h = keys.headers(Role.FORWARDER)
    quote = _quote(client, h)
    booking = _book(client, h, quote)
    no = booking["waybill_no"]
    dev = f"dev-{no}"
    assert (
        client.post("/v1/devices", json={"device_id": dev, "kind": "container"}, headers=h).status_code == 201
    )
    assert client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=h).status_code == 201
    stops = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"]
    origin, nxt = stops[0], stops[1]
    dep = origin["planned_departure"]
    from datetime import datetime

    t_dep = datetime.fromisoformat(dep.replace("Z", "+00:00"))
    t_arr = datetime.fromisoformat(nxt["planned_arrival"].replace("Z", "+00:00"))
    clock.set(t_arr + timedelta(hours=1))
    topic = f"xborder/v1/devices/{dev}/telemetry"
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    msgs = [
        Message(
            topic,
            json.dumps(_reading(1, iso(t_dep - timedelta(hours=1)), origin["lat"], origin["lon"])).encode(),
            1,
        ),
        Message(
            topic,
            json.dumps(
                [
                    _reading(3, iso(t_arr), nxt["lat"], nxt["lon"]),
                    _reading(
                        2,
                        iso(t_dep + (t_arr - t_dep) / 2),
                        (origin["lat"] + nxt["lat"]) / 2,
                        (origin["lon"] + nxt["lon"]) / 2,
                    ),
                ]
            ).encode(),
            1,
        ),
        Message(topic, json.dumps(_reading(3, iso(t_arr), nxt["lat"], nxt["lon"])).encode(), 1),  # duplicate
        Message(topic, b"{broken", 1),
        Message(
            "xborder/v1/devices/nobody/telemetry", json.dumps(_reading(1, iso(t_arr), 1.0, 1.0)).encode(), 1
        ),
    ]
    with container.db.session() as s:
        result = process_batch(s, msgs, clock.now())
    assert result.accepted == 3
    assert result.duplicate == 1
    assert result.deadletter == 2
    reasons = " ".join(r for _, r, _ in result.deadletters)
    assert "unregistered" in reasons
    wb = client.get(f"/v1/waybills/{no}", headers=h).json()
    acts = [(m["code"], m["location"]) for m in wb["milestones"] if m["classifier"] == "ACT"]
    assert ("DEPA", origin["node_id"]) in acts
    assert wb["status"] != "BOOKED"
    assert wb["position"]["lat"] == nxt["lat"]
    # redelivering the same batch changes nothing
    before = client.get(f"/v1/waybills/{no}/events", headers=h).json()["items"]
    with container.db.session() as s:
        again = process_batch(s, msgs[:3], clock.now())
    assert again.accepted == 0 and again.duplicate == 4
    after = client.get(f"/v1/waybills/{no}/events", headers=h).json()["items"]
    assert [e["id"] for e in after] == [e["id"] for e in before]


def test_live_ingest_in_any_order_equals_replay(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    """Readings delivered in small shuffled batches (the incremental path and its fallbacks) give what a
    re-derivation from all stored readings gives."""
    import random
    from datetime import datetime

    from logistics.replay import replay_waybill

    h = keys.headers(Role.FORWARDER)
    booking = _book(client, h, _quote(client, h))
    no = booking["waybill_no"]
    dev = f"dev-r-{no}"
    client.post("/v1/devices", json={"device_id": dev, "kind": "container"}, headers=h)
    client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=h)
    stops = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"]
    fixes = []
    for a, b in zip(stops, stops[1:], strict=False):
        t0 = datetime.fromisoformat(a["planned_departure"].replace("Z", "+00:00"))
        t1 = datetime.fromisoformat(b["planned_arrival"].replace("Z", "+00:00"))
        for i in range(6):
            f = i / 6
            fixes.append(
                (
                    t0 + (t1 - t0) * f,
                    a["lat"] + f * (b["lat"] - a["lat"]),
                    a["lon"] + f * (b["lon"] - a["lon"]),
                )
            )
        fixes.append((t1, b["lat"], b["lon"]))
    clock.set(fixes[-1][0] + timedelta(hours=1))
    readings = [
        _reading(i + 1, t.isoformat().replace("+00:00", "Z"), lat, lon)
        for i, (t, lat, lon) in enumerate(fixes)
    ]
    rng = random.Random(7)
    # mostly in order (the live path), with a late block and duplicates mixed in
    late = readings[5:9]
    stream = [r for r in readings if r not in late] + late + rng.sample(readings, 5)
    topic = f"xborder/v1/devices/{dev}/telemetry"
    for i in range(0, len(stream), 3):
        with container.db.session() as s:
            process_batch(
                s, [Message(topic, json.dumps(r).encode(), 1) for r in stream[i : i + 3]], clock.now()
            )
    with container.db.session() as s:
        report = replay_waybill(s, no, clock.now(), check_only=True)
    assert report["same"], report
    assert report["milestones_stored"] > 2


def test_a_delay_that_threatens_deliver_by_raises_an_alarm_with_alternatives(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    from datetime import datetime

    from api.runtime import suggester

    h = keys.headers(Role.FORWARDER)
    first = _quote(client, h)
    option = min(first["options"], key=lambda o: o["arrival"])
    deliver_by = datetime.fromisoformat(option["arrival"].replace("Z", "+00:00")) + timedelta(hours=12)
    quote = _quote(client, h, deliver_by=deliver_by.isoformat())
    option = min(quote["options"], key=lambda o: o["arrival"])
    no = _book(client, h, quote, option)["waybill_no"]
    dev = f"dev-late-{no}"
    client.post("/v1/devices", json={"device_id": dev, "kind": "container"}, headers=h)
    client.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}, headers=h)
    origin = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"][0]
    planned = datetime.fromisoformat(origin["planned_departure"].replace("Z", "+00:00"))
    stuck = planned + timedelta(days=3)  # still at the origin three days after it should have left
    clock.set(stuck + timedelta(minutes=5))
    msg = Message(
        f"xborder/v1/devices/{dev}/telemetry",
        json.dumps(_reading(1, stuck.isoformat(), origin["lat"], origin["lon"])).encode(),
        1,
    )
    with container.db.session() as s:
        process_batch(s, [msg], clock.now(), suggest=suggester(container))
    wb = client.get(f"/v1/waybills/{no}", headers=h).json()
    delays = [a for a in wb["alarms"] if a["kind"] == "delay"]
    assert len(delays) == 1, wb["alarms"]
    assert "deliver-by" in delays[0]["detail"]
    assert isinstance(delays[0].get("alternatives"), list)
    # raised once: another reading in the same situation raises nothing new
    msg2 = Message(
        f"xborder/v1/devices/{dev}/telemetry",
        json.dumps(
            _reading(2, (stuck + timedelta(minutes=1)).isoformat(), origin["lat"], origin["lon"])
        ).encode(),
        1,
    )
    with container.db.session() as s:
        process_batch(s, [msg2], clock.now(), suggest=suggester(container))
    again = client.get(f"/v1/waybills/{no}", headers=h).json()
    assert len([a for a in again["alarms"] if a["kind"] == "delay"]) == 1
