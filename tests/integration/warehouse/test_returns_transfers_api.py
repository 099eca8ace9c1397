"""Transfers (two-phase, with a waybill) and returns (RMA, receipt anywhere, grading, refund)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.warehouse.conftest import World
from warehouse.inbound import on_shipment_arrived


def _sold(w: World, ref: str, lines: list[dict[str, Any]], country: str = "DE") -> dict[str, Any]:
    r = w.post("/v1/orders", {"order_ref": ref, "ship_to": {"country": country}, "lines": lines})
    assert r.status_code == 201, r.text
    r = w.post(f"/v1/orders/{r.json()['id']}/ship", {}, w.operator)
    assert r.status_code == 200, r.text
    return r.json()


def test_transfer_two_phase_with_waybill(world: World) -> None:
    w = world
    w.sku("BAMBOO")
    w.stock("de", [{"sku": "BAMBOO", "qty": 30}])
    r = w.post(
        "/v1/transfers",
        {"from_warehouse": w.wh["de"], "to_warehouse": w.wh["pl"], "lines": [{"sku": "BAMBOO", "qty": 12}]},
    )
    assert r.status_code == 201, r.text
    tr = r.json()
    assert tr["status"] == "IN_TRANSIT" and tr["waybill_no"] == w.booker.booked[-1]["waybill_no"]
    assert (w.booker.booked[-1]["from"], w.booker.booked[-1]["to"]) == ("DUI", "LOD")
    inv = w.inventory()
    assert inv[(w.wh["de"], "BAMBOO", None)]["on_hand"] == 18
    assert inv[(w.wh["pl"], "BAMBOO", None)]["in_transit"] == 12
    assert inv[(w.wh["pl"], "BAMBOO", None)]["available"] == 0
    # logistics reports the waybill at Lodz: the transfer is expected there
    with w.container.db.session() as s:
        on_shipment_arrived(s, tr["waybill_no"], w.wh["pl"], w.container.clock.now())
    assert w.get(f"/v1/transfers/{tr['id']}").json()["status"] == "ARRIVED"
    # received short by one: the missing unit is written off, the discrepancy kept
    r = w.post(f"/v1/transfers/{tr['id']}/receipts", {"lines": [{"sku": "BAMBOO", "qty": 11}]}, w.operator)
    assert r.status_code == 201, r.text
    assert r.json()["lines"] == [{"sku": "BAMBOO", "lot": None, "qty": 12, "received": 11, "lost": 1}]
    inv = w.inventory()
    assert (
        inv[(w.wh["pl"], "BAMBOO", None)]["on_hand"],
        inv[(w.wh["pl"], "BAMBOO", None)]["in_transit"],
    ) == (11, 0)
    assert (
        w.post(
            f"/v1/transfers/{tr['id']}/receipts", {"lines": [{"sku": "BAMBOO", "qty": 1}]}, w.operator
        ).status_code
        == 409
    )
    # more than sellable, or no route planner: nothing moves
    before = w.inventory()
    assert (
        w.post(
            "/v1/transfers",
            {
                "from_warehouse": w.wh["de"],
                "to_warehouse": w.wh["pl"],
                "lines": [{"sku": "BAMBOO", "qty": 19}],
            },
        ).status_code
        == 409
    )
    w.booker.fail = True
    assert (
        w.post(
            "/v1/transfers",
            {
                "from_warehouse": w.wh["de"],
                "to_warehouse": w.wh["pl"],
                "lines": [{"sku": "BAMBOO", "qty": 1}],
            },
        ).status_code
        == 409
    )
    assert w.inventory() == before
    w.check()


def test_full_partial_and_cross_warehouse_returns_with_refund_once(world: World) -> None:
    w = world
    w.sku("LAMP", unit_value=20)
    w.stock("de", [{"sku": "LAMP", "qty": 10}])
    order = _sold(w, "R-1", [{"sku": "LAMP", "qty": 4, "unit_price": "25.50"}])
    # more than shipped is refused
    r = w.post("/v1/returns", {"order_id": order["id"], "lines": [{"sku": "LAMP", "qty": 5, "reason": "x"}]})
    assert r.status_code == 422, r.text
    r = w.post(
        "/v1/returns", {"order_id": order["id"], "lines": [{"sku": "LAMP", "qty": 3, "reason": "broken"}]}
    )
    assert r.status_code == 201, r.text
    rma = r.json()
    # and a second RMA may only cover what is left
    assert (
        w.post(
            "/v1/returns", {"order_id": order["id"], "lines": [{"sku": "LAMP", "qty": 2, "reason": "x"}]}
        ).status_code
        == 422
    )
    # refund before anything came back: nothing to refund
    assert w.post(f"/v1/returns/{rma['id']}/refund", {}).status_code == 409
    # partial: 2 of 3 arrive at Rotterdam (not where they shipped from)
    r = w.post(
        f"/v1/returns/{rma['id']}/receipts",
        {"warehouse": w.wh["nl"], "lines": [{"sku": "LAMP", "qty": 2}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    inv = w.inventory()
    assert inv[(w.wh["nl"], "LAMP", None)]["returns"] == 2
    assert inv[(w.wh["nl"], "LAMP", None)]["available"] == 0  # not sellable before grading
    r = w.post(
        f"/v1/returns/{rma['id']}/inspections",
        {"lines": [{"sku": "LAMP", "qty": 1, "grade": "A"}, {"sku": "LAMP", "qty": 1, "grade": "D"}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    assert sorted(d["disposition"] for d in r.json()["dispositions"]) == ["dispose", "restock"]
    inv = w.inventory()
    assert (
        inv[(w.wh["nl"], "LAMP", None)]["available"] == 1 and inv[(w.wh["nl"], "LAMP", None)]["returns"] == 0
    )
    # grading more than received is refused
    assert (
        w.post(
            f"/v1/returns/{rma['id']}/inspections",
            {"lines": [{"sku": "LAMP", "qty": 1, "grade": "A"}]},
            w.operator,
        ).status_code
        == 422
    )
    # refund: 2 received x 25.50, paid once however often it is retried
    first = w.post(f"/v1/returns/{rma['id']}/refund", {})
    retry = w.post(f"/v1/returns/{rma['id']}/refund", {})
    assert first.status_code == 201 and retry.status_code == 200
    assert first.json()["amount"] == {"amount": "51.00", "currency": "USD"}
    assert retry.json()["amount"] == first.json()["amount"] and retry.json()["already_refunded"] is True
    # the last unit arrives with an extra, unexpected one: flagged and quarantined
    r = w.post(
        f"/v1/returns/{rma['id']}/receipts",
        {"warehouse": w.wh["de"], "lines": [{"sku": "LAMP", "qty": 2}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["lines"][0]["received"] == 3
    assert got["unexpected"] == [
        {"sku": "LAMP", "qty": 1, "warehouse": w.wh["de"], "lot": None, "flag": "unexpected"}
    ]
    inv = w.inventory()
    assert (
        inv[(w.wh["de"], "LAMP", None)]["quarantine"] == 1 and inv[(w.wh["de"], "LAMP", None)]["returns"] == 1
    )
    assert w.get(f"/v1/returns/{rma['id']}").json()["refund"]["amount"] == "51.00"
    # another seller cannot see it
    assert w.get(f"/v1/returns/{rma['id']}", w.other_seller).status_code == 404
    w.check()


def test_expired_lot_is_disposed_never_restocked_and_policy_return_to_origin(
    world: World, clock: Any
) -> None:
    w = world
    w.sku("BAIJIU", lot_tracked=True)
    w.sku("PHONE")
    today = clock.now().date()
    w.stock(
        "de",
        [
            {"sku": "BAIJIU", "qty": 3, "lot": "B1", "expires_on": str(today + timedelta(days=10))},
            {"sku": "PHONE", "qty": 3},
        ],
    )
    order = _sold(w, "EXP-1", [{"sku": "BAIJIU", "qty": 2}, {"sku": "PHONE", "qty": 2}])
    rma = w.post(
        "/v1/returns",
        {
            "order_id": order["id"],
            "lines": [
                {"sku": "BAIJIU", "qty": 2, "reason": "late"},
                {"sku": "PHONE", "qty": 2, "reason": "faulty"},
            ],
        },
    ).json()
    r = w.post(
        f"/v1/returns/{rma['id']}/receipts",
        {"warehouse": w.wh["de"], "lines": [{"sku": "BAIJIU", "qty": 2}, {"sku": "PHONE", "qty": 2}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    assert {(x["sku"], x["lot"]) for x in r.json()["receipts"]} == {("BAIJIU", "B1"), ("PHONE", None)}
    # the seller sends grade C back to Yibin
    r = w.client.put("/v1/return-policy", json={"grades": {"C": "return_to_origin"}}, headers=w.seller)
    assert r.status_code == 200 and r.json()["grades"]["C"] == "return_to_origin"
    clock.advance(timedelta(days=11))  # the lot has expired by the time it is graded
    r = w.post(
        f"/v1/returns/{rma['id']}/inspections",
        {"lines": [{"sku": "BAIJIU", "qty": 2, "grade": "A"}, {"sku": "PHONE", "qty": 2, "grade": "C"}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    disp = {d["sku"]: d for d in r.json()["dispositions"]}
    assert disp["BAIJIU"]["disposition"] == "dispose"  # grade A, but expired
    assert disp["PHONE"]["disposition"] == "return_to_origin"
    assert disp["PHONE"]["waybill_no"] == w.booker.booked[-1]["waybill_no"]
    assert (w.booker.booked[-1]["from"], w.booker.booked[-1]["to"]) == ("DUI", "YIB")
    inv = w.inventory()
    assert inv[(w.wh["de"], "BAIJIU", "B1")]["on_hand"] == 1  # the unsold unit only
    assert inv[(w.wh["de"], "PHONE", None)]["on_hand"] == 1
    w.check()


def test_cycle_count_and_reversal_through_the_ledger(world: World) -> None:
    w = world
    w.sku("CUP")
    w.stock("de", [{"sku": "CUP", "qty": 10}])
    w.post(
        "/v1/orders", {"order_ref": "CC-1", "ship_to": {"country": "DE"}, "lines": [{"sku": "CUP", "qty": 4}]}
    )
    body = {"warehouse": w.wh["de"], "seller_id": w.seller_id, "lines": [{"sku": "CUP", "qty": 7}]}
    r = w.post("/v1/cycle-counts", body, w.operator)
    assert r.status_code == 201, r.text
    assert r.json()["lines"] == [{"sku": "CUP", "lot": None, "system": 10, "counted": 7, "adjustment": -3}]
    assert w.inventory()[(w.wh["de"], "CUP", None)]["on_hand"] == 7
    # counting below what is reserved would break promises: refused
    assert (
        w.post("/v1/cycle-counts", {**body, "lines": [{"sku": "CUP", "qty": 3}]}, w.operator).status_code
        == 409
    )
    # the count was wrong: reverse it (once)
    mv = r.json()["movements"][0]
    assert w.post(f"/v1/movements/{mv}/reverse", {}, w.operator).status_code == 201
    assert w.post(f"/v1/movements/{mv}/reverse", {}, w.operator).status_code == 409
    assert w.inventory()[(w.wh["de"], "CUP", None)]["on_hand"] == 10
    w.check()


def test_other_goods_in_a_return_are_quarantined_and_flagged(world: World, keys: Any) -> None:
    from kernel.identity import Role, TenantKind

    w = world
    us_operator = keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR), [w.wh["us"]])
    w.sku("MUG")
    w.sku("SPOON")
    w.stock("de", [{"sku": "MUG", "qty": 5}])
    order = _sold(w, "OG-1", [{"sku": "MUG", "qty": 2, "unit_price": "8.00"}])
    rma = w.post(
        "/v1/returns", {"order_id": order["id"], "lines": [{"sku": "MUG", "qty": 1, "reason": "chipped"}]}
    )
    assert rma.status_code == 201, rma.text
    rid = rma.json()["id"]
    # the Los Angeles operator cannot see a return of goods shipped from Duisburg, nor receive at Duisburg
    assert w.get(f"/v1/returns/{rid}", us_operator).status_code == 404
    bad = w.post(
        f"/v1/returns/{rid}/receipts",
        {"warehouse": w.wh["de"], "lines": [{"sku": "MUG", "qty": 1}]},
        us_operator,
    )
    assert bad.status_code == 404
    # a spoon that was never sold in this order comes back with the mug
    r = w.post(
        f"/v1/returns/{rid}/receipts",
        {"warehouse": w.wh["pl"], "lines": [{"sku": "MUG", "qty": 1}, {"sku": "SPOON", "qty": 1}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    assert [(u["sku"], u["qty"], u["flag"]) for u in r.json()["unexpected"]] == [("SPOON", 1, "unexpected")]
    inv = w.inventory()
    assert (
        inv[(w.wh["pl"], "SPOON", None)]["quarantine"] == 1
        and inv[(w.wh["pl"], "SPOON", None)]["available"] == 0
    )
    # grading the spoon as if it were expected is refused; the refund covers the mug only
    assert (
        w.post(
            f"/v1/returns/{rid}/inspections",
            {"lines": [{"sku": "SPOON", "qty": 1, "grade": "A"}]},
            w.operator,
        ).status_code
        == 422
    )
    assert w.post(f"/v1/returns/{rid}/refund", {}).json()["amount"]["amount"] == "8.00"
    # a return for a cancelled (never shipped) order is refused
    o2 = w.post(
        "/v1/orders", {"order_ref": "OG-2", "ship_to": {"country": "DE"}, "lines": [{"sku": "MUG", "qty": 1}]}
    )
    w.post(f"/v1/orders/{o2.json()['id']}/cancel", {})
    assert (
        w.post("/v1/returns", {"order_id": o2.json()["id"], "lines": [{"sku": "MUG", "qty": 1}]}).status_code
        == 409
    )
    # a second mug turns up in Los Angeles: its operator may receive it (flagged) and then sees the return
    r = w.post(
        f"/v1/returns/{rid}/receipts",
        {"warehouse": w.wh["us"], "lines": [{"sku": "MUG", "qty": 1}]},
        us_operator,
    )
    assert r.status_code == 201, r.text
    assert w.get(f"/v1/returns/{rid}", us_operator).status_code == 200
    assert w.inventory()[(w.wh["us"], "MUG", None)]["quarantine"] == 1
    w.check()


def test_full_return_restocks_everything_and_refunds_the_order(world: World) -> None:
    w = world
    w.sku("KETTLE")
    w.stock("pl", [{"sku": "KETTLE", "qty": 2}])
    order = _sold(w, "FULL-1", [{"sku": "KETTLE", "qty": 2, "unit_price": "30.00"}], country="PL")
    assert (w.wh["pl"], "KETTLE", None) not in w.inventory()  # nothing left anywhere: no row
    rma = w.post(
        "/v1/returns", {"order_id": order["id"], "lines": [{"sku": "KETTLE", "qty": 2, "reason": "unwanted"}]}
    )
    rid = rma.json()["id"]
    assert (
        w.post(
            f"/v1/returns/{rid}/receipts",
            {"warehouse": w.wh["pl"], "lines": [{"sku": "KETTLE", "qty": 2}]},
            w.operator,
        ).status_code
        == 201
    )
    r = w.post(
        f"/v1/returns/{rid}/inspections", {"lines": [{"sku": "KETTLE", "qty": 2, "grade": "A"}]}, w.operator
    )
    assert r.status_code == 201, r.text
    assert r.json()["lines"] == [
        {"sku": "KETTLE", "reason": "unwanted", "authorised": 2, "received": 2, "dispositioned": 2}
    ]
    row = w.inventory()[(w.wh["pl"], "KETTLE", None)]
    assert (row["on_hand"], row["available"], row["returns"]) == (2, 2, 0)
    assert w.post(f"/v1/returns/{rid}/refund", {}).json()["amount"] == {"amount": "60.00", "currency": "USD"}
    # and the restocked units sell again
    assert (
        w.post(
            "/v1/orders",
            {"order_ref": "FULL-2", "ship_to": {"country": "PL"}, "lines": [{"sku": "KETTLE", "qty": 2}]},
        ).status_code
        == 201
    )
    w.check()
