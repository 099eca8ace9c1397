"""Demo data for `make demo`: the shared overseas warehouses, Yibin sellers' SKUs and some stock.

Safe to run again: warehouses and SKUs that exist are kept, and a seller that has stock gets no more.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.identity import Role
from warehouse import tables as t
from warehouse.catalog import CreateSku, CreateWarehouse, create_sku, create_warehouse
from warehouse.counting import CountLine
from warehouse.inbound import CreateInbound, InboundLine, ReceiveInbound, create_inbound, receive_inbound
from warehouse.ports import NoEta
from warehouse.scope import Scope

# code, name, country, lat, lon, network node, handling cost (USD per order)
WAREHOUSES: list[tuple[str, str, str, float, float, str, str]] = [
    ("DEDUI", "Duisburg shared warehouse (duisport)", "DE", 51.4344, 6.7623, "DUI", "2.40"),
    ("PLLOD", "Lodz shared warehouse", "PL", 51.7592, 19.4560, "LOD", "1.60"),
    ("NLRTM", "Rotterdam shared warehouse", "NL", 51.9225, 4.4792, "RTM", "2.80"),
    ("HUBUD", "Budapest shared warehouse (BILK)", "HU", 47.4979, 19.0402, "BUD", "1.70"),
    ("SGSIN", "Singapore shared warehouse", "SG", 1.3521, 103.8198, "SIN", "2.20"),
    ("VNSGN", "Ho Chi Minh City shared warehouse", "VN", 10.8231, 106.6297, "SGN", "1.20"),
    ("USLAX", "Los Angeles shared warehouse", "US", 33.9416, -118.4085, "LAX", "3.10"),
]

# Catalogues of Yibin sellers: sku, name, kg, m3, lot tracked, shelf life days, dangerous goods, unit value
CATALOGUES: list[list[tuple[str, str, str, str, bool, int | None, bool, str]]] = [
    [
        ("WLY-52-500", "Wuliangye baijiu 52% 500 ml", "1.20", "0.0021", True, 3650, False, "168.00"),
        ("YB-ZAOBA-250", "Yibin Zaoba tea 250 g", "0.30", "0.0012", True, 540, False, "18.50"),
    ],
    [
        ("BAMBOO-CUTL-6", "Bamboo cutlery set (6 pieces)", "0.25", "0.0009", False, None, False, "7.90"),
        ("LIB-18650-4P", "Li-ion 18650 battery pack (4)", "0.20", "0.0003", False, None, True, "12.00"),
    ],
    [
        ("SMART-PLUG-EU", "Smart plug, EU, Wi-Fi", "0.12", "0.0004", False, None, False, "9.90"),
        ("SMART-CAM-2K", "Indoor camera 2K", "0.35", "0.0015", False, None, False, "29.00"),
    ],
]

# where each catalogue's stock sits: warehouse -> units per SKU
PLACEMENT: list[dict[str, int]] = [
    {"DEDUI": 120, "PLLOD": 60, "SGSIN": 40},
    {"PLLOD": 300, "HUBUD": 150, "USLAX": 80},
    {"NLRTM": 200, "DEDUI": 90, "VNSGN": 70},
]


def seed_demo(session: Session, now: datetime, seller_tenant_ids: list[str]) -> dict[str, Any]:
    """Create the demo warehouses, each seller's SKUs and opening stock (received through the ledger)."""
    existing = set(session.execute(select(t.warehouses.c.code)).scalars())
    for code, name, country, lat, lon, node, cost in WAREHOUSES:
        if code not in existing:
            create_warehouse(
                session,
                CreateWarehouse(
                    code, name, country, Decimal(str(lat)), Decimal(str(lon)), node, Decimal(cost)
                ),
                now,
            )
    admin = Scope("tn_platform", Role.ADMIN)
    skus_made = 0
    units = 0
    for i, seller in enumerate(seller_tenant_ids):
        catalogue = CATALOGUES[i % len(CATALOGUES)]
        placement = PLACEMENT[i % len(PLACEMENT)]
        have = set(session.execute(select(t.skus.c.sku).where(t.skus.c.seller_id == seller)).scalars())
        for sku, name, kg, m3, lots, shelf, dg, value in catalogue:
            if sku not in have:
                create_sku(
                    session,
                    CreateSku(seller, sku, name, Decimal(kg), Decimal(m3), lots, shelf, dg, Decimal(value)),
                    now,
                )
                skus_made += 1
        stocked = session.execute(
            select(func.count()).select_from(t.balances).where(t.balances.c.seller_id == seller)
        ).scalar_one()
        if stocked:
            continue
        for code, qty in placement.items():
            lines = tuple(
                InboundLine(
                    sku,
                    qty,
                    f"{code[:2]}{now:%y%m}" if lots else None,
                    (now + timedelta(days=shelf)).date() if lots and shelf else None,
                )
                for sku, _n, _kg, _m3, lots, shelf, _dg, _v in catalogue
            )
            asn = create_inbound(session, admin, CreateInbound(code, lines, seller_id=seller), now, NoEta())
            counted = tuple(CountLine(ln.sku, ln.qty, ln.lot) for ln in lines)
            receive_inbound(session, admin, ReceiveInbound(asn, counted), now)
            units += qty * len(lines)
        # and one replenishment on its way from Yibin to the first warehouse, shown as in transit
        first = next(iter(placement))
        create_inbound(
            session,
            admin,
            CreateInbound(
                first,
                (InboundLine(catalogue[0][0], 50, f"YB{now:%y%m}" if catalogue[0][4] else None),),
                seller_id=seller,
            ),
            now,
            NoEta(),
        )
    return {
        "warehouses": [w[0] for w in WAREHOUSES],
        "skus_created": skus_made,
        "units_received": units,
        "sellers": list(seller_tenant_ids),
    }
