"""The warehouse handlers without HTTP: an in-memory SQLite unit of work, fake shipment ports that record
their calls, and a fixed clock (cosmicpython's way: the service layer tested against fakes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from kernel.clock import FixedClock
from kernel.db import Database, metadata
from kernel.identity import Role, TenantKind, create_tenant
from warehouse.catalog import CreateSku, CreateWarehouse, create_sku, create_warehouse
from warehouse.counting import CountLine
from warehouse.inbound import CreateInbound, InboundLine, ReceiveInbound, create_inbound, receive_inbound
from warehouse.ports import FakeEtaLookup, FakeShipmentBooker, FakeTransitTimes, WarehousePorts
from warehouse.scope import Scope

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
ADMIN = Scope("tn_platform", Role.ADMIN)
# code, country, lat, lon, network node
SITES = {"DE": ("DEDUI", "DE", "51.43", "6.76", "DUI"), "PL": ("PLLOD", "PL", "51.76", "19.46", "LOD")}


def in_memory_database() -> Database:
    """All tables in one in-memory SQLite database, shared by every session of the test."""
    engine: Engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _foreign_keys(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute("PRAGMA foreign_keys=ON")  # type: ignore[attr-defined]

    metadata.create_all(engine)
    return Database(engine)


@dataclass
class HandlerWorld:
    """A seller with SKUs at two warehouses (Duisburg, Lodz), the fake ports and the clock."""

    db: Database
    clock: FixedClock
    booker: FakeShipmentBooker = field(default_factory=FakeShipmentBooker)
    eta: FakeEtaLookup = field(default_factory=FakeEtaLookup)
    transit: FakeTransitTimes = field(default_factory=FakeTransitTimes)
    seller_id: str = ""

    @property
    def ports(self) -> WarehousePorts:
        return WarehousePorts(self.booker, self.eta, self.transit)

    @property
    def seller(self) -> Scope:
        return Scope(self.seller_id, Role.SELLER)

    def operator(self, *codes: str) -> Scope:
        return Scope("tn_3pl", Role.OPERATOR, codes or tuple(site[0] for site in SITES.values()))

    def stock(self, site: str, sku: str, qty: int) -> None:
        """Announce and receive `qty` of `sku` at a warehouse."""
        code = SITES[site][0]
        with self.db.session() as s:
            lines = (InboundLine(sku, qty),)
            asn = create_inbound(s, ADMIN, CreateInbound(code, lines, seller_id=self.seller_id), T0, self.eta)
            receive_inbound(s, ADMIN, ReceiveInbound(asn, (CountLine(sku, qty),)), T0)


def handler_world(*skus: str) -> HandlerWorld:
    """A fresh database with the two warehouses, a seller and its SKUs (1 kg, 0.01 m3 each)."""
    world = HandlerWorld(in_memory_database(), FixedClock(T0))
    with world.db.session() as s:
        world.seller_id = str(create_tenant(s, "Yibin Tea Co", TenantKind.SELLER, T0)["id"])
        for code, country, lat, lon, node in SITES.values():
            create_warehouse(s, CreateWarehouse(code, code, country, Decimal(lat), Decimal(lon), node), T0)
        for sku in skus:
            create_sku(s, CreateSku(world.seller_id, sku, sku, Decimal("1"), Decimal("0.01")), T0)
    world.eta.asked.clear()
    return world
