"""Containers heading to a warehouse: its open inbound notices and transfers that name a waybill, with the
shipment's status, live ETA and last position from tracking (through the `EtaLookup` port: the operator sees
no more of the shipper's waybill than that)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import NotFound
from warehouse import tables as t
from warehouse.ports import EtaLookup
from warehouse.scope import Scope

OPEN = ("IN_TRANSIT", "ARRIVED")  # not received yet


def incoming(session: Session, scope: Scope, code: str, eta: EtaLookup, limit: int = 200) -> dict[str, Any]:
    """`{"warehouse", "items": [{"kind": "inbound"|"transfer", "id", "seller_id", "waybill_no", "status",
    "expected_at", "arrived_at", "shipment": {"status", "eta", "position"} | null}]}`, soonest first (live
    ETA, else the notice's expected time). 404 for a warehouse outside the caller's scope."""
    scope.check_warehouse(code)
    if session.execute(select(t.warehouses.c.code).where(t.warehouses.c.code == code)).first() is None:
        raise NotFound(f"warehouse {code} does not exist")
    asns = session.execute(
        select(t.inbound)
        .where(t.inbound.c.warehouse == code, t.inbound.c.status.in_(OPEN))
        .order_by(t.inbound.c.created_at, t.inbound.c.id)
        .limit(limit)
    ).mappings()
    moves = session.execute(
        select(t.transfers)
        .where(t.transfers.c.to_warehouse == code, t.transfers.c.status.in_(OPEN))
        .order_by(t.transfers.c.created_at, t.transfers.c.id)
        .limit(limit)
    ).mappings()
    rows: list[dict[str, Any]] = [
        {"kind": "inbound", "id": r["id"], "seller_id": r["seller_id"], "waybill_no": r["waybill_no"],
         "status": r["status"], "expected_at": r["expected_at"], "arrived_at": r["arrived_at"]}
        for r in asns
    ] + [
        {"kind": "transfer", "id": r["id"], "seller_id": r["seller_id"], "waybill_no": r["waybill_no"],
         "status": r["status"], "expected_at": None, "arrived_at": r["arrived_at"]}
        for r in moves
    ]  # fmt: skip
    progress = eta.progress(sorted({r["waybill_no"] for r in rows if r["waybill_no"]}))
    items = []
    for r in rows:
        p = progress.get(r["waybill_no"] or "")
        when = (p.eta if p and p.eta else None) or r["expected_at"]
        items.append(
            (
                when is None,
                when.timestamp() if when else 0.0,
                {
                    **r,
                    "expected_at": rfc3339(r["expected_at"]) if r["expected_at"] else None,
                    "arrived_at": rfc3339(r["arrived_at"]) if r["arrived_at"] else None,
                    "shipment": {
                        "status": p.status,
                        "eta": rfc3339(p.eta) if p.eta else None,
                        "position": p.position,
                    }
                    if p
                    else None,
                },
            )
        )
    items.sort(key=lambda x: (x[0], x[1]))
    return {"warehouse": code, "items": [i[2] for i in items][:limit]}
