"""Run in separate processes (spawn) by the PostgreSQL tests of picking, partial shipment and expired lots."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from kernel.errors import DomainError
from kernel.identity import Role
from tests.integration.warehouse import commands
from tests.integration.warehouse.pg_workers import _db
from warehouse import delivery_runs, orders, picking_service
from warehouse.expiry import handle_expired_lots, run_expiry
from warehouse.picking import PickRequest
from warehouse.scope import Scope
from warehouse.views import get_order


def _wait(start_at: float) -> None:
    while time.time() < start_at:
        time.sleep(0.001)


def floor_action(url: str, seller_id: str, order_id: str, action: str, at: str, start_at: float) -> str:
    """ship / cancel / pick:SKU:QTY on one order, as the HTTP routes call them."""
    _wait(start_at)
    scope, now = Scope(seller_id, Role.SELLER), datetime.fromisoformat(at)
    try:
        with _db(url).session() as s:
            if action == "ship":
                done = orders.ship_order(s, scope, orders.ShipOrder(order_id), now)
            elif action == "cancel":
                done = orders.cancel_order(s, scope, orders.CancelOrder(order_id), now)
            else:
                _, sku, qty = action.split(":")
                scope = Scope("tn_platform", Role.ADMIN)
                pick = picking_service.PickOrder(order_id, (PickRequest(sku, int(qty)),))
                done = picking_service.pick_order(s, scope, pick, now)
            status = get_order(s, scope, done)["status"]
        return "ok:" + status
    except DomainError as exc:
        return f"{exc.status}:{exc.detail}"
    except Exception as exc:  # a deadlock or any other database error is a test failure, reported as text
        return f"error:{type(exc).__name__}:{exc}"


def expiry_run(url: str, at: str, start_at: float, batch_size: int = 0) -> str:
    """The expiry job in one transaction, or (`batch_size` > 0) committed in batches like the scheduler's."""
    _wait(start_at)
    try:
        out: dict[str, Any]
        if batch_size:
            out = run_expiry(_db(url), datetime.fromisoformat(at), batch_size)
        else:
            with _db(url).session() as s:
                out = handle_expired_lots(s, datetime.fromisoformat(at))
        return f"ok:{len(out['reservations'])}:{len(out['deferred'])}"
    except Exception as exc:
        return f"error:{type(exc).__name__}:{exc}"


def order_at(url: str, seller_id: str, ref: str, sku: str, qty: int, at: str, start_at: float) -> str:
    _wait(start_at)
    body = {"order_ref": ref, "ship_to": {"country": "DE"}, "lines": [{"sku": sku, "qty": qty}]}
    try:
        with _db(url).session() as s:
            out = orders.allocate_order(
                s, Scope(seller_id, Role.SELLER), commands.order(body), datetime.fromisoformat(at)
            )
        return "ok:" + out.id
    except DomainError as exc:
        return f"{exc.status}:{exc.detail}"
    except Exception as exc:
        return f"error:{type(exc).__name__}:{exc}"


def plan_day(url: str, code: str, day: str, start_at: float, replan: bool = False) -> str:
    """An operator of `code` plans (or re-plans) the day's delivery run (what `POST .../delivery-runs`
    runs)."""
    _wait(start_at)
    scope = Scope("op-race", Role.OPERATOR, (code,))
    try:
        with _db(url).session() as s:
            out = delivery_runs.plan_run(
                s,
                scope,
                delivery_runs.PlanDeliveryRun(code, date.fromisoformat(day), time_limit_s=0.5, replan=replan),
                datetime.fromisoformat(day + "T06:00:00+00:00"),
            )
        return "ok:" + out.run_id
    except DomainError as exc:
        return f"{exc.status}:{exc.detail}"
    except Exception as exc:
        return f"error:{type(exc).__name__}:{exc}"
