"""Warehouse commands built from the JSON-like bodies that the integration tests and workers use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from warehouse.catalog import CreateSku, CreateWarehouse, create_sku, create_warehouse
from warehouse.counting import CountLine
from warehouse.inbound import CreateInbound, InboundLine, ReceiveInbound, create_inbound, receive_inbound
from warehouse.orders import AllocateOrder, OrderAddress, OrderLine
from warehouse.ports import NoEta
from warehouse.scope import Scope


def order(body: Mapping[str, Any]) -> AllocateOrder:
    """An allocation command from a `POST /v1/orders` body."""
    st = body["ship_to"]
    return AllocateOrder(
        order_ref=body["order_ref"],
        ship_to=OrderAddress(st["country"], st.get("lat"), st.get("lon"), st.get("postcode"), st.get("city")),
        lines=tuple(
            OrderLine(
                ln["sku"],
                int(ln["qty"]),
                None if ln.get("unit_price") is None else Decimal(str(ln["unit_price"])),
            )
            for ln in body["lines"]
        ),
        currency=body.get("currency") or "USD",
        seller_id=body.get("seller_id"),
    )


def warehouse(session: Session, code: str, country: str, lat: float, lon: float, now: datetime) -> str:
    """A warehouse named after its country."""
    cmd = CreateWarehouse(code, country, country, Decimal(str(lat)), Decimal(str(lon)))
    return create_warehouse(session, cmd, now)


def sku(session: Session, seller_id: str, code: str, now: datetime, **extra: Any) -> str:
    """A SKU of 1 kg and 0.01 m3 unless `extra` says otherwise."""
    fields: dict[str, Any] = {"weight_kg": Decimal("1"), "volume_m3": Decimal("0.01"), **extra}
    return create_sku(session, CreateSku(seller_id=seller_id, sku=code, name=code, **fields), now)


def stock_in(
    session: Session,
    scope: Scope,
    seller_id: str,
    code: str,
    lines: Sequence[Mapping[str, Any]],
    now: datetime,
    counted: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """Announce `lines` at a warehouse and receive them as counted (by default, as announced)."""
    inbound_id = create_inbound(
        session,
        scope,
        CreateInbound(
            code,
            tuple(
                InboundLine(ln["sku"], int(ln["qty"]), ln.get("lot"), ln.get("expires_on")) for ln in lines
            ),
            seller_id=seller_id,
        ),
        now,
        NoEta(),
    )
    count = tuple(CountLine(ln["sku"], int(ln["qty"]), ln.get("lot")) for ln in (counted or lines))
    receive_inbound(session, scope, ReceiveInbound(inbound_id, count), now)
    return inbound_id
