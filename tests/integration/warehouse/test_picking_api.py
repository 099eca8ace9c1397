"""Picking and partial shipment: pick a line or part of it, ship what was picked, cancel the rest."""

from __future__ import annotations

from typing import Any

from tests.integration.warehouse.conftest import World


def _order(w: World, ref: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    r = w.post("/v1/orders", {"order_ref": ref, "ship_to": {"country": "DE"}, "lines": lines})
    assert r.status_code == 201, r.text
    return r.json()


def _states(order: dict[str, Any]) -> dict[tuple[int, str], int]:
    out: dict[tuple[int, str], int] = {}
    for a in order["allocations"]:
        out[(a["line_no"], a["status"])] = out.get((a["line_no"], a["status"]), 0) + a["qty"]
    return out


def test_pick_part_ship_partially_then_cancel_the_rest(world: World) -> None:
    w = world
    w.sku("TEA")
    w.sku("CUP")
    w.stock("de", [{"sku": "TEA", "qty": 10}, {"sku": "CUP", "qty": 5}])
    o = _order(w, "pick-1", [{"sku": "TEA", "qty": 6}, {"sku": "CUP", "qty": 2}])
    # part of line 1 picked: the units stay on hand and reserved
    r = w.post(f"/v1/orders/{o['id']}/picks", {"lines": [{"sku": "TEA", "qty": 4}]}, w.operator)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "PICKING"
    assert _states(r.json()) == {(1, "ACTIVE"): 2, (1, "PICKED"): 4, (2, "ACTIVE"): 2}
    inv = w.inventory()
    assert (inv[(w.wh["de"], "TEA", None)]["on_hand"], inv[(w.wh["de"], "TEA", None)]["reserved"]) == (10, 6)
    w.check()
    # ship takes exactly what was picked
    r = w.post(f"/v1/orders/{o['id']}/ship", {}, w.operator)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "PARTLY_SHIPPED"
    assert _states(r.json()) == {(1, "ACTIVE"): 2, (1, "SHIPPED"): 4, (2, "ACTIVE"): 2}
    inv = w.inventory()
    assert (inv[(w.wh["de"], "TEA", None)]["on_hand"], inv[(w.wh["de"], "TEA", None)]["reserved"]) == (6, 2)
    w.check()
    # what shipped can come back already; no more than shipped
    r = w.post("/v1/returns", {"order_id": o["id"], "lines": [{"sku": "TEA", "qty": 5, "reason": "x"}]})
    assert r.status_code == 422, r.text
    r = w.post("/v1/returns", {"order_id": o["id"], "lines": [{"sku": "TEA", "qty": 1, "reason": "leaking"}]})
    assert r.status_code == 201, r.text
    # nothing picked: nothing to ship, nothing changes
    before = w.inventory()
    assert w.post(f"/v1/orders/{o['id']}/ship", {}, w.operator).status_code == 409
    assert w.inventory() == before
    # pick the cup, then cancel: the cup and the unpicked tea go back to available stock
    r = w.post(f"/v1/orders/{o['id']}/picks", {"lines": [{"sku": "CUP", "qty": 2, "line_no": 2}]}, w.operator)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "PARTLY_SHIPPED"
    r = w.post(f"/v1/orders/{o['id']}/cancel", {}, w.seller)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "SHIPPED" and r.json()["cancelled_at"]
    assert _states(r.json()) == {(1, "RELEASED"): 2, (1, "SHIPPED"): 4, (2, "RELEASED"): 2}
    inv = w.inventory()
    assert inv[(w.wh["de"], "TEA", None)]["available"] == 6
    assert inv[(w.wh["de"], "CUP", None)]["available"] == 5
    w.check()
    assert w.post(f"/v1/orders/{o['id']}/cancel", {}, w.seller).status_code == 409


def test_pick_everything_then_ship_and_cancel_a_picked_order(world: World) -> None:
    w = world
    w.sku("LAMP")
    w.stock("de", [{"sku": "LAMP", "qty": 3}])
    o = _order(w, "pick-2", [{"sku": "LAMP", "qty": 2}])
    r = w.post(f"/v1/orders/{o['id']}/picks", {"lines": [{"sku": "LAMP", "qty": 2}]}, w.operator)
    assert r.status_code == 201, r.text
    r = w.post(f"/v1/orders/{o['id']}/ship", {}, w.operator)
    assert r.status_code == 200 and r.json()["status"] == "SHIPPED" and r.json()["shipped_at"]
    assert w.inventory()[(w.wh["de"], "LAMP", None)]["on_hand"] == 1
    # a picked, unshipped order cancelled: the picked unit is sellable again
    o2 = _order(w, "pick-3", [{"sku": "LAMP", "qty": 1}])
    assert (
        w.post(f"/v1/orders/{o2['id']}/picks", {"lines": [{"sku": "LAMP", "qty": 1}]}, w.operator).status_code
        == 201
    )
    r = w.post(f"/v1/orders/{o2['id']}/cancel", {}, w.seller)
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
    assert w.inventory()[(w.wh["de"], "LAMP", None)]["available"] == 1
    w.check()


def test_bad_picks_change_nothing(world: World, keys: Any) -> None:
    w = world
    w.sku("MUG")
    w.stock("de", [{"sku": "MUG", "qty": 4}])
    o = _order(w, "pick-4", [{"sku": "MUG", "qty": 2}])
    path = f"/v1/orders/{o['id']}/picks"
    before = w.get(f"/v1/orders/{o['id']}").json()
    body: dict[str, Any]
    for body in (
        {"lines": [{"sku": "MUG", "qty": 3}]},  # more than reserved
        {"lines": [{"sku": "MUG", "qty": 0}]},
        {"lines": [{"sku": "MUG", "qty": 1}, {"sku": "MUG", "qty": 2}]},  # together more than reserved
        {"lines": [{"sku": "NOPE", "qty": 1}]},
        {"lines": []},
    ):
        r = w.post(path, body, w.operator)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert w.get(f"/v1/orders/{o['id']}").json() == before
    # only an operator picks; an operator of other warehouses does not see the order
    assert w.post(path, {"lines": [{"sku": "MUG", "qty": 1}]}, w.seller).status_code == 403
    from kernel.identity import Role, TenantKind

    stranger = keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR, "other 3PL"), ["ZZZ"])
    assert w.post(path, {"lines": [{"sku": "MUG", "qty": 1}]}, stranger).status_code == 404
    # a shipped order cannot be picked
    assert w.post(f"/v1/orders/{o['id']}/ship", {}, w.operator).status_code == 200
    assert w.post(path, {"lines": [{"sku": "MUG", "qty": 1}]}, w.operator).status_code == 409
    w.check()


def test_same_pick_sent_twice_with_one_key_picks_once(world: World) -> None:
    w = world
    w.sku("BOWL")
    w.stock("de", [{"sku": "BOWL", "qty": 5}])
    o = _order(w, "pick-5", [{"sku": "BOWL", "qty": 4}])
    body = {"lines": [{"sku": "BOWL", "qty": 2}]}
    first = w.post(f"/v1/orders/{o['id']}/picks", body, w.operator, headers={"Idempotency-Key": "pick-5-a"})
    again = w.post(f"/v1/orders/{o['id']}/picks", body, w.operator, headers={"Idempotency-Key": "pick-5-a"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert _states(w.get(f"/v1/orders/{o['id']}").json()) == {(1, "ACTIVE"): 2, (1, "PICKED"): 2}
    w.check()
