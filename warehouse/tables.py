"""The warehouse tables (SQLAlchemy Core) on the shared metadata. Created only by migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from kernel.db import UtcDateTime, metadata
from kernel.identity import tenants

warehouses = Table(
    "wh_warehouses",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("lat", Numeric(9, 6), nullable=False),
    Column("lon", Numeric(9, 6), nullable=False),
    Column("node_id", String(40), nullable=True),
    Column("handling_cost", Numeric(12, 2), nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("created_at", UtcDateTime(), nullable=False),
)

skus = Table(
    "wh_skus",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(40), ForeignKey(tenants.c.id), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("weight_kg", Numeric(12, 3), nullable=False),
    Column("volume_m3", Numeric(12, 4), nullable=False),
    Column("lot_tracked", Boolean, nullable=False, server_default="0"),
    Column("shelf_life_days", Integer, nullable=True),
    Column("dangerous_goods", Boolean, nullable=False, server_default="0"),
    Column("unit_value", Numeric(12, 2), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("seller_id", "sku", name="uq_wh_skus_seller_sku"),
)

lots = Table(
    "wh_lots",
    metadata,
    Column("seller_id", String(40), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("lot", String(64), primary_key=True),
    Column("expires_on", Date, nullable=True),
)

# The cached balance per (seller, warehouse, zone, SKU, lot), updated in the same transaction as the ledger.
# The checks are the last line of defence against overselling: the database refuses a negative balance.
balances = Table(
    "wh_balances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seller_id", String(40), nullable=False),
    Column("warehouse", String(12), ForeignKey("wh_warehouses.code"), nullable=False),
    Column("zone", String(16), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("lot", String(64), nullable=False, server_default=""),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    Column("reserved", Integer, nullable=False, server_default="0"),
    UniqueConstraint("seller_id", "warehouse", "zone", "sku", "lot", name="uq_wh_balances_key"),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
)
Index("ix_wh_balances_seller_sku", balances.c.seller_id, balances.c.sku)

movements = Table(
    "wh_movements",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(40), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("reference", String(80), nullable=False),
    Column("reverses", String(40), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

ledger = Table(
    "wh_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("movement_id", String(40), ForeignKey("wh_movements.id"), nullable=False, index=True),
    Column("seller_id", String(40), nullable=False),
    Column("warehouse", String(12), nullable=True),
    Column("zone", String(16), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("lot", String(64), nullable=False, server_default=""),
    Column("qty", Integer, nullable=False),
    CheckConstraint("qty <> 0", name="qty_not_zero"),
)
Index("ix_wh_ledger_seller_sku", ledger.c.seller_id, ledger.c.sku)

inbound = Table(
    "wh_inbound",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(40), nullable=False, index=True),
    Column("warehouse", String(12), ForeignKey("wh_warehouses.code"), nullable=False),
    Column("waybill_no", String(40), nullable=True, index=True),
    Column("status", String(16), nullable=False),
    Column("expected_at", UtcDateTime(), nullable=True),
    Column("arrived_at", UtcDateTime(), nullable=True),
    Column("received_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

inbound_lines = Table(
    "wh_inbound_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("inbound_id", String(40), ForeignKey("wh_inbound.id"), nullable=False, index=True),
    Column("sku", String(64), nullable=False),
    Column("lot", String(64), nullable=False, server_default=""),
    Column("expires_on", Date, nullable=True),
    Column("qty_expected", Integer, nullable=False),
    Column("qty_received", Integer, nullable=False, server_default="0"),
    Column("qty_short", Integer, nullable=False, server_default="0"),
    Column("qty_surplus", Integer, nullable=False, server_default="0"),
)

orders = Table(
    "wh_orders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(40), nullable=False),
    Column("order_ref", String(80), nullable=False),
    Column("status", String(16), nullable=False),
    Column("ship_to", JSON, nullable=False),
    Column("explanation", JSON, nullable=False),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    Column("shipped_at", UtcDateTime(), nullable=True),
    UniqueConstraint("seller_id", "order_ref", name="uq_wh_orders_seller_ref"),
)

order_lines = Table(
    "wh_order_lines",
    metadata,
    Column("order_id", String(40), ForeignKey("wh_orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=True),
    CheckConstraint("qty > 0", name="qty_positive"),
)

reservations = Table(
    "wh_reservations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(40), ForeignKey("wh_orders.id"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("balance_id", Integer, ForeignKey("wh_balances.id"), nullable=False),
    Column("warehouse", String(12), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("lot", String(64), nullable=False, server_default=""),
    Column("qty", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    CheckConstraint("qty > 0", name="qty_positive"),
)

transfers = Table(
    "wh_transfers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(40), nullable=False, index=True),
    Column("from_warehouse", String(12), ForeignKey("wh_warehouses.code"), nullable=False),
    Column("to_warehouse", String(12), nullable=False),
    Column("waybill_no", String(40), nullable=True, index=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("arrived_at", UtcDateTime(), nullable=True),
    Column("received_at", UtcDateTime(), nullable=True),
)

transfer_lines = Table(
    "wh_transfer_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transfer_id", String(40), ForeignKey("wh_transfers.id"), nullable=False, index=True),
    Column("sku", String(64), nullable=False),
    Column("lot", String(64), nullable=False, server_default=""),
    Column("qty_shipped", Integer, nullable=False),
    Column("qty_received", Integer, nullable=False, server_default="0"),
    Column("qty_lost", Integer, nullable=False, server_default="0"),
)

returns = Table(
    "wh_returns",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seller_id", String(40), nullable=False, index=True),
    Column("order_id", String(40), ForeignKey("wh_orders.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

return_lines = Table(
    "wh_return_lines",
    metadata,
    Column("rma_id", String(40), ForeignKey("wh_returns.id"), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("qty_authorised", Integer, nullable=False),
)

# What physically came back, per receipt: `unexpected` marks goods beyond (or other than) the RMA.
return_receipts = Table(
    "wh_return_receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rma_id", String(40), ForeignKey("wh_returns.id"), nullable=False, index=True),
    Column("warehouse", String(12), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("lot", String(64), nullable=False, server_default=""),
    Column("qty", Integer, nullable=False),
    Column("unexpected", Boolean, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

return_dispositions = Table(
    "wh_return_dispositions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rma_id", String(40), ForeignKey("wh_returns.id"), nullable=False, index=True),
    Column("warehouse", String(12), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("lot", String(64), nullable=False, server_default=""),
    Column("qty", Integer, nullable=False),
    Column("grade", String(1), nullable=False),
    Column("disposition", String(20), nullable=False),
    Column("waybill_no", String(40), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

# One refund per RMA, enforced by the primary key: a retried refund finds the first one.
refunds = Table(
    "wh_refunds",
    metadata,
    Column("rma_id", String(40), ForeignKey("wh_returns.id"), primary_key=True),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

return_policies = Table(
    "wh_return_policies",
    metadata,
    Column("seller_id", String(40), primary_key=True),
    Column("grade", String(1), primary_key=True),
    Column("disposition", String(20), nullable=False),
)

replenishment = Table(
    "wh_replenishment",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seller_id", String(40), nullable=False, index=True),
    Column("warehouse", String(12), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("computed_at", UtcDateTime(), nullable=False),
    Column("daily_demand", Numeric(12, 3), nullable=False),
    Column("stock", Integer, nullable=False),
    Column("stockout_at", UtcDateTime(), nullable=True),
    Column("ship_by", UtcDateTime(), nullable=True),
    Column("corridor", Text, nullable=True),  # " + "-joined corridor names: no bound (w0004)
    Column("transit_hours", Numeric(10, 1), nullable=True),
    Column("qty", Integer, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
)

# Units of an RMA graded for refurbishment and finished by an operator: back on the shelf or disposed.
refurbishments = Table(
    "wh_refurbishments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rma_id", String(40), ForeignKey("wh_returns.id"), nullable=False, index=True),
    Column("warehouse", String(12), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("lot", String(64), nullable=False, server_default=""),
    Column("qty", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint("qty > 0", name="qty_positive"),
)

# A warehouse's planned delivery run for one day, with its vans as planned. One current run per warehouse
# and day; a re-planned run is kept, marked with the run that superseded it.
delivery_runs = Table(
    "wh_delivery_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("warehouse", String(12), ForeignKey("wh_warehouses.code"), nullable=False),
    Column("run_date", Date, nullable=False),
    Column("distance_km", Numeric(10, 2), nullable=False),
    Column("vans", JSON, nullable=False),
    Column("unserved", JSON, nullable=False),
    Column("planned_by", String(40), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("superseded_by", String(40), nullable=True),
    Column("superseded_at", UtcDateTime(), nullable=True),
    Index(
        "uq_wh_delivery_runs_current_day",
        "warehouse",
        "run_date",
        unique=True,
        sqlite_where=text("superseded_by IS NULL"),
        postgresql_where=text("superseded_by IS NULL"),
    ),
)

delivery_stops = Table(
    "wh_delivery_stops",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("wh_delivery_runs.id"), nullable=False, index=True),
    Column("van_id", String(40), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("order_id", String(40), ForeignKey("wh_orders.id"), nullable=False, index=True),
    Column("lat", Numeric(9, 6), nullable=False),
    Column("lon", Numeric(9, 6), nullable=False),
    Column("weight_kg", Numeric(12, 3), nullable=False),
    Column("arrival", UtcDateTime(), nullable=False),
    Column("departure", UtcDateTime(), nullable=False),
    # "delivery" (the order's parcel) or "pickup" (a return of the order, `rma_id`, collected on the way)
    Column("kind", String(8), nullable=False, server_default="delivery"),
    Column("rma_id", String(40), nullable=True, index=True),
    Column("load_kg", Numeric(12, 3), nullable=True),  # on board when the van leaves the stop
    Column("carried_over", Text, nullable=True),  # why it was not on an earlier day's run
    Column("placed_by", String(120), nullable=True),  # the geocoder's answer for an address without lat/lon
)

# Net units per seller, warehouse, SKU, month and kind of movement, over the ledger lines at a warehouse
# outside the transit zone: written by `ledger.write_ledger` in the transaction that writes those lines, so it
# is the ledger summed (tests compare it with a recount of the ledger). The statistics read it instead of the
# ledger (2 million lines in the benchmark).
stock_monthly = Table(
    "wh_stock_monthly",
    metadata,
    Column("seller_id", String(40), primary_key=True),
    Column("warehouse", String(12), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("qty", Integer, nullable=False),
)
