"""Delivery runs: an operator plans a warehouse's vans for a day from its picked and shipped orders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kernel.clock import FixedClock
from tests.integration.warehouse.conftest import World

# customers around Duisburg
PLACES = [(51.45, 6.80), (51.48, 7.00), (51.23, 6.78), (51.33, 6.57)]


def _order(w: World, ref: str, qty: int, place: tuple[float, float] | None) -> dict[str, Any]:
    ship_to: dict[str, Any] = {"country": "DE"}
    if place:
        ship_to.update(lat=place[0], lon=place[1])
    r = w.post("/v1/orders", {"order_ref": ref, "ship_to": ship_to, "lines": [{"sku": "CRATE", "qty": qty}]})
    assert r.status_code == 201, r.text
    return r.json()


def test_plan_a_day_of_deliveries(world: World, clock: FixedClock) -> None:
    w = world
    w.sku("CRATE", weight_kg=12.5)
    w.stock("de", [{"sku": "CRATE", "qty": 40}])
    picked = [_order(w, f"dr-p{i}", 2, PLACES[i]) for i in range(2)]
    for o in picked:
        assert (
            w.post(
                f"/v1/orders/{o['id']}/picks", {"lines": [{"sku": "CRATE", "qty": 2}]}, w.operator
            ).status_code
            == 201
        )
    shipped = _order(w, "dr-s", 1, PLACES[2])
    assert w.post(f"/v1/orders/{shipped['id']}/ship", {}, w.operator).status_code == 200
    no_place = _order(w, "dr-n", 1, None)
    assert w.post(f"/v1/orders/{no_place['id']}/ship", {}, w.operator).status_code == 200
    _order(w, "dr-a", 1, PLACES[3])  # only allocated: not on the run
    day = clock.now().date().isoformat()
    path = f"/v1/warehouses/{w.wh['de']}/delivery-runs"
    body = {
        "date": day,
        "time_limit_s": 1,
        "vans": [{"id": "V1", "capacity_kg": 500}, {"id": "V2", "capacity_kg": 500}],
    }
    r = w.post(path, body, w.operator, headers={"Idempotency-Key": "run-1"})
    assert r.status_code == 201, r.text
    run = r.json()
    stops = [s for v in run["vans"] for s in v["stops"]]
    assert sorted(s["order_id"] for s in stops) == sorted([picked[0]["id"], picked[1]["id"], shipped["id"]])
    # the order without a position is not dropped: it is listed with why (offline, a postcode-less,
    # city-less address cannot be placed)
    assert run["orders_without_position"] == [no_place["id"]]
    (unplaced,) = run["unserved"]
    assert unplaced["order_id"] == no_place["id"] and unplaced["order_ref"] == "dr-n"
    assert unplaced["reason"].startswith("the address cannot be placed")
    assert run["date"] == day and run["distance_km"] > 0
    assert {s["weight_kg"] for s in stops} == {25.0, 12.5}
    shift_start = datetime.fromisoformat(f"{day}T08:00:00+00:00")
    for v in run["vans"]:
        assert [s["seq"] for s in v["stops"]] == list(range(1, len(v["stops"]) + 1))
        times = [datetime.fromisoformat(s["arrival"]) for s in v["stops"]]
        assert times == sorted(times) and all(
            shift_start <= x <= shift_start + timedelta(hours=10) for x in times
        )
    assert abs(sum(v["distance_km"] for v in run["vans"]) - run["distance_km"]) < 0.05
    # stored: read back by id and by day; the same key returns the same run
    assert w.get(f"/v1/delivery-runs/{run['id']}", w.operator).json()["vans"] == run["vans"]
    listed = w.get(path, w.operator, params={"date": day}).json()
    assert [x["id"] for x in listed] == [run["id"]]
    again = w.post(path, body, w.operator, headers={"Idempotency-Key": "run-1"})
    assert again.status_code == 201 and again.json()["id"] == run["id"]
    # an order cancelled after planning stays on the stored run, marked for the driver to skip
    assert {s["order_status"] for s in stops} == {"PICKING", "SHIPPED"}
    assert w.post(f"/v1/orders/{picked[0]['id']}/cancel", {}, w.seller).status_code == 200
    stored = [
        s for v in w.get(f"/v1/delivery-runs/{run['id']}", w.operator).json()["vans"] for s in v["stops"]
    ]
    assert {s["order_id"]: s["order_status"] for s in stored}[picked[0]["id"]] == "CANCELLED"
    # one run per warehouse and day
    r = w.post(path, body, w.operator)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")


def test_bad_delivery_run_requests_are_problems(world: World, clock: FixedClock) -> None:
    w = world
    day = clock.now().date()
    path = f"/v1/warehouses/{w.wh['pl']}/delivery-runs"
    cases = [
        (path, {"date": "2027-02-30"}, 422),  # not a date
        (path, {"date": (day - timedelta(days=1)).isoformat()}, 422),  # in the past
        (path, {"date": day.isoformat()}, 422),  # no orders at Lodz
        (path, {"date": day.isoformat(), "vans": [{"id": "V", "capacity_kg": 0}]}, 422),
        (path, {"date": day.isoformat(), "time_limit_s": 600}, 422),
        ("/v1/warehouses/NOWHERE/delivery-runs", {"date": day.isoformat()}, 404),
    ]
    for url, body, status in cases:
        r = w.post(url, body, w.operator)
        assert r.status_code == status, (url, body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert w.post(path, {"date": day.isoformat()}, w.seller).status_code == 403
    assert w.get(path, w.operator).json() == []
    assert w.get("/v1/delivery-runs/run_nope", w.operator).status_code == 404


def _picked(w: World, ref: str, place: tuple[float, float]) -> dict[str, Any]:
    o = _order(w, ref, 1, place)
    r = w.post(f"/v1/orders/{o['id']}/picks", {"lines": [{"sku": "CRATE", "qty": 1}]}, w.operator)
    assert r.status_code == 201, r.text
    return o


def _stop_ids(run: dict[str, Any]) -> list[str]:
    return sorted(s["order_id"] for v in run["vans"] for s in v["stops"])


def test_replan_a_day_keeps_the_old_run_as_superseded(world: World, clock: FixedClock) -> None:
    w = world
    w.sku("CRATE", weight_kg=12.5)
    w.stock("de", [{"sku": "CRATE", "qty": 20}])
    a, b, c = (_picked(w, f"rp-{i}", PLACES[i]) for i in range(3))
    day = clock.now().date().isoformat()
    path = f"/v1/warehouses/{w.wh['de']}/delivery-runs"
    body = {"date": day, "time_limit_s": 1}
    r = w.post(path, body, w.operator)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["status"] == "current" and first["supersedes"] == [] and first["superseded_by"] is None
    assert _stop_ids(first) == sorted([a["id"], b["id"], c["id"]])
    # after planning: one order cancelled, one more picked
    assert w.post(f"/v1/orders/{b['id']}/cancel", {}, w.seller).status_code == 200
    d = _picked(w, "rp-3", PLACES[3])
    # without replan the day is taken; the problem says how to plan it again
    r = w.post(path, body, w.operator)
    assert r.status_code == 409 and "replan" in r.json()["detail"], r.text
    r = w.post(path, {**body, "replan": True}, w.operator, headers={"Idempotency-Key": "replan-1"})
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["status"] == "current" and second["supersedes"] == [first["id"]]
    assert _stop_ids(second) == sorted([a["id"], c["id"], d["id"]])  # the cancelled order is gone
    assert "CANCELLED" not in {s["order_status"] for v in second["vans"] for s in v["stops"]}
    # the old run is kept as planned, marked superseded
    old = w.get(f"/v1/delivery-runs/{first['id']}", w.operator).json()
    assert old["status"] == "superseded" and old["superseded_by"] == second["id"]
    assert datetime.fromisoformat(old["superseded_at"]) == clock.now()
    assert _stop_ids(old) == _stop_ids(first) and old["vans"][0]["stops"][0]["seq"] == 1
    # the day lists the current run first, then the superseded one
    listed = w.get(path, w.operator, params={"date": day}).json()
    assert [(x["id"], x["status"]) for x in listed] == [
        (second["id"], "current"),
        (first["id"], "superseded"),
    ]
    # the same key replays the same re-plan; a new re-plan supersedes the second run in turn
    again = w.post(path, {**body, "replan": True}, w.operator, headers={"Idempotency-Key": "replan-1"})
    assert again.status_code == 201 and again.json()["id"] == second["id"]
    r = w.post(path, {**body, "replan": True}, w.operator)
    assert r.status_code == 201, r.text
    third = r.json()
    assert third["supersedes"] == [second["id"]] and _stop_ids(third) == _stop_ids(second)
    currents = [x for x in w.get(path, w.operator, params={"date": day}).json() if x["status"] == "current"]
    assert [x["id"] for x in currents] == [third["id"]]
    # a re-plan with nothing left to deliver is refused and leaves the current run as it is
    for o in (a, c, d):
        assert w.post(f"/v1/orders/{o['id']}/cancel", {}, w.seller).status_code == 200
    r = w.post(path, {**body, "replan": True}, w.operator)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert w.get(f"/v1/delivery-runs/{third['id']}", w.operator).json()["status"] == "current"
    w.check()


def test_replan_of_a_day_without_a_run_plans_it(world: World, clock: FixedClock) -> None:
    w = world
    w.sku("CRATE", weight_kg=12.5)
    w.stock("de", [{"sku": "CRATE", "qty": 5}])
    a = _picked(w, "rp-only", PLACES[0])
    path = f"/v1/warehouses/{w.wh['de']}/delivery-runs"
    r = w.post(path, {"date": clock.now().date().isoformat(), "time_limit_s": 1, "replan": True}, w.operator)
    assert r.status_code == 201 and r.json()["supersedes"] == [] and _stop_ids(r.json()) == [a["id"]], r.text


def test_a_day_with_returns_rollover_and_geocoded_addresses(world: World, clock: FixedClock) -> None:
    """Returns are collected on the way; what a run could not take, or what was picked after it was planned,
    comes back the next day with the reason; a city-only address is placed by the offline gazetteer."""
    w = world
    w.sku("CRATE", weight_kg=12.5)
    w.stock("de", [{"sku": "CRATE", "qty": 60}])
    path = f"/v1/warehouses/{w.wh['de']}/delivery-runs"
    # an order shipped yesterday whose customer sends 2 crates back (25 kg to collect)
    sold = _order(w, "rt-sold", 2, PLACES[1])
    assert w.post(f"/v1/orders/{sold['id']}/ship", {}, w.operator).status_code == 200
    r = w.post(
        "/v1/returns", {"order_id": sold["id"], "lines": [{"sku": "CRATE", "qty": 2, "reason": "dented"}]}
    )
    assert r.status_code == 201, r.text
    rma = r.json()
    clock.advance(timedelta(days=1))
    today = clock.now().date()
    # a heavy order no 100 kg van can take, a city-only address in Essen, and a normal one
    heavy = _order(w, "rt-heavy", 10, PLACES[2])  # 125 kg
    essen = w.post(
        "/v1/orders",
        {
            "order_ref": "rt-essen",
            "ship_to": {"country": "DE", "city": "Essen"},
            "lines": [{"sku": "CRATE", "qty": 1}],
        },
    ).json()
    late = _order(w, "rt-late", 1, PLACES[3])  # picked only after today's run is planned
    normal = _order(w, "rt-normal", 1, PLACES[0])
    for o, qty in ((heavy, 10), (essen, 1), (normal, 1)):
        r = w.post(f"/v1/orders/{o['id']}/picks", {"lines": [{"sku": "CRATE", "qty": qty}]}, w.operator)
        assert r.status_code == 201, r.text
    vans = [{"id": "V1", "capacity_kg": 100}]
    r = w.post(path, {"date": today.isoformat(), "time_limit_s": 1, "vans": vans}, w.operator)
    assert r.status_code == 201, r.text
    run = r.json()
    (van,) = run["vans"]
    kinds = {s["order_id"]: s["kind"] for s in van["stops"]}
    assert kinds == {sold["id"]: "pickup", essen["id"]: "delivery", normal["id"]: "delivery"}
    pickup = next(s for s in van["stops"] if s["kind"] == "pickup")
    assert pickup["rma_id"] == rma["id"] and pickup["weight_kg"] == 25.0
    placed = next(s for s in van["stops"] if s["order_id"] == essen["id"])
    assert placed["placed_by"] == "GeoNames city Essen (DE)" and abs(placed["lat"] - 51.45) < 0.1
    # the load profile: 25 kg out, 25 kg of returns back; per-van distance and duration
    assert van["load_kg"] == 25.0 and van["pickup_kg"] == 25.0 and van["stops"][-1]["load_kg"] is not None
    assert max(s["load_kg"] for s in van["stops"]) <= 100
    assert van["distance_km"] > 0 and van["duration_min"] > 0
    assert [(u["order_id"], u["reason"]) for u in run["unserved"]] == [
        (heavy["id"], "heavier than any van's payload")
    ]
    # picked after planning
    r = w.post(f"/v1/orders/{late['id']}/picks", {"lines": [{"sku": "CRATE", "qty": 1}]}, w.operator)
    assert r.status_code == 201
    # tomorrow: the heavy order and the late one roll over, each with why; the served ones do not
    clock.advance(timedelta(days=1))
    tomorrow = (today + timedelta(days=1)).isoformat()
    cands = w.get(f"/v1/warehouses/{w.wh['de']}/delivery-candidates", w.operator, params={"date": tomorrow})
    assert cands.status_code == 200, cands.text
    why = {c["order_id"]: c["carried_over"] for c in cands.json()}
    assert why == {
        heavy["id"]: f"left out of the run of {today}: heavier than any van's payload",
        late["id"]: f"picked after the run of {today} was planned",
    }
    r = w.post(
        path, {"date": tomorrow, "time_limit_s": 1, "vans": [{"id": "BIG", "capacity_kg": 500}]}, w.operator
    )
    assert r.status_code == 201, r.text
    stops = {s["order_id"]: s for v in r.json()["vans"] for s in v["stops"]}
    assert set(stops) == {heavy["id"], late["id"]} and r.json()["unserved"] == []
    assert stops[heavy["id"]]["carried_over"] == why[heavy["id"]]
    w.check()


def test_an_order_on_a_superseded_run_only_is_plannable_again(world: World, clock: FixedClock) -> None:
    w = world
    w.sku("CRATE", weight_kg=12.5)
    w.stock("de", [{"sku": "CRATE", "qty": 20}])
    a = _picked(w, "sp-a", PLACES[0])
    today = clock.now().date()
    path = f"/v1/warehouses/{w.wh['de']}/delivery-runs"
    first = w.post(path, {"date": today.isoformat(), "time_limit_s": 1}, w.operator).json()
    assert _stop_ids(first) == [a["id"]]
    # re-planned with a van too small to take it: the order is left out of the current run...
    small = {
        "date": today.isoformat(),
        "time_limit_s": 1,
        "replan": True,
        "vans": [{"id": "S", "capacity_kg": 5}],
    }
    second = w.post(path, small, w.operator).json()
    assert _stop_ids(second) == [] and [u["order_id"] for u in second["unserved"]] == [a["id"]]
    # ...and, being on the superseded run only, it is a candidate for the next day
    nxt = (today + timedelta(days=1)).isoformat()
    cands = w.get(f"/v1/warehouses/{w.wh['de']}/delivery-candidates", w.operator, params={"date": nxt}).json()
    assert [c["order_id"] for c in cands] == [a["id"]]
    assert cands[0]["carried_over"] == f"left out of the run of {today}: heavier than any van's payload"
