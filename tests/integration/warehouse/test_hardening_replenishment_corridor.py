"""A replenishment suggestion's corridor chain fits its column on PostgreSQL (SQLite enforces no lengths):
the scheduled job and `POST /v1/replenishment/run` stored 118-character chains into VARCHAR(80) and failed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from kernel.clock import FixedClock
from tests.integration.warehouse.conftest import World
from warehouse.ports import FakeTransitTimes, TransitOption
from warehouse.scheduled import replenishment_job
from warehouse.tables import replenishment

# A chain of three real corridors, as the transit port writes it (" + " between distinct corridors): 118+.
CHAIN = " + ".join(
    (
        "China-Europe Railway Express (Chengdu 'Rong-Ou', via Alashankou)",
        "Yangtze River feeder (Yibin - Chongqing)",
        "Road (last mile, Duisburg)",
    )
)


def _sales(w: World, sku: str) -> None:
    w.sku(sku)
    w.stock("de", [{"sku": sku, "qty": 100}])
    for i in range(7):
        r = w.post("/v1/orders", {"order_ref": f"{sku}-{i}", "ship_to": {"country": "DE"}, "lines": [
            {"sku": sku, "qty": 3}
        ]})  # fmt: skip
        assert r.status_code == 201, r.text
        assert w.post(f"/v1/orders/{r.json()['id']}/ship", {}, w.operator).status_code == 200


def test_the_replenishment_job_stores_a_long_corridor_chain(world: World, clock: FixedClock) -> None:
    assert len(CHAIN) > 118
    _sales(world, "CHAIN")
    transit = FakeTransitTimes(options={("YIB", "DUI"): [TransitOption(CHAIN, 12 * 24.0, Decimal("4200"))]})
    clock.advance(timedelta(days=1))
    out = replenishment_job(world.container.db, clock, transit)
    mine = [r for r in out if r["seller_id"] == world.seller_id]
    assert [r["corridor"] for r in mine] == [CHAIN]
    with world.container.db.session() as s:
        stored = s.execute(
            select(replenishment.c.corridor).where(replenishment.c.seller_id == world.seller_id)
        ).scalars()
        assert list(stored) == [CHAIN]


def test_post_replenishment_run_answers_with_the_network_s_corridors(world: World, clock: FixedClock) -> None:
    _sales(world, "RUN")
    clock.advance(timedelta(days=1))
    r = world.post("/v1/replenishment/run", {}, world.admin)
    assert r.status_code == 200, r.text
    mine = [row for row in r.json() if row["seller_id"] == world.seller_id]
    assert [row["sku"] for row in mine] == ["RUN"] and mine[0]["corridor"]
