"""The expiry job under interference: a seller whose shelf changed between the job's read and its write is
deferred alone (its own savepoint), and a run commits in batches, each all or nothing, resumed by the next
run after an interruption. Deterministic interleavings, so they run on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import FixedClock
from kernel.db import Database
from kernel.identity import Role, TenantKind
from tests.integration.warehouse.conftest import World
from warehouse import expiry
from warehouse import tables as t
from warehouse.scheduled import expiry_job


def _lots(w: World, lots: dict[str, tuple[int, date]]) -> None:
    w.stock(
        "de",
        [{"sku": "MILK", "qty": q, "lot": lot, "expires_on": str(exp)} for lot, (q, exp) in lots.items()],
    )


def test_a_seller_whose_shelf_changed_mid_run_is_deferred_alone(
    world: World, keys: Any, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = world
    b_id = keys.tenant(TenantKind.SELLER, "Yibin Chili Co")
    b = replace(world, seller=keys.headers(Role.SELLER, b_id), seller_id=b_id)
    soon = clock.now().date() + timedelta(days=2)
    for w in (a, b):
        w.sku("MILK", lot_tracked=True)
    # A's two expired lots move in one movement: OLD1 is written first, so a failure on OLD2 comes after
    # a write that only the seller's savepoint can take back
    _lots(a, {"OLD1": (4, soon), "OLD2": (5, soon)})
    _lots(b, {"OLD": (3, soon)})
    clock.advance(timedelta(days=3))
    de = a.wh["de"]
    real_read = expiry.read_expired_shelf

    def read_then_count(db: Database, today: date) -> dict[str, list[Any]]:
        shelf = real_read(db, today)
        # between the job's read and its write, an operator counts A's OLD2 and finds 2 units missing
        body = {
            "warehouse": de,
            "seller_id": a.seller_id,
            "lines": [{"sku": "MILK", "qty": 3, "lot": "OLD2"}],
        }
        r = a.post("/v1/cycle-counts", body, a.operator)
        assert r.status_code == 201, r.text
        return shelf

    monkeypatch.setattr(expiry, "read_expired_shelf", read_then_count)
    out = expiry_job(a.container.db, clock)
    monkeypatch.undo()
    assert a.seller_id in out["deferred_sellers"] and b.seller_id not in out["deferred_sellers"]
    assert not [x for x in out["quarantined"] if x["seller_id"] == a.seller_id]
    assert [(x["lot"], x["qty"]) for x in out["quarantined"] if x["seller_id"] == b.seller_id] == [("OLD", 3)]
    # A: nothing of the job's movement written, the count stands; B: its expired lot in quarantine
    inv_a, inv_b = a.inventory(), b.inventory()
    assert (inv_a[(de, "MILK", "OLD1")]["on_hand"], inv_a[(de, "MILK", "OLD1")]["quarantine"]) == (4, 0)
    assert (inv_a[(de, "MILK", "OLD2")]["on_hand"], inv_a[(de, "MILK", "OLD2")]["quarantine"]) == (3, 0)
    assert (inv_b[(de, "MILK", "OLD")]["on_hand"], inv_b[(de, "MILK", "OLD")]["quarantine"]) == (0, 3)
    a.check()
    b.check()
    # the next run settles A with what is on its shelf now
    again = expiry_job(a.container.db, clock)
    assert a.seller_id not in again["deferred_sellers"]
    mine = sorted((x["lot"], x["qty"]) for x in again["quarantined"] if x["seller_id"] == a.seller_id)
    assert mine == [("OLD1", 4), ("OLD2", 3)]
    inv_a = a.inventory()
    assert (inv_a[(de, "MILK", "OLD1")]["on_hand"], inv_a[(de, "MILK", "OLD1")]["quarantine"]) == (0, 4)
    assert (inv_a[(de, "MILK", "OLD2")]["on_hand"], inv_a[(de, "MILK", "OLD2")]["quarantine"]) == (0, 3)
    a.check()
    b.check()


def _held(session: Session, order_id: str) -> list[tuple[str, str, int]]:
    r = t.reservations.c
    rows = session.execute(select(r.lot, r.status, r.qty).where(r.order_id == order_id).order_by(r.id))
    return [(x.lot, x.status, int(x.qty)) for x in rows]


def test_a_run_commits_in_batches_and_an_interrupted_run_is_resumed(
    world: World, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    db = w.container.db
    today = clock.now().date()
    w.sku("MILK", lot_tracked=True)
    _lots(w, {"OLD": (10, today + timedelta(days=2)), "NEW": (10, today + timedelta(days=90))})
    ids = []
    for i in range(5):
        body = {"order_ref": f"batch-{i}", "ship_to": {"country": "DE"}, "lines": [{"sku": "MILK", "qty": 2}]}
        r = w.post("/v1/orders", body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    ids.sort()  # the job's order
    clock.advance(timedelta(days=3))
    explanation = {i: w.get(f"/v1/orders/{i}").json()["explanation"] for i in ids}
    # the test database is shared: this run takes this world's orders only
    real_read = expiry.read_orders_on_expired_lots
    monkeypatch.setattr(
        expiry, "read_orders_on_expired_lots", lambda d, day: [x for x in real_read(d, day) if x in ids]
    )
    batches: list[list[str]] = []
    real_batch = expiry.reallocate_orders

    def spy(session: Session, order_ids: list[str], now: datetime) -> Any:
        batches.append(list(order_ids))
        return real_batch(session, order_ids, now)

    real_order = expiry.reallocate_order

    def stop_after_fourth(session: Session, order_id: str, now: datetime) -> Any:
        out = real_order(session, order_id, now)
        if order_id == ids[3]:  # the worker stops once the 4th order is written, before its batch commits
            raise RuntimeError("worker stopped")
        return out

    monkeypatch.setattr(expiry, "reallocate_orders", spy)
    monkeypatch.setattr(expiry, "reallocate_order", stop_after_fourth)
    with pytest.raises(RuntimeError, match="worker stopped"):
        expiry.run_expiry(db, clock.now(), batch_size=2)
    assert batches == [ids[0:2], ids[2:4]]
    with db.session() as s:
        # the first batch is committed; the second (3rd and 4th orders) is not there at all, nor the 5th
        for i in ids[:2]:
            assert _held(s, i) == [("NEW", "ACTIVE", 2)]
        for i in ids[2:]:
            assert _held(s, i) == [("OLD", "ACTIVE", 2)]
    for i in ids[2:]:
        assert w.get(f"/v1/orders/{i}").json()["explanation"] == explanation[i]
    inv = w.inventory()
    old, new = inv[(w.wh["de"], "MILK", "OLD")], inv[(w.wh["de"], "MILK", "NEW")]
    assert (old["on_hand"], old["reserved"], old["quarantine"]) == (10, 6, 0)  # quarantine not reached
    assert (new["on_hand"], new["reserved"]) == (10, 4)
    w.check()

    # running again finishes the job: the orders left, then the quarantine
    monkeypatch.setattr(expiry, "reallocate_order", real_order)
    batches.clear()
    out = expiry.run_expiry(db, clock.now(), batch_size=2)
    assert batches == [ids[2:4], ids[4:]]
    assert sorted(x["order_id"] for x in out["reservations"]) == ids[2:] and out["deferred"] == []
    assert out["batches"] >= 3  # two of orders, at least one of sellers
    with db.session() as s:
        for i in ids:
            assert _held(s, i) == [("NEW", "ACTIVE", 2)]
    for i in ids:  # each order noted once
        notes = w.get(f"/v1/orders/{i}").json()["explanation"]
        assert len(notes) == len(explanation[i]) + 1 and "re-allocated to lot NEW" in notes[-1]
    inv = w.inventory()
    old, new = inv[(w.wh["de"], "MILK", "OLD")], inv[(w.wh["de"], "MILK", "NEW")]
    assert (old["on_hand"], old["reserved"], old["quarantine"]) == (0, 0, 10)
    assert (new["on_hand"], new["reserved"]) == (10, 10)
    w.check()


def test_expiry_run_batch_size_is_checked(world: World) -> None:
    r = world.post("/v1/expiry/run?batch_size=0", {}, world.admin)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    r = world.post("/v1/expiry/run?batch_size=50", {}, world.admin)
    assert r.status_code == 200 and "deferred_sellers" in r.json(), r.text
