"""Replenishment suggestions (sales velocity against transit times from Yibin) and warehouse volumes."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kernel.clock import FixedClock
from tests.integration.warehouse.conftest import World
from warehouse.ports import FakeTransitTimes, TransitOption
from warehouse.scheduled import replenishment_job


def test_replenishment_picks_the_cheapest_corridor_that_arrives_in_time(
    world: World, clock: FixedClock
) -> None:
    w = world
    w.sku("FAST")
    w.sku("SLOW")
    w.stock("de", [{"sku": "FAST", "qty": 100}, {"sku": "SLOW", "qty": 100}])
    # 28 days of sales: FAST sells 56 (2/day, 44 left = 22 days), SLOW sells 7 (0.25/day, 93 left = 372 days)
    for i in range(28):
        lines: list[dict[str, Any]] = [{"sku": "FAST", "qty": 2}]
        if i % 4 == 0:
            lines.append({"sku": "SLOW", "qty": 1})
        r = w.post("/v1/orders", {"order_ref": f"V{i}", "ship_to": {"country": "DE"}, "lines": lines})
        assert r.status_code == 201, r.text
        assert w.post(f"/v1/orders/{r.json()['id']}/ship", {}, w.operator).status_code == 200
    transit = FakeTransitTimes(
        options={
            ("YIB", "DUI"): [
                TransitOption("china-europe-rail", 12 * 24.0, Decimal("4200")),
                TransitOption("yangtze-sea", 40 * 24.0, Decimal("2100")),
                TransitOption("air", 3 * 24.0, Decimal("15800")),
            ]
        }
    )
    clock.advance(timedelta(days=1))
    out = replenishment_job(w.container.db, clock, transit)
    mine = {r["sku"]: r for r in out if r["seller_id"] == w.seller_id}
    fast, slow = mine["FAST"], mine["SLOW"]
    assert fast["daily_demand"] == "2.000" and fast["stock"] == 44
    # stock-out in 22 days, 7 days' safety: sea (40 days) is too late, rail (12 days) is the cheapest in time
    assert fast["corridor"] == "china-europe-rail"
    stockout = datetime.fromisoformat(fast["stockout_at"])
    ship_by = datetime.fromisoformat(fast["ship_by"])
    assert stockout - ship_by == timedelta(days=7 + 12)
    assert slow["corridor"] == "yangtze-sea"  # a year of cover: the slow, cheap corridor will do
    assert fast["suggested_qty"] == 2 * 60 - 44
    # the seller sees its suggestions over HTTP; another seller sees none of them
    listed = w.get("/v1/replenishment").json()
    assert {r["sku"] for r in listed} == {"FAST", "SLOW"}
    assert w.get("/v1/replenishment", w.other_seller).json() == []
    # volumes per warehouse and month
    stats = w.get("/v1/stats/warehouses").json()
    de = next(s for s in stats if s["warehouse"] == w.wh["de"])
    assert de["by_month"] == [{"month": "2027-03", "units_shipped": 63, "orders_shipped": 28}]
    assert de["stock"]["pick"] == 200 - 63
    w.check()
