"""A listing loads its page in a fixed number of queries whatever the page's size, and each listed object is
exactly what its own GET shows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from kernel.identity import Role
from tests.integration.warehouse.conftest import World
from warehouse import listings, views
from warehouse.scope import Scope


@contextmanager
def counted_selects(w: World) -> Iterator[list[str]]:
    """The SELECT statements the database runs inside the block."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = w.container.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _order(w: World, ref: str, sku: str, qty: int) -> dict[str, Any]:
    lines = [{"sku": sku, "qty": qty}]
    r = w.post("/v1/orders", {"order_ref": ref, "ship_to": {"country": "DE"}, "lines": lines})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _return(w: World, ref: str, sku: str, qty: int) -> dict[str, Any]:
    """An order shipped from Duisburg and returned there, its parcel received."""
    order = _order(w, ref, sku, qty)
    assert w.post(f"/v1/orders/{order['id']}/ship", {}, w.operator).status_code == 200
    lines = [{"sku": sku, "qty": qty, "reason": "scratched"}]
    r = w.post("/v1/returns", {"order_id": order["id"], "lines": lines})
    assert r.status_code == 201, r.text
    rma = dict(r.json())
    r = w.post(
        f"/v1/returns/{rma['id']}/receipts",
        {"warehouse": w.wh["de"], "lines": [{"sku": sku, "qty": qty}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    return rma


def _listed(w: World, listing: Callable[[Any, Scope, int], Any], scope: Scope, limit: int) -> tuple[Any, int]:
    with w.container.db.read_session() as s, counted_selects(w) as seen:
        return listing(s, scope, limit), len(seen)


def test_orders_list_in_three_queries_for_any_page(world: World) -> None:
    w = world
    w.sku("CUP")
    w.stock("de", [{"sku": "CUP", "qty": 40}])
    w.stock("pl", [{"sku": "CUP", "qty": 40}])
    ids = [_order(w, f"q-{i}", "CUP", 1 + i % 3)["id"] for i in range(6)]
    seller = Scope(w.seller_id, Role.SELLER)
    operator = Scope("op", Role.OPERATOR, tuple(w.wh.values()))
    for scope in (seller, operator):
        for limit in (1, 2, 6):
            listed, queries = _listed(w, lambda s, sc, n: listings.list_orders(s, sc, limit=n), scope, limit)
            page = listed["items"]
            assert (len(page), queries) == (limit, 3)
            assert {o["id"] for o in page} <= set(ids)
            with w.container.db.read_session() as s:
                assert page == [views.get_order(s, scope, o["id"]) for o in page]
            assert listed == w.get("/v1/orders", w.seller, params={"limit": limit}).json()


def test_inbound_list_in_two_queries_for_any_page(world: World) -> None:
    w = world
    w.sku("PLATE")
    w.sku("SAUCER")
    for i in range(4):
        w.stock("de", [{"sku": "PLATE", "qty": 5 + i}, {"sku": "SAUCER", "qty": 1 + i}])
    seller = Scope(w.seller_id, Role.SELLER)
    for limit in (1, 4):
        page, queries = _listed(w, lambda s, sc, n: listings.list_inbound(s, sc, limit=n), seller, limit)
        assert (len(page["items"]), queries) == (limit, 2)
        with w.container.db.read_session() as s:
            assert page["items"] == [views.get_inbound(s, seller, x["id"]) for x in page["items"]]


def test_returns_list_in_six_queries_for_any_page(world: World) -> None:
    w = world
    w.sku("BOWL")
    w.stock("de", [{"sku": "BOWL", "qty": 20}])
    rmas = [_return(w, f"rt-{i}", "BOWL", 1 + i) for i in range(3)]
    # One inspected to grade B: its units wait for refurbishment, which the view computes from loaded rows.
    r = w.post(
        f"/v1/returns/{rmas[0]['id']}/inspections",
        {"lines": [{"sku": "BOWL", "qty": 1, "grade": "B"}]},
        w.operator,
    )
    assert r.status_code == 201, r.text
    seller = Scope(w.seller_id, Role.SELLER)
    for limit in (1, 3):
        page, queries = _listed(w, lambda s, sc, n: listings.list_returns(s, sc, limit=n), seller, limit)
        assert (len(page["items"]), queries) == (limit, 6)
        with w.container.db.read_session() as s:
            assert page["items"] == [views.get_return(s, seller, x["id"]) for x in page["items"]]
    inspected = next(x for x in page["items"] if x["id"] == rmas[0]["id"])
    assert [a["qty"] for a in inspected["awaiting_refurbishment"]] == [1]


def test_orders_page_through_with_next(world: World) -> None:
    w = world
    w.sku("BOWL")
    w.stock("de", [{"sku": "BOWL", "qty": 20}])
    ids = {_order(w, f"p-{i}", "BOWL", 1)["id"] for i in range(5)}
    seen: list[str] = []
    params: dict[str, object] = {"limit": 2}
    while True:
        page = w.get("/v1/orders", w.seller, params=params).json()
        assert set(page) == {"items", "next"}
        seen += [o["id"] for o in page["items"]]
        if page["next"] is None:
            break
        params = {"limit": 2, "cursor": page["next"]}
    assert len(seen) == 5 and set(seen) == ids
