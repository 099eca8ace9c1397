"""Expired lots: reservations move to a fresh lot (FEFO) or are released with the reason on the order, and
the expired units go to quarantine through the ledger; expired stock never ships."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kernel.clock import FixedClock
from tests.integration.warehouse.conftest import World
from warehouse.scheduled import expiry_job


def _order(w: World, ref: str, qty: int) -> dict[str, Any]:
    r = w.post(
        "/v1/orders", {"order_ref": ref, "ship_to": {"country": "DE"}, "lines": [{"sku": "MILK", "qty": qty}]}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_expired_reservations_move_to_a_fresh_lot_or_are_released(world: World, clock: FixedClock) -> None:
    w = world
    today = clock.now().date()
    w.sku("MILK", lot_tracked=True)
    w.stock(
        "de",
        [
            {"sku": "MILK", "qty": 5, "lot": "OLD", "expires_on": str(today + timedelta(days=3))},
            {"sku": "MILK", "qty": 3, "lot": "NEW", "expires_on": str(today + timedelta(days=90))},
        ],
    )
    a = _order(w, "exp-a", 4)
    b = _order(w, "exp-b", 1)
    assert {x["lot"] for x in a["allocations"] + b["allocations"]} == {"OLD"}  # FEFO
    # two of order A picked before the lot expires
    assert (
        w.post(f"/v1/orders/{a['id']}/picks", {"lines": [{"sku": "MILK", "qty": 2}]}, w.operator).status_code
        == 201
    )
    clock.advance(timedelta(days=3))  # OLD expires today
    # before the job runs, an order holding expired stock does not ship; nothing changes
    before = w.inventory()
    for o in (a, b):
        r = w.post(f"/v1/orders/{o['id']}/ship", {}, w.operator)
        assert r.status_code == 409 and "expired" in r.json()["detail"], r.text
    assert w.inventory() == before
    r = w.post("/v1/expiry/run", {}, w.admin)
    assert r.status_code == 200, r.text
    mine = [x for x in r.json()["reservations"] if x["order_id"] in (a["id"], b["id"])]
    assert sum(sum(p["qty"] for p in x["reallocated"]) for x in mine) == 3
    assert sum(x["released"] for x in mine) == 2
    oa, ob = (w.get(f"/v1/orders/{o['id']}").json() for o in (a, b))
    # A: 3 units now reserved on NEW (picks of the expired lot undone: fresh units need picking), 1 released
    held_a: dict[tuple[str, str], int] = {}
    for x in oa["allocations"]:
        held_a[(x["lot"], x["status"])] = held_a.get((x["lot"], x["status"]), 0) + x["qty"]
    assert held_a == {("NEW", "ACTIVE"): 3, ("OLD", "RELEASED"): 1}
    assert oa["status"] == "ALLOCATED"
    assert any("expired" in e and "re-allocated to lot NEW" in e for e in oa["explanation"])
    assert any("1 unit(s) released" in e for e in oa["explanation"])
    # B: nothing fresh left: released, the order cancelled, the reason on it
    assert ob["status"] == "CANCELLED" and ob["allocations"][0]["status"] == "RELEASED"
    assert any("no fresh stock" in e for e in ob["explanation"])
    # the 5 expired units went to quarantine through the ledger
    inv = w.inventory()
    old, new = inv[(w.wh["de"], "MILK", "OLD")], inv[(w.wh["de"], "MILK", "NEW")]
    assert (old["on_hand"], old["reserved"], old["quarantine"], old["expired"]) == (0, 0, 5, True)
    assert (new["on_hand"], new["reserved"], new["available"]) == (3, 3, 0)
    w.check()
    # A ships from the fresh lot; a second run finds nothing more to do
    r = w.post(f"/v1/orders/{a['id']}/ship", {}, w.operator)
    assert r.status_code == 200 and r.json()["status"] == "SHIPPED", r.text
    again = expiry_job(w.container.db, clock)
    assert not [x for x in again["reservations"] if x["order_id"] in (a["id"], b["id"])]
    assert not [x for x in again["quarantined"] if x["seller_id"] == w.seller_id]
    w.check()


def test_expiry_run_is_for_admins(world: World) -> None:
    assert world.post("/v1/expiry/run", {}, world.seller).status_code == 403
    assert world.post("/v1/expiry/run", {}, world.operator).status_code == 403


def test_atp_does_not_promise_an_inbound_lot_that_expires_by_the_date(
    world: World, clock: FixedClock
) -> None:
    w = world
    today = clock.now().date()
    w.sku("YOGURT", lot_tracked=True)
    waybill = f"XBW{w.wh['de']}Y"
    w.eta.etas[waybill] = clock.now() + timedelta(days=5)
    r = w.post(
        "/v1/inbound",
        {
            "warehouse": w.wh["de"],
            "waybill_no": waybill,
            "lines": [
                {"sku": "YOGURT", "qty": 5, "lot": "SHORT", "expires_on": str(today + timedelta(days=10))},
                {"sku": "YOGURT", "qty": 7, "lot": "LONG", "expires_on": str(today + timedelta(days=200))},
            ],
        },
    )
    assert r.status_code == 201, r.text
    # both lots arrive in five days: both can be promised for next week, only the long one for next month
    week = (clock.now() + timedelta(days=7)).isoformat()
    month = (clock.now() + timedelta(days=30)).isoformat()
    assert w.get("/v1/atp", params={"sku": "YOGURT", "by": week}).json()["available_to_promise"] == 12
    atp = w.get("/v1/atp", params={"sku": "YOGURT", "by": month}).json()
    assert atp["available_to_promise"] == 7 and [x["lot"] for x in atp["breakdown"]] == ["LONG"]
