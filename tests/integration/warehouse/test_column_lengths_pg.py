"""Strings longer than their column are refused at the edge (422 problem), not by PostgreSQL (a 500), and a
string exactly as long as its column is stored whole. SQLite does not enforce lengths: PostgreSQL only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.warehouse.conftest import World

pytestmark = pytest.mark.postgres


def _problem(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text


def _shipped(w: World, ref: str, currency: str = "USD") -> str:
    body = {
        "order_ref": ref,
        "ship_to": {"country": "DE"},
        "currency": currency,
        "lines": [{"sku": "CUP", "qty": 2}],
    }
    r = w.post("/v1/orders", body)
    assert r.status_code == 201, r.text
    r = w.post(f"/v1/orders/{r.json()['id']}/ship", {}, w.operator)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def test_a_lot_longer_than_its_column_is_a_422_and_a_full_length_one_is_stored(world: World) -> None:
    w = world
    w.sku("WINE", lot_tracked=True)
    too_long = {"warehouse": w.wh["de"], "lines": [{"sku": "WINE", "qty": 1, "lot": "L" * 65}]}
    _problem(w.post("/v1/inbound", too_long), "lot")
    full = "L" * 64
    w.stock("de", [{"sku": "WINE", "qty": 3, "lot": full}])
    assert w.inventory()[(w.wh["de"], "WINE", full)]["on_hand"] == 3


def test_a_waybill_number_longer_than_its_column_is_a_422(world: World) -> None:
    w = world
    w.sku("TEA")
    line = [{"sku": "TEA", "qty": 1}]
    _problem(
        w.post("/v1/inbound", {"warehouse": w.wh["de"], "waybill_no": "W" * 41, "lines": line}), "waybill_no"
    )
    r = w.post("/v1/inbound", {"warehouse": w.wh["de"], "waybill_no": "W" * 40, "lines": line})
    assert r.status_code == 201, r.text
    assert r.json()["waybill_no"] == "W" * 40


def test_a_return_reason_longer_than_its_column_is_a_422_and_a_full_length_one_is_stored(
    world: World,
) -> None:
    w = world
    w.sku("CUP")
    w.stock("de", [{"sku": "CUP", "qty": 10}])
    order_id = _shipped(w, "LEN-R")
    too_long = {"order_id": order_id, "lines": [{"sku": "CUP", "qty": 1, "reason": "r" * 201}]}
    _problem(w.post("/v1/returns", too_long), "reason")
    r = w.post(
        "/v1/returns", {"order_id": order_id, "lines": [{"sku": "CUP", "qty": 1, "reason": "r" * 200}]}
    )
    assert r.status_code == 201, r.text
    assert r.json()["lines"][0]["reason"] == "r" * 200


def test_a_currency_longer_than_three_letters_is_a_422_and_three_are_stored(world: World) -> None:
    w = world
    w.sku("CUP")
    w.stock("de", [{"sku": "CUP", "qty": 10}])
    body = {
        "order_ref": "LEN-C",
        "ship_to": {"country": "DE"},
        "currency": "EURO",
        "lines": [{"sku": "CUP", "qty": 1}],
    }
    _problem(w.post("/v1/orders", body), "currency")
    _problem(w.post("/v1/warehouses", {**_site("LENC"), "currency": "EURO"}, w.admin), "currency")
    order_id = _shipped(w, "LEN-C", currency="EUR")
    rma = w.post("/v1/returns", {"order_id": order_id, "lines": [{"sku": "CUP", "qty": 1}]}).json()
    r = w.post(
        f"/v1/returns/{rma['id']}/receipts",
        {"warehouse": w.wh["de"], "lines": [{"sku": "CUP", "qty": 1}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    r = w.post(f"/v1/returns/{rma['id']}/refund", {})
    assert r.status_code == 201, r.text
    assert r.json()["amount"]["currency"] == "EUR"


def _site(code: str) -> dict[str, Any]:
    return {"code": code, "name": "length test", "country": "DE", "lat": 51.4, "lon": 6.8}
