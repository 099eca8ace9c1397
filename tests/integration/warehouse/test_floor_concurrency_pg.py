"""Several processes on PostgreSQL against picked and partly shipped orders and expiring lots: one outcome
per race, no deadlock, the books straight afterwards, and no expired unit shipped."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kernel.db import Database
from kernel.identity import Role, TenantKind, create_tenant
from tests.integration.warehouse import commands, floor_workers, pg_workers
from warehouse import tables as t
from warehouse.audit import audit
from warehouse.orders import ShipOrder, allocate_order, ship_order
from warehouse.picking import PickRequest
from warehouse.picking_service import PickOrder, pick_order
from warehouse.scope import Scope

pytestmark = pytest.mark.postgres
NOW = pg_workers.NOW


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    url = os.environ["XB_TEST_DATABASE_URL"]
    with ProcessPoolExecutor(max_workers=6, mp_context=multiprocessing.get_context("spawn")) as ex:
        list(ex.map(pg_workers.warm, [url] * 12))
        yield ex


def _seed(db: Database, sku: str, lots: dict[str, tuple[int, str | None]]) -> str:
    """A fresh seller with lots {lot: (qty, expires_on)} of one SKU in a fresh warehouse, committed."""
    code = "F" + secrets.token_hex(4).upper()
    admin = Scope("tn_platform", Role.ADMIN)
    tracked = any(lot for lot in lots)
    with db.session() as s:
        commands.warehouse(s, code, "DE", 51.4, 6.8, NOW)
        seller = str(create_tenant(s, "floor racer", TenantKind.SELLER, NOW)["id"])
        commands.sku(s, seller, sku, NOW, lot_tracked=tracked)
        lines = [
            {"sku": sku, "qty": q, **({"lot": lot, "expires_on": e} if lot else {})}
            for lot, (q, e) in lots.items()
        ]
        commands.stock_in(s, admin, seller, code, lines, NOW)
    return seller


def _clean(db: Database, seller: str) -> None:
    with db.session() as s:
        assert audit(s, [seller]) == []


def test_ship_of_picked_units_racing_cancel_ends_in_one_outcome(
    database: Database, pool: ProcessPoolExecutor
) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller = _seed(database, "P", {"": (60, None)})
    ids = [pg_workers.place_order(url, seller, f"PS{i}", [("P", 4)]).removeprefix("ok:") for i in range(10)]
    with database.session() as s:
        for oid in ids:
            pick_order(s, Scope("tn_platform", Role.ADMIN), PickOrder(oid, (PickRequest("P", 2),)), NOW)
    start, at = time.time() + 1.0, NOW.isoformat()
    actions = [a for _ in ids for a in ("cancel", "ship", "pick:P:2")]
    targets = [oid for oid in ids for _ in range(3)]
    n = len(targets)
    results = list(
        pool.map(floor_workers.floor_action, [url] * n, [seller] * n, targets, actions, [at] * n, [start] * n)
    )
    assert not [r for r in results if r.startswith("error")], results
    with database.session() as s:
        r = t.reservations.c
        rows = s.execute(
            select(r.order_id, r.status, func.sum(r.qty))
            .where(r.order_id.in_(ids))
            .group_by(r.order_id, r.status)
        ).all()
        statuses = dict(
            s.execute(select(t.orders.c.id, t.orders.c.status).where(t.orders.c.id.in_(ids))).all()
        )
        on_hand = s.execute(
            select(func.sum(t.balances.c.on_hand)).where(
                t.balances.c.seller_id == seller, t.balances.c.zone == "pick"
            )
        ).scalar_one()
    per: dict[str, dict[str, int]] = {oid: {} for oid in ids}
    for oid, st, q in rows:
        per[oid][st] = int(q)
    shipped = 0
    for oid in ids:
        states = per[oid]
        assert sum(states.values()) == 4, (oid, states)
        # every outcome is one of the orders the three calls can produce in some sequence
        assert statuses[oid] in {"CANCELLED", "SHIPPED", "PARTLY_SHIPPED", "PICKING"}, statuses[oid]
        if statuses[oid] == "CANCELLED":
            assert states == {"RELEASED": 4}
        if statuses[oid] == "SHIPPED":
            assert states.get("SHIPPED", 0) in (2, 4) and "ACTIVE" not in states and "PICKED" not in states
        shipped += states.get("SHIPPED", 0)
    assert int(on_hand) == 60 - shipped
    _clean(database, seller)


def test_expiry_job_racing_new_orders_and_shipments(database: Database, pool: ProcessPoolExecutor) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    expires = (NOW + timedelta(days=2)).date().isoformat()
    fresh = (NOW + timedelta(days=200)).date().isoformat()
    seller = _seed(database, "M", {"OLD": (16, expires), "NEW": (20, fresh)})
    ids = [pg_workers.place_order(url, seller, f"EX{i}", [("M", 2)]).removeprefix("ok:") for i in range(8)]
    later = (NOW + timedelta(days=3)).isoformat()
    start = time.time() + 1.0
    # one job in a single transaction, one committing every 3 orders
    jobs = [pool.submit(floor_workers.expiry_run, url, later, start, batch) for batch in (0, 3)]
    news = [
        pool.submit(floor_workers.order_at, url, seller, f"NEW{i}", "M", 2, later, start) for i in range(6)
    ]
    ships = [
        pool.submit(floor_workers.floor_action, url, seller, oid, "ship", later, start) for oid in ids[:4]
    ]
    results = [f.result() for f in jobs + news + ships]
    assert not [r for r in results if r.startswith("error")], results
    # the shipments either refused expired stock or shipped after the job moved it to the fresh lot
    for r in (f.result() for f in ships):
        assert r.startswith("ok:SHIPPED") or (r.startswith("409") and "expired" in r), r
    floor_workers.expiry_run(url, later, 0)  # anything deferred by a race is settled on the next run
    with database.session() as s:
        lg = t.ledger.c
        shipped_old = s.execute(
            select(func.coalesce(func.sum(lg.qty), 0))
            .join(t.movements, t.movements.c.id == lg.movement_id)
            .where(
                lg.seller_id == seller,
                lg.lot == "OLD",
                lg.zone == "customer",
            )
        ).scalar_one()
        b = t.balances.c
        old_pick = s.execute(
            select(b.on_hand, b.reserved).where(b.seller_id == seller, b.lot == "OLD", b.zone == "pick")
        ).one()
        old_quarantine = s.execute(
            select(b.on_hand).where(b.seller_id == seller, b.lot == "OLD", b.zone == "quarantine")
        ).scalar_one()
    assert int(shipped_old) == 0  # no expired unit left for a customer
    assert (old_pick.on_hand, old_pick.reserved) == (0, 0) and old_quarantine == 16
    _clean(database, seller)


def test_two_operators_planning_the_same_day_get_one_run(
    database: Database, pool: ProcessPoolExecutor
) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller = _seed(database, "D", {"": (10, None)})
    with database.session() as s:
        code = (
            s.execute(select(t.balances.c.warehouse).where(t.balances.c.seller_id == seller))
            .scalars()
            .first()
        )
    for i, (lat, lon) in enumerate([(51.45, 6.8), (51.48, 7.0), (51.23, 6.78)]):
        body = {
            "order_ref": f"DR{i}",
            "ship_to": {"country": "DE", "lat": lat, "lon": lon},
            "lines": [{"sku": "D", "qty": 1}],
        }
        with database.session() as s:
            oid = allocate_order(s, Scope(seller, Role.SELLER), commands.order(body), NOW).id
            ship_order(s, Scope(seller, Role.SELLER), ShipOrder(oid), NOW)
    start, day = time.time() + 1.0, NOW.date().isoformat()
    results = list(pool.map(floor_workers.plan_day, [url] * 4, [code] * 4, [day] * 4, [start] * 4))
    assert sorted(r[:3] for r in results) == ["409", "409", "409", "ok:"], results
    with database.session() as s:
        runs = s.execute(select(func.count()).where(t.delivery_runs.c.warehouse == code)).scalar_one()
        stops = s.execute(
            select(func.count())
            .select_from(
                t.delivery_stops.join(t.delivery_runs, t.delivery_runs.c.id == t.delivery_stops.c.run_id)
            )
            .where(t.delivery_runs.c.warehouse == code)
        ).scalar_one()
    assert (runs, stops) == (1, 3)
    # four operators re-plan the day at once: one new current run, the first one superseded by it, three 409s
    start = time.time() + 1.0
    again = list(pool.map(floor_workers.plan_day, [url] * 4, [code] * 4, [day] * 4, [start] * 4, [True] * 4))
    assert sorted(r[:3] for r in again) == ["409", "409", "409", "ok:"], again
    first = next(r for r in results if r.startswith("ok:"))[3:]
    second = next(r for r in again if r.startswith("ok:"))[3:]
    with database.session() as s:
        c = t.delivery_runs.c
        rows = s.execute(select(c.id, c.superseded_by).where(c.warehouse == code)).all()
    assert sorted(rows, key=lambda x: x.superseded_by is None) == [(first, second), (second, None)]
