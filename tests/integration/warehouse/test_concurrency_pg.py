"""Several processes against committed data on PostgreSQL: no oversell, no double reservation, no deadlock,
one outcome for cancel racing ship, nothing half-written when a worker dies mid-transaction."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kernel.db import Database
from kernel.identity import Role, TenantKind, create_tenant
from tests.integration.warehouse import commands, pg_workers
from warehouse import tables as t
from warehouse.audit import audit
from warehouse.scope import Scope

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    url = os.environ["XB_TEST_DATABASE_URL"]
    with ProcessPoolExecutor(max_workers=6, mp_context=multiprocessing.get_context("spawn")) as ex:
        list(ex.map(pg_workers.warm, [url] * 12))
        yield ex


def _seed(db: Database, stock: dict[str, int], sites: int = 1) -> tuple[str, str]:
    """A fresh seller with `stock` units of each SKU in each of `sites` fresh warehouses, committed."""
    now = pg_workers.NOW
    codes = ["C" + secrets.token_hex(4).upper() for _ in range(sites)]
    admin = Scope("tn_platform", Role.ADMIN)
    with db.session() as s:
        for code in codes:
            commands.warehouse(s, code, "DE", 51.4, 6.8, now)
        seller = str(create_tenant(s, "racer", TenantKind.SELLER, now)["id"])
        for sku in stock:
            commands.sku(s, seller, sku, now)
        for code in codes:
            commands.stock_in(s, admin, seller, code, [{"sku": k, "qty": q} for k, q in stock.items()], now)
    return seller, codes[0]


def _reserved(db: Database, seller: str) -> dict[str, int]:
    with db.session() as s:
        rows = s.execute(
            select(t.balances.c.sku, func.sum(t.balances.c.reserved))
            .where(t.balances.c.seller_id == seller)
            .group_by(t.balances.c.sku)
        ).all()
    return {sku: int(q) for sku, q in rows}


def _clean(db: Database, seller: str) -> None:
    with db.session() as s:
        assert audit(s, [seller]) == []


def test_stock_of_one_and_fifty_parallel_orders_gives_one_success(
    database: Database, pool: ProcessPoolExecutor
) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller, _ = _seed(database, {"LAST": 1})
    start = time.time() + 1.0
    results = list(
        pool.map(
            pg_workers.place_order,
            [url] * 50,
            [seller] * 50,
            [f"R{i}" for i in range(50)],
            [[("LAST", 1)]] * 50,
            [start] * 50,
        )
    )
    assert not [r for r in results if r.startswith("error")], results
    assert sum(r.startswith("ok:") for r in results) == 1
    assert sum(r.startswith("409:") for r in results) == 49
    assert _reserved(database, seller) == {"LAST": 1}
    with database.session() as s:
        assert (
            s.execute(
                select(func.count()).select_from(t.orders).where(t.orders.c.seller_id == seller)
            ).scalar_one()
            == 1
        )
    _clean(database, seller)


def test_split_orders_racing_over_three_warehouses_take_exactly_the_stock(
    database: Database, pool: ProcessPoolExecutor
) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller, _ = _seed(database, {"S": 2}, sites=3)  # 6 units, 2 a warehouse: every order of 3 splits
    n = 12
    start = time.time() + 1.0
    results = list(
        pool.map(
            pg_workers.place_order,
            [url] * n,
            [seller] * n,
            [f"SP{i}" for i in range(n)],
            [[("S", 3)]] * n,
            [start] * n,
        )
    )
    assert not [r for r in results if r.startswith("error")], results
    assert sum(r.startswith("ok:") for r in results) == 2, results
    assert sum(r.startswith("409:") for r in results) == n - 2
    assert _reserved(database, seller) == {"S": 6}
    with database.session() as s:
        per_order = s.execute(
            select(t.reservations.c.order_id, func.sum(t.reservations.c.qty), func.count())
            .join(t.orders, t.orders.c.id == t.reservations.c.order_id)
            .where(t.orders.c.seller_id == seller)
            .group_by(t.reservations.c.order_id)
        ).all()
    assert sorted((int(q), int(c)) for _, q, c in per_order) == [(3, 2), (3, 2)]  # each split in two
    _clean(database, seller)


def test_same_order_ref_ten_times_without_a_key_is_one_order(
    database: Database, pool: ProcessPoolExecutor
) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller, _ = _seed(database, {"JAM": 100})
    start = time.time() + 1.0
    results = list(
        pool.map(
            pg_workers.place_order,
            [url] * 10,
            [seller] * 10,
            ["DUP"] * 10,
            [[("JAM", 4)]] * 10,
            [start] * 10,
        )
    )
    assert not [r for r in results if r.startswith("error")], results
    assert sum(r.startswith("ok:") for r in results) == 1, results
    assert [r for r in results if not r.startswith("ok:")] == [
        "409:order DUP exists already for this seller"
    ] * 9
    assert _reserved(database, seller) == {"JAM": 4}
    _clean(database, seller)


def test_same_order_ten_times_with_one_key_reserves_once(
    database: Database, pool: ProcessPoolExecutor
) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller, _ = _seed(database, {"TEA": 10})
    body = {"order_ref": "IDEM", "ship_to": {"country": "DE"}, "lines": [{"sku": "TEA", "qty": 3}]}
    start = time.time() + 1.0
    results = list(
        pool.map(
            pg_workers.place_idempotent,
            [url] * 10,
            [seller] * 10,
            ["same-key"] * 10,
            [body] * 10,
            [start] * 10,
        )
    )
    assert {status for status, _ in results} == {201}, results
    assert len({oid for _, oid in results}) == 1
    assert _reserved(database, seller) == {"TEA": 3}
    _clean(database, seller)


def test_opposite_line_orders_neither_deadlock_nor_fail(
    database: Database, pool: ProcessPoolExecutor
) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller, _ = _seed(database, {"A": 100, "B": 100})
    n = 40
    lines = [[("A", 1), ("B", 1)] if i % 2 else [("B", 1), ("A", 1)] for i in range(n)]
    start = time.time() + 1.0
    results = list(
        pool.map(
            pg_workers.place_order, [url] * n, [seller] * n, [f"AB{i}" for i in range(n)], lines, [start] * n
        )
    )
    assert all(r.startswith("ok:") for r in results), [r for r in results if not r.startswith("ok:")]
    assert _reserved(database, seller) == {"A": n, "B": n}
    _clean(database, seller)


def test_cancel_racing_ship_ends_in_one_outcome(database: Database, pool: ProcessPoolExecutor) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller, _ = _seed(database, {"X": 50})
    orders = [pg_workers.place_order(url, seller, f"CS{i}", [("X", 2)]) for i in range(12)]
    ids = [o.removeprefix("ok:") for o in orders]
    start = time.time() + 1.0
    actions = [a for _ in ids for a in ("cancel", "ship")]
    targets = [oid for oid in ids for _ in range(2)]
    results = list(
        pool.map(
            pg_workers.order_action,
            [url] * len(targets),
            [seller] * len(targets),
            targets,
            actions,
            [start] * len(targets),
        )
    )
    assert not [r for r in results if r.startswith("error")], results
    for i, oid in enumerate(ids):
        cancel, ship = results[2 * i], results[2 * i + 1]
        assert sorted([cancel[:3], ship[:3]]) == ["409", "ok:"], (oid, cancel, ship)
    with database.session() as s:
        statuses = dict(
            s.execute(select(t.orders.c.id, t.orders.c.status).where(t.orders.c.id.in_(ids))).all()
        )
        shipped = sum(1 for st in statuses.values() if st == "SHIPPED")
        on_hand = s.execute(
            select(func.sum(t.balances.c.on_hand)).where(
                t.balances.c.seller_id == seller, t.balances.c.zone == "pick"
            )
        ).scalar_one()
    assert set(statuses.values()) <= {"SHIPPED", "CANCELLED"}
    assert int(on_hand) == 50 - 2 * shipped
    assert _reserved(database, seller) == {"X": 0}
    _clean(database, seller)


def test_worker_killed_mid_transaction_leaves_nothing_half_written(database: Database) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    seller, _ = _seed(database, {"K": 3})
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.warehouse.pg_workers", url, seller, "K", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY "), line
        order_id = line.split()[1]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with database.session() as s:
        assert s.execute(select(t.orders.c.id).where(t.orders.c.id == order_id)).first() is None
        assert (
            s.execute(select(t.reservations.c.id).where(t.reservations.c.order_id == order_id)).first()
            is None
        )
    assert _reserved(database, seller) == {"K": 0}
    # the dead worker's row locks are gone: all three units can be sold now
    assert pg_workers.place_order(url, seller, "AFTER", [("K", 3)]).startswith("ok:")
    _clean(database, seller)
