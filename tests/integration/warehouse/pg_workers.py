"""Run in separate processes (spawn) by the PostgreSQL concurrency tests; each has its own engine."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from api import idempotency
from api.bootstrap import build
from kernel.clock import FixedClock
from kernel.db import Database, make_engine
from kernel.errors import DomainError
from kernel.identity import Principal, Role
from kernel.settings import Settings
from tests.integration.warehouse import commands
from warehouse.orders import CancelOrder, ShipOrder, allocate_order, cancel_order, ship_order
from warehouse.scope import Scope
from warehouse.views import allocated_order_view, get_order

NOW = datetime(2027, 3, 1, tzinfo=UTC)
_DB: Database | None = None


def _db(url: str) -> Database:
    global _DB
    if _DB is None:
        _DB = Database(make_engine(url, pool_size=2))
    return _DB


def warm(url: str) -> int:
    """Open a connection so that the timed work does not include process start-up."""
    with _db(url).session() as s:
        s.connection()
    return 1


def _seller(seller_id: str) -> Scope:
    return Scope(seller_id, Role.SELLER)


def place_order(url: str, seller_id: str, ref: str, lines: list[tuple[str, int]], start_at: float = 0) -> str:
    while start_at and time.time() < start_at:  # line up the racers
        time.sleep(0.001)
    body = {"order_ref": ref, "ship_to": {"country": "DE"}, "lines": [{"sku": s, "qty": q} for s, q in lines]}
    try:
        with _db(url).session() as s:
            out = allocate_order(s, _seller(seller_id), commands.order(body), NOW)
        return "ok:" + out.id
    except DomainError as exc:
        return f"{exc.status}:{exc.detail}"
    except Exception as exc:  # a deadlock or any other database error is a test failure, reported as text
        return f"error:{type(exc).__name__}:{exc}"


def place_idempotent(
    url: str, seller_id: str, key: str, body: dict[str, Any], start_at: float
) -> tuple[int, str]:
    while time.time() < start_at:
        time.sleep(0.001)
    container = build(Settings(database_url=url), clock=FixedClock(NOW), db=_db(url))
    principal = Principal("key_test", seller_id, Role.SELLER)
    try:
        resp = idempotency.run(
            container,
            principal,
            key,
            "orders",
            body,
            lambda s: (
                201,
                allocated_order_view(allocate_order(s, _seller(seller_id), commands.order(body), NOW)),
            ),
        )
    except DomainError as exc:
        return exc.status, exc.detail
    return resp.status_code, str(json.loads(bytes(resp.body))["id"])


def order_action(url: str, seller_id: str, order_id: str, action: str, start_at: float) -> str:
    while time.time() < start_at:
        time.sleep(0.001)
    try:
        with _db(url).session() as s:
            if action == "cancel":
                done = cancel_order(s, _seller(seller_id), CancelOrder(order_id), NOW)
            else:
                done = ship_order(s, _seller(seller_id), ShipOrder(order_id), NOW)
            status = get_order(s, _seller(seller_id), done)["status"]
        return "ok:" + status
    except DomainError as exc:
        return f"{exc.status}:{exc.detail}"
    except Exception as exc:
        return f"error:{type(exc).__name__}:{exc}"


def hang_mid_transaction(url: str, seller_id: str, sku: str, qty: int) -> None:
    """Reserve inside a transaction, say READY, then wait forever: the test kills this process (SIGKILL)."""
    db = _db(url)
    session = db.sessions()
    body = {"order_ref": "HANG-1", "ship_to": {"country": "DE"}, "lines": [{"sku": sku, "qty": qty}]}
    out = allocate_order(session, _seller(seller_id), commands.order(body), NOW)
    session.flush()
    print("READY " + out.id, flush=True)
    time.sleep(600)


if __name__ == "__main__":
    hang_mid_transaction(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
