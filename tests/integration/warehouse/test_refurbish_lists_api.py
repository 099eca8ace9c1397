"""Refurbishment of returned units, and the lists of inbound notices and returns (scoped, filtered, paged)."""

from __future__ import annotations

from typing import Any

from kernel.identity import Role, TenantKind
from tests.integration.warehouse.conftest import World


def _returned(w: World, ref: str, sku: str, qty: int) -> dict[str, Any]:
    """An order of `qty` shipped from Duisburg and fully returned there, received and waiting for grading."""
    r = w.post(
        "/v1/orders", {"order_ref": ref, "ship_to": {"country": "DE"}, "lines": [{"sku": sku, "qty": qty}]}
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert w.post(f"/v1/orders/{order['id']}/ship", {}, w.operator).status_code == 200
    r = w.post(
        "/v1/returns", {"order_id": order["id"], "lines": [{"sku": sku, "qty": qty, "reason": "scratched"}]}
    )
    assert r.status_code == 201, r.text
    rma = r.json()
    r = w.post(
        f"/v1/returns/{rma['id']}/receipts",
        {"warehouse": w.wh["de"], "lines": [{"sku": sku, "qty": qty}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    return rma


def test_refurbish_zone_then_restock_or_dispose(world: World) -> None:
    w = world
    w.sku("KETTLE")
    w.stock("de", [{"sku": "KETTLE", "qty": 5}])
    rma = _returned(w, "refurb-1", "KETTLE", 4)
    # grade B goes to refurbishment (the default table): the units sit in the refurbish zone, not sellable
    r = w.post(
        f"/v1/returns/{rma['id']}/inspections",
        {"lines": [{"sku": "KETTLE", "qty": 4, "grade": "B"}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    assert {d["disposition"] for d in r.json()["dispositions"]} == {"refurbish"}
    assert r.json()["awaiting_refurbishment"] == [
        {"warehouse": w.wh["de"], "sku": "KETTLE", "lot": None, "qty": 4}
    ]
    row = w.inventory()[(w.wh["de"], "KETTLE", None)]
    assert (row["on_hand"], row["available"], row["refurbish"], row["quarantine"]) == (1, 1, 4, 0)
    got = w.get(f"/v1/returns/{rma['id']}").json()
    assert got["awaiting_refurbishment"] == [
        {"warehouse": w.wh["de"], "sku": "KETTLE", "lot": None, "qty": 4}
    ]
    w.check()
    # more than waits, a zero, an unknown outcome, a seller: refused, nothing changes
    path = f"/v1/returns/{rma['id']}/refurbishments"
    before = w.inventory()
    body: dict[str, Any]
    for body in (
        {"lines": [{"sku": "KETTLE", "qty": 5, "outcome": "restock"}]},
        {"lines": [{"sku": "KETTLE", "qty": 0, "outcome": "restock"}]},
        {"lines": [{"sku": "KETTLE", "qty": 1, "outcome": "sell"}]},
        {
            "lines": [
                {"sku": "KETTLE", "qty": 3, "outcome": "restock"},
                {"sku": "KETTLE", "qty": 2, "outcome": "dispose"},
            ]
        },
        {"lines": []},
    ):
        r = w.post(path, body, w.operator)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (
        w.post(path, {"lines": [{"sku": "KETTLE", "qty": 1, "outcome": "restock"}]}, w.seller).status_code
        == 403
    )
    assert w.inventory() == before
    # three come back as new, one is beyond repair; the same request again with its key changes nothing
    body = {
        "lines": [
            {"sku": "KETTLE", "qty": 3, "outcome": "restock"},
            {"sku": "KETTLE", "qty": 1, "outcome": "dispose"},
        ]
    }
    first = w.post(path, body, w.operator, headers={"Idempotency-Key": "refurb-1-a"})
    again = w.post(path, body, w.operator, headers={"Idempotency-Key": "refurb-1-a"})
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    assert sorted((x["outcome"], x["qty"]) for x in first.json()["refurbishments"]) == [
        ("dispose", 1),
        ("restock", 3),
    ]
    assert first.json()["awaiting_refurbishment"] == []
    row = w.inventory()[(w.wh["de"], "KETTLE", None)]
    assert (row["on_hand"], row["available"], row["refurbish"]) == (4, 4, 0)
    assert (
        w.post(path, {"lines": [{"sku": "KETTLE", "qty": 1, "outcome": "restock"}]}, w.operator).status_code
        == 422
    )
    w.check()


def test_inbound_list_scoped_filtered_and_paged(world: World, keys: Any) -> None:
    w = world
    w.sku("SOAP")
    ids = []
    for i, wh in enumerate(["de", "pl", "de"]):
        r = w.post(
            "/v1/inbound",
            {
                "warehouse": w.wh[wh],
                "waybill_no": f"WB-{w.wh['de']}-{i}",
                "lines": [{"sku": "SOAP", "qty": 1 + i}],
            },
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = w.post(f"/v1/inbound/{ids[0]}/receipts", {"lines": [{"sku": "SOAP", "qty": 1}]}, w.operator)
    assert r.status_code == 201
    everything = w.get("/v1/inbound", params={"limit": 500}).json()
    assert {x["id"] for x in everything["items"]} == set(ids) and everything["next"] is None
    # pages of two, newest first, then the rest
    p1 = w.get("/v1/inbound", params={"limit": 2}).json()
    assert len(p1["items"]) == 2 and p1["next"]
    p2 = w.get("/v1/inbound", params={"limit": 2, "cursor": p1["next"]}).json()
    assert p2["next"] is None
    assert [x["id"] for x in p1["items"] + p2["items"]] == [x["id"] for x in everything["items"]]
    assert len({x["id"] for x in p1["items"] + p2["items"]}) == 3
    # filters
    de = w.get("/v1/inbound", params={"warehouse": w.wh["de"]}).json()["items"]
    assert sorted(x["id"] for x in de) == sorted([ids[0], ids[2]])
    received = w.get("/v1/inbound", params={"status": "RECEIVED"}).json()["items"]
    assert [x["id"] for x in received] == [ids[0]] and received[0]["lines"][0]["received"] == 1
    assert [
        x["id"] for x in w.get("/v1/inbound", params={"waybill_no": f"WB-{w.wh['de']}-1"}).json()["items"]
    ] == [ids[1]]
    # scope: another seller sees none of them; an operator of Lodz only Lodz's
    assert not {
        x["id"] for x in w.get("/v1/inbound", w.other_seller, params={"limit": 500}).json()["items"]
    } & set(ids)
    lodz = keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR, "Lodz 3PL"), [w.wh["pl"]])
    assert [x["id"] for x in w.get("/v1/inbound", lodz, params={"limit": 500}).json()["items"]] == [ids[1]]
    # bad input: 4xx problems
    for params in ({"status": "LOST"}, {"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 501}):
        r = w.get("/v1/inbound", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_return_list_scoped_filtered_and_paged(world: World, keys: Any) -> None:
    w = world
    w.sku("TOWEL")
    w.stock("de", [{"sku": "TOWEL", "qty": 10}])
    a = _returned(w, "rl-1", "TOWEL", 1)
    b = _returned(w, "rl-2", "TOWEL", 2)
    r = w.post(
        f"/v1/returns/{a['id']}/inspections",
        {"lines": [{"sku": "TOWEL", "qty": 1, "grade": "A"}]},
        w.operator,
    )
    assert r.status_code == 201
    mine = w.get("/v1/returns", params={"limit": 500}).json()
    assert [x["id"] for x in mine["items"]] == [b["id"], a["id"]]  # newest first
    assert mine["items"][0]["lines"][0]["received"] == 2
    p1 = w.get("/v1/returns", params={"limit": 1}).json()
    p2 = w.get("/v1/returns", params={"limit": 1, "cursor": p1["next"]}).json()
    assert [x["id"] for x in p1["items"] + p2["items"]] == [b["id"], a["id"]] and p2["next"] is None
    assert [x["id"] for x in w.get("/v1/returns", params={"status": "INSPECTED"}).json()["items"]] == [
        a["id"]
    ]
    assert [x["id"] for x in w.get("/v1/returns", params={"order_id": b["order_id"]}).json()["items"]] == [
        b["id"]
    ]
    assert [x["id"] for x in w.get("/v1/returns", params={"warehouse": w.wh["pl"]}).json()["items"]] == []
    ops = w.get("/v1/returns", w.operator, params={"warehouse": w.wh["de"], "limit": 500}).json()["items"]
    assert {a["id"], b["id"]} <= {x["id"] for x in ops}
    lodz = keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR, "Lodz 3PL"), [w.wh["pl"]])
    assert not {x["id"] for x in w.get("/v1/returns", lodz, params={"limit": 500}).json()["items"]} & {
        a["id"],
        b["id"],
    }
    assert not {
        x["id"] for x in w.get("/v1/returns", w.other_seller, params={"limit": 500}).json()["items"]
    } & {a["id"], b["id"]}
    assert w.get("/v1/returns", params={"status": "NOPE"}).status_code == 422
