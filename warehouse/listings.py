"""Lists of orders, inbound notices (ASNs) and returns (RMAs), scoped like every warehouse query: a
seller sees its own, an operator those of its warehouses. Newest first, keyset-paginated (`limit`, opaque
`cursor`), like the waybill list: `{"items": [...], "next": cursor | null}`. A page costs the same few
queries whatever its size: one for the page's rows, then one per kind of child row for all of them
(`views.order_views`, `views.inbound_views`, `views.return_views`)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from kernel.clock import parse_time, rfc3339
from kernel.errors import InvalidInput
from warehouse import tables as t
from warehouse.scope import Scope
from warehouse.views import inbound_views, order_scope_filter, order_views, return_views

INBOUND_STATUSES = ("IN_TRANSIT", "ARRIVED", "RECEIVED")
RETURN_STATUSES = ("AUTHORISED", "RECEIVED", "INSPECTED", "CLOSED")


def _encode(created_at: datetime, id_: str) -> str:
    return base64.urlsafe_b64encode(f"{rfc3339(created_at, exact=True)}|{id_}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        when, id_ = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return parse_time(when), id_
    except Exception as exc:
        raise InvalidInput("bad cursor", errors=[{"field": "cursor", "message": "not a cursor"}]) from exc


def _check(limit: int, status: str | None, allowed: tuple[str, ...]) -> None:
    if not 1 <= limit <= 500:
        raise InvalidInput(
            "limit must be between 1 and 500", errors=[{"field": "limit", "message": "1..500"}]
        )
    if status is not None and status not in allowed:
        raise InvalidInput(
            f"unknown status {status}",
            errors=[{"field": "status", "message": f"one of {', '.join(allowed)}"}],
        )


def _page(
    session: Session,
    query: Select[Any],
    table: Any,
    limit: int,
    cursor: str | None,
    views: Callable[[Sequence[Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    c = table.c
    if cursor:
        at, after = _decode(cursor)
        query = query.where(or_(c.created_at < at, and_(c.created_at == at, c.id < after)))
    rows = session.execute(query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)).mappings().all()
    items = views(rows[:limit])
    nxt = _encode(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return {"items": items, "next": nxt}


def list_inbound(
    session: Session,
    scope: Scope,
    *,
    status: str | None = None,
    warehouse: str | None = None,
    waybill_no: str | None = None,
    seller_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Advance shipping notices, newest first."""
    _check(limit, status, INBOUND_STATUSES)
    c = t.inbound.c
    q = select(t.inbound)
    q = scope.filter(q, c.seller_id, c.warehouse, seller_id)
    if status:
        q = q.where(c.status == status)
    if warehouse:
        q = q.where(c.warehouse == warehouse)
    if waybill_no:
        q = q.where(c.waybill_no == waybill_no)
    return _page(session, q, t.inbound, limit, cursor, lambda rows: inbound_views(session, rows))


def list_returns(
    session: Session,
    scope: Scope,
    *,
    status: str | None = None,
    order_id: str | None = None,
    warehouse: str | None = None,
    seller_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Return authorisations, newest first; `warehouse` keeps those shipped from or received at it."""
    _check(limit, status, RETURN_STATUSES)
    c, r, rr = t.returns.c, t.reservations.c, t.return_receipts.c

    def touches(codes: Sequence[str]) -> ColumnElement[bool]:
        shipped_from = select(r.id).where(r.order_id == c.order_id, r.warehouse.in_(codes)).exists()
        received_at = select(rr.id).where(rr.rma_id == c.id, rr.warehouse.in_(codes)).exists()
        return or_(shipped_from, received_at)

    q = select(t.returns)
    q = scope.filter(q, c.seller_id, touches, seller_id)
    if status:
        q = q.where(c.status == status)
    if order_id:
        q = q.where(c.order_id == order_id)
    if warehouse:
        q = q.where(touches([warehouse]))
    return _page(session, q, t.returns, limit, cursor, lambda rows: return_views(session, rows))


def list_orders(
    session: Session,
    scope: Scope,
    *,
    status: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Orders, newest first: three queries for any page (orders, their lines, their reservations)."""
    _check(limit, None, ())  # an unknown status lists nothing, as it always has
    q = order_scope_filter(select(t.orders), scope)
    if status:
        q = q.where(t.orders.c.status == status)
    return _page(session, q, t.orders, limit, cursor, lambda rows: order_views(session, scope, rows))
