"""Stocking, allocation, cancel and ship through the HTTP API; the books are audited after each test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from kernel.clock import FixedClock
from tests.conftest import Keys
from tests.integration.warehouse.conftest import World
from warehouse import tables as t
from warehouse.inbound import on_shipment_arrived


def test_stock_two_warehouses_from_yibin_then_sell_and_ship(world: World) -> None:
    w = world
    w.sku("TEA-1")
    w.sku("BAIJIU-1", lot_tracked=True, shelf_life_days=720)
    eta = datetime(2027, 3, 20, tzinfo=UTC)
    w.eta.etas["XBWTEST00001"] = eta
    r = w.post(
        "/v1/inbound",
        {
            "warehouse": w.wh["de"],
            "waybill_no": "XBWTEST00001",
            "lines": [
                {"sku": "TEA-1", "qty": 100},
                {"sku": "BAIJIU-1", "qty": 40, "lot": "L1", "expires_on": "2028-01-01"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    asn = r.json()
    assert asn["status"] == "IN_TRANSIT" and asn["expected_at"] == "2027-03-20T00:00:00Z"
    inv = w.inventory(warehouse=w.wh["de"])
    assert inv[(w.wh["de"], "TEA-1", None)]["in_transit"] == 100
    assert inv[(w.wh["de"], "TEA-1", None)]["available"] == 0
    # available to promise counts the goods in transit by their live ETA
    early = w.get("/v1/atp", params={"sku": "TEA-1", "by": "2027-03-10T00:00:00Z"}).json()
    late = w.get("/v1/atp", params={"sku": "TEA-1", "by": "2027-03-25T00:00:00Z"}).json()
    assert early["available_to_promise"] == 0
    assert late["available_to_promise"] == 100 and late["in_transit_by_date"] == 100
    # logistics reports the waybill at the warehouse: the receipt is expected
    with w.container.db.session() as s:
        on_shipment_arrived(s, "XBWTEST00001", w.wh["de"], eta)
    assert w.get(f"/v1/inbound/{asn['id']}").json()["status"] == "ARRIVED"
    # counted: 98 tea (2 short), 42 baijiu (2 surplus) and 5 unannounced tea of another lot
    r = w.post(
        f"/v1/inbound/{asn['id']}/receipts",
        {
            "lines": [
                {"sku": "TEA-1", "qty": 98},
                {"sku": "BAIJIU-1", "qty": 42, "lot": "L1"},
                {"sku": "TEA-1", "qty": 5, "lot": "X9"},
            ]
        },
        w.operator,
    )
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["status"] == "RECEIVED"
    lines = {(ln["sku"], ln["lot"]): ln for ln in rec["lines"]}
    assert lines[("TEA-1", None)] == {
        "sku": "TEA-1",
        "lot": None,
        "expected": 100,
        "received": 98,
        "short": 2,
        "surplus": 0,
    }
    assert lines[("BAIJIU-1", "L1")]["surplus"] == 2
    assert lines[("TEA-1", "X9")]["surplus"] == 5
    assert len(rec["discrepancies"]) == 3
    inv = w.inventory(warehouse=w.wh["de"])
    assert inv[(w.wh["de"], "TEA-1", None)] | {} == inv[(w.wh["de"], "TEA-1", None)]
    tea = inv[(w.wh["de"], "TEA-1", None)]
    assert (tea["on_hand"], tea["available"], tea["in_transit"], tea["quarantine"]) == (98, 98, 0, 0)
    assert inv[(w.wh["de"], "BAIJIU-1", "L1")]["quarantine"] == 2
    assert inv[(w.wh["de"], "TEA-1", "X9")]["quarantine"] == 5
    # a second receipt of the same notice is refused
    again = w.post(f"/v1/inbound/{asn['id']}/receipts", {"lines": [{"sku": "TEA-1", "qty": 1}]}, w.operator)
    assert again.status_code == 409
    w.stock("pl", [{"sku": "TEA-1", "qty": 10}])
    # a count without a lot is applied to the notice's lot of that SKU
    r = w.post(
        "/v1/inbound", {"warehouse": w.wh["pl"], "lines": [{"sku": "BAIJIU-1", "qty": 6, "lot": "L2"}]}
    )
    r = w.post(
        f"/v1/inbound/{r.json()['id']}/receipts", {"lines": [{"sku": "BAIJIU-1", "qty": 6}]}, w.operator
    )
    assert r.json()["lines"] == [
        {"sku": "BAIJIU-1", "lot": "L2", "expected": 6, "received": 6, "short": 0, "surplus": 0}
    ]

    # a Polish customer is served from Poland (in-country first), a Dutch one from Duisburg (nearest)
    r = w.post(
        "/v1/orders",
        {"order_ref": "PL-1", "ship_to": {"country": "PL"}, "lines": [{"sku": "TEA-1", "qty": 4}]},
    )
    assert r.status_code == 201, r.text
    o_pl = r.json()
    assert o_pl["status"] == "ALLOCATED"
    assert o_pl["allocations"] == [
        {"warehouse": w.wh["pl"], "sku": "TEA-1", "qty": 4, "lot": None, "line_no": 1}
    ]
    assert any("whole order" in e for e in o_pl["explanation"])
    r = w.post(
        "/v1/orders",
        {
            "order_ref": "NL-1",
            "ship_to": {"country": "NL", "lat": 52.37, "lon": 4.9},
            "lines": [{"sku": "TEA-1", "qty": 20}],
        },
    )
    o_nl = r.json()
    # Rotterdam has no stock; Duisburg is the nearest warehouse that can fill the order
    assert [a["warehouse"] for a in o_nl["allocations"]] == [w.wh["de"]]
    # too much for any one warehouse: split, Duisburg first
    r = w.post(
        "/v1/orders",
        {"order_ref": "DE-BIG", "ship_to": {"country": "DE"}, "lines": [{"sku": "TEA-1", "qty": 80}]},
    )
    assert r.status_code == 201, r.text
    big = r.json()
    assert sorted((a["warehouse"], a["qty"]) for a in big["allocations"]) == sorted(
        [(w.wh["de"], 78), (w.wh["pl"], 2)]
    )
    assert any("split" in e for e in big["explanation"])
    # nothing left: 409 and nothing reserved
    before = w.inventory()
    r = w.post(
        "/v1/orders",
        {
            "order_ref": "DE-NO",
            "ship_to": {"country": "DE"},
            "lines": [{"sku": "TEA-1", "qty": 5}, {"sku": "BAIJIU-1", "qty": 1}],
        },
    )
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["shortages"] == [{"sku": "TEA-1", "missing": 1}]
    assert w.inventory() == before
    # cancel releases, ship consumes
    r = w.post(f"/v1/orders/{big['id']}/cancel", {})
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
    assert w.inventory()[(w.wh["de"], "TEA-1", None)]["reserved"] == 20
    r = w.post(f"/v1/orders/{o_nl['id']}/ship", {}, w.operator)
    assert r.status_code == 200 and r.json()["status"] == "SHIPPED"
    tea = w.inventory()[(w.wh["de"], "TEA-1", None)]
    assert (tea["on_hand"], tea["reserved"], tea["available"]) == (78, 0, 78)
    # shipping a cancelled order, cancelling a shipped one: 409, nothing changes
    before = w.inventory()
    assert w.post(f"/v1/orders/{big['id']}/ship", {}, w.operator).status_code == 409
    assert w.post(f"/v1/orders/{o_nl['id']}/cancel", {}).status_code == 409
    assert w.inventory() == before
    w.check()


def test_fefo_and_never_an_expired_lot(world: World, clock: FixedClock) -> None:
    w = world
    w.sku("BJ", lot_tracked=True)
    today = clock.now().date()
    w.stock(
        "de",
        [
            {"sku": "BJ", "qty": 5, "lot": "OLD", "expires_on": str(today - timedelta(days=1))},
            {"sku": "BJ", "qty": 5, "lot": "SOON", "expires_on": str(today + timedelta(days=30))},
            {"sku": "BJ", "qty": 5, "lot": "LATE", "expires_on": str(today + timedelta(days=300))},
        ],
    )
    inv = w.inventory()
    assert (
        inv[(w.wh["de"], "BJ", "OLD")]["expired"] is True and inv[(w.wh["de"], "BJ", "OLD")]["available"] == 0
    )
    r = w.post(
        "/v1/orders", {"order_ref": "F1", "ship_to": {"country": "DE"}, "lines": [{"sku": "BJ", "qty": 7}]}
    )
    assert r.status_code == 201, r.text
    assert [(a["lot"], a["qty"]) for a in r.json()["allocations"]] == [("SOON", 5), ("LATE", 2)]
    r = w.post(
        "/v1/orders", {"order_ref": "F2", "ship_to": {"country": "DE"}, "lines": [{"sku": "BJ", "qty": 4}]}
    )
    assert r.status_code == 409  # 3 LATE left; the 5 expired units are never offered
    w.check()


def test_idempotent_order_reserves_once(world: World) -> None:
    w = world
    w.sku("T")
    w.stock("de", [{"sku": "T", "qty": 10}])
    body = {"order_ref": "IDEM-1", "ship_to": {"country": "DE"}, "lines": [{"sku": "T", "qty": 3}]}
    first = w.post("/v1/orders", body, headers={"Idempotency-Key": "k-1"})
    again = w.post("/v1/orders", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content  # the stored answer, byte for byte
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert w.inventory()[(w.wh["de"], "T", None)]["reserved"] == 3
    # the same order_ref without the key is a conflict, not a second reservation
    assert w.post("/v1/orders", body).status_code == 409
    assert w.inventory()[(w.wh["de"], "T", None)]["reserved"] == 3
    w.check()


def test_bad_input_is_a_problem_and_changes_nothing(world: World) -> None:
    w = world
    w.sku("GOOD")
    w.stock("de", [{"sku": "GOOD", "qty": 5}])
    other = w.post(
        "/v1/skus", {"sku": "THEIRS", "name": "x", "weight_kg": 1, "volume_m3": 0.1}, w.other_seller
    )
    assert other.status_code == 201
    with w.container.db.session() as s:
        moves_before = s.execute(select(func.count()).select_from(t.movements)).scalar_one()
    inv_before = w.inventory()
    cases = [
        (
            "/v1/orders",
            {"order_ref": "B1", "ship_to": {"country": "DE"}, "lines": [{"sku": "NOPE", "qty": 1}]},
        ),
        (
            "/v1/orders",
            {"order_ref": "B2", "ship_to": {"country": "DE"}, "lines": [{"sku": "GOOD", "qty": 0}]},
        ),
        (
            "/v1/orders",
            {"order_ref": "B3", "ship_to": {"country": "DE"}, "lines": [{"sku": "GOOD", "qty": -2}]},
        ),
        (
            "/v1/orders",
            {"order_ref": "B4", "ship_to": {"country": "DE"}, "lines": [{"sku": "THEIRS", "qty": 1}]},
        ),
        ("/v1/orders", {"order_ref": "B5", "ship_to": {"country": "DE"}, "lines": []}),
        ("/v1/inbound", {"warehouse": "NOWHERE", "lines": [{"sku": "GOOD", "qty": 1}]}),
        ("/v1/inbound", {"warehouse": w.wh["de"], "lines": [{"sku": "GOOD", "qty": 0}]}),
        (
            "/v1/transfers",
            {"from_warehouse": w.wh["de"], "to_warehouse": w.wh["de"], "lines": [{"sku": "GOOD", "qty": 1}]},
        ),
        (
            "/v1/transfers",
            {"from_warehouse": w.wh["de"], "to_warehouse": "NOWHERE", "lines": [{"sku": "GOOD", "qty": 1}]},
        ),
    ]
    for path, body in cases:
        r = w.post(path, body)
        assert 400 <= r.status_code < 500, (path, body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == r.status_code and r.json()["detail"]
    with w.container.db.session() as s:
        assert s.execute(select(func.count()).select_from(t.movements)).scalar_one() == moves_before
    assert w.inventory() == inv_before
    w.check()


def test_other_tenants_objects_are_not_found(world: World, keys: Keys) -> None:
    w = world
    w.sku("S")
    w.stock("de", [{"sku": "S", "qty": 2}])
    order = w.post(
        "/v1/orders", {"order_ref": "P1", "ship_to": {"country": "DE"}, "lines": [{"sku": "S", "qty": 1}]}
    ).json()
    from kernel.identity import Role, TenantKind

    stranger_op = keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR), ["ELSEWHERE"])
    assert w.get(f"/v1/orders/{order['id']}", w.other_seller).status_code == 404
    assert w.get(f"/v1/orders/{order['id']}", stranger_op).status_code == 404
    assert w.post(f"/v1/orders/{order['id']}/cancel", {}, w.other_seller).status_code == 404
    assert w.post(f"/v1/orders/{order['id']}/ship", {}, stranger_op).status_code == 404
    assert w.get("/v1/inventory", w.other_seller).json() == []
    assert w.get("/v1/inventory", stranger_op).json() == []
    assert w.get(f"/v1/orders/{order['id']}", w.operator).status_code == 200
    # a forwarder key has no business here
    assert w.get("/v1/inventory", keys.headers(Role.FORWARDER)).status_code == 403
    assert w.get(f"/v1/orders/{order['id']}").json()["status"] == "ALLOCATED"
    w.check()
