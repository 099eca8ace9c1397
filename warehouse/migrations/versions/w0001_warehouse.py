"""warehouse: warehouses, SKUs, lots, balances and the stock ledger, inbound, orders, reservations,
transfers, returns, refunds, return policies, replenishment suggestions

Revision ID: w0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "w0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("warehouse",)
depends_on: str | Sequence[str] | None = "k0001"


def upgrade() -> None:
    op.create_table(
        "wh_lots",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("seller_id", "sku", "lot", name=op.f("pk_wh_lots")),
    )
    op.create_table(
        "wh_movements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("reverses", sa.String(length=40), nullable=True),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_movements")),
    )
    op.create_index(op.f("ix_wh_movements_seller_id"), "wh_movements", ["seller_id"], unique=False)
    op.create_table(
        "wh_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("order_ref", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ship_to", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_orders")),
        sa.UniqueConstraint("seller_id", "order_ref", name="uq_wh_orders_seller_ref"),
    )
    op.create_table(
        "wh_replenishment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("computed_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("daily_demand", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("stockout_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ship_by", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("corridor", sa.String(length=80), nullable=True),
        sa.Column("transit_hours", sa.Numeric(precision=10, scale=1), nullable=True),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_replenishment")),
    )
    op.create_index(op.f("ix_wh_replenishment_seller_id"), "wh_replenishment", ["seller_id"], unique=False)
    op.create_table(
        "wh_return_policies",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "grade", name=op.f("pk_wh_return_policies")),
    )
    op.create_table(
        "wh_warehouses",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("lat", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("lon", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=True),
        sa.Column("handling_cost", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_wh_warehouses")),
    )
    op.create_table(
        "wh_balances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=False),
        sa.Column("zone", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), server_default="", nullable=False),
        sa.Column("on_hand", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reserved", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_wh_balances_on_hand_not_negative")),
        sa.CheckConstraint("reserved <= on_hand", name=op.f("ck_wh_balances_reserved_within_on_hand")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_wh_balances_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["warehouse"], ["wh_warehouses.code"], name=op.f("fk_wh_balances_warehouse_wh_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_balances")),
        sa.UniqueConstraint("seller_id", "warehouse", "zone", "sku", "lot", name="uq_wh_balances_key"),
    )
    op.create_index("ix_wh_balances_seller_sku", "wh_balances", ["seller_id", "sku"], unique=False)
    op.create_table(
        "wh_inbound",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=False),
        sa.Column("waybill_no", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expected_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["warehouse"], ["wh_warehouses.code"], name=op.f("fk_wh_inbound_warehouse_wh_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_inbound")),
    )
    op.create_index(op.f("ix_wh_inbound_seller_id"), "wh_inbound", ["seller_id"], unique=False)
    op.create_index(op.f("ix_wh_inbound_waybill_no"), "wh_inbound", ["waybill_no"], unique=False)
    op.create_table(
        "wh_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("movement_id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=True),
        sa.Column("zone", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), server_default="", nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("qty <> 0", name=op.f("ck_wh_ledger_qty_not_zero")),
        sa.ForeignKeyConstraint(
            ["movement_id"], ["wh_movements.id"], name=op.f("fk_wh_ledger_movement_id_wh_movements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_ledger")),
    )
    op.create_index(op.f("ix_wh_ledger_movement_id"), "wh_ledger", ["movement_id"], unique=False)
    op.create_index("ix_wh_ledger_seller_sku", "wh_ledger", ["seller_id", "sku"], unique=False)
    op.create_table(
        "wh_order_lines",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.CheckConstraint("qty > 0", name=op.f("ck_wh_order_lines_qty_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["wh_orders.id"], name=op.f("fk_wh_order_lines_order_id_wh_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_wh_order_lines")),
    )
    op.create_table(
        "wh_returns",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["wh_orders.id"], name=op.f("fk_wh_returns_order_id_wh_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_returns")),
    )
    op.create_index(op.f("ix_wh_returns_order_id"), "wh_returns", ["order_id"], unique=False)
    op.create_index(op.f("ix_wh_returns_seller_id"), "wh_returns", ["seller_id"], unique=False)
    op.create_table(
        "wh_skus",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("volume_m3", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("lot_tracked", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.Column("dangerous_goods", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("unit_value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["seller_id"], ["tenants.id"], name=op.f("fk_wh_skus_seller_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_skus")),
        sa.UniqueConstraint("seller_id", "sku", name="uq_wh_skus_seller_sku"),
    )
    op.create_table(
        "wh_transfers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("from_warehouse", sa.String(length=12), nullable=False),
        sa.Column("to_warehouse", sa.String(length=12), nullable=False),
        sa.Column("waybill_no", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_warehouse"],
            ["wh_warehouses.code"],
            name=op.f("fk_wh_transfers_from_warehouse_wh_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_transfers")),
    )
    op.create_index(op.f("ix_wh_transfers_seller_id"), "wh_transfers", ["seller_id"], unique=False)
    op.create_index(op.f("ix_wh_transfers_waybill_no"), "wh_transfers", ["waybill_no"], unique=False)
    op.create_table(
        "wh_inbound_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("inbound_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), server_default="", nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("qty_expected", sa.Integer(), nullable=False),
        sa.Column("qty_received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("qty_short", sa.Integer(), server_default="0", nullable=False),
        sa.Column("qty_surplus", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["wh_inbound.id"], name=op.f("fk_wh_inbound_lines_inbound_id_wh_inbound")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_inbound_lines")),
    )
    op.create_index(op.f("ix_wh_inbound_lines_inbound_id"), "wh_inbound_lines", ["inbound_id"], unique=False)
    op.create_table(
        "wh_refunds",
        sa.Column("rma_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rma_id"], ["wh_returns.id"], name=op.f("fk_wh_refunds_rma_id_wh_returns")),
        sa.PrimaryKeyConstraint("rma_id", name=op.f("pk_wh_refunds")),
    )
    op.create_table(
        "wh_reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("balance_id", sa.Integer(), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), server_default="", nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_wh_reservations_qty_positive")),
        sa.ForeignKeyConstraint(
            ["balance_id"], ["wh_balances.id"], name=op.f("fk_wh_reservations_balance_id_wh_balances")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["wh_orders.id"], name=op.f("fk_wh_reservations_order_id_wh_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_reservations")),
    )
    op.create_index(op.f("ix_wh_reservations_order_id"), "wh_reservations", ["order_id"], unique=False)
    op.create_table(
        "wh_return_dispositions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rma_id", sa.String(length=40), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), server_default="", nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.Column("waybill_no", sa.String(length=40), nullable=True),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["wh_returns.id"], name=op.f("fk_wh_return_dispositions_rma_id_wh_returns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_return_dispositions")),
    )
    op.create_index(
        op.f("ix_wh_return_dispositions_rma_id"), "wh_return_dispositions", ["rma_id"], unique=False
    )
    op.create_table(
        "wh_return_lines",
        sa.Column("rma_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("qty_authorised", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["wh_returns.id"], name=op.f("fk_wh_return_lines_rma_id_wh_returns")
        ),
        sa.PrimaryKeyConstraint("rma_id", "sku", name=op.f("pk_wh_return_lines")),
    )
    op.create_table(
        "wh_return_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rma_id", sa.String(length=40), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), server_default="", nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unexpected", sa.Boolean(), nullable=False),
        sa.Column("received_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["wh_returns.id"], name=op.f("fk_wh_return_receipts_rma_id_wh_returns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_return_receipts")),
    )
    op.create_index(op.f("ix_wh_return_receipts_rma_id"), "wh_return_receipts", ["rma_id"], unique=False)
    op.create_table(
        "wh_transfer_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("transfer_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), server_default="", nullable=False),
        sa.Column("qty_shipped", sa.Integer(), nullable=False),
        sa.Column("qty_received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("qty_lost", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["wh_transfers.id"], name=op.f("fk_wh_transfer_lines_transfer_id_wh_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_transfer_lines")),
    )
    op.create_index(
        op.f("ix_wh_transfer_lines_transfer_id"), "wh_transfer_lines", ["transfer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_wh_transfer_lines_transfer_id"), table_name="wh_transfer_lines")
    op.drop_table("wh_transfer_lines")
    op.drop_index(op.f("ix_wh_return_receipts_rma_id"), table_name="wh_return_receipts")
    op.drop_table("wh_return_receipts")
    op.drop_table("wh_return_lines")
    op.drop_index(op.f("ix_wh_return_dispositions_rma_id"), table_name="wh_return_dispositions")
    op.drop_table("wh_return_dispositions")
    op.drop_index(op.f("ix_wh_reservations_order_id"), table_name="wh_reservations")
    op.drop_table("wh_reservations")
    op.drop_table("wh_refunds")
    op.drop_index(op.f("ix_wh_inbound_lines_inbound_id"), table_name="wh_inbound_lines")
    op.drop_table("wh_inbound_lines")
    op.drop_index(op.f("ix_wh_transfers_waybill_no"), table_name="wh_transfers")
    op.drop_index(op.f("ix_wh_transfers_seller_id"), table_name="wh_transfers")
    op.drop_table("wh_transfers")
    op.drop_table("wh_skus")
    op.drop_index(op.f("ix_wh_returns_seller_id"), table_name="wh_returns")
    op.drop_index(op.f("ix_wh_returns_order_id"), table_name="wh_returns")
    op.drop_table("wh_returns")
    op.drop_table("wh_order_lines")
    op.drop_index("ix_wh_ledger_seller_sku", table_name="wh_ledger")
    op.drop_index(op.f("ix_wh_ledger_movement_id"), table_name="wh_ledger")
    op.drop_table("wh_ledger")
    op.drop_index(op.f("ix_wh_inbound_waybill_no"), table_name="wh_inbound")
    op.drop_index(op.f("ix_wh_inbound_seller_id"), table_name="wh_inbound")
    op.drop_table("wh_inbound")
    op.drop_index("ix_wh_balances_seller_sku", table_name="wh_balances")
    op.drop_table("wh_balances")
    op.drop_table("wh_warehouses")
    op.drop_table("wh_return_policies")
    op.drop_index(op.f("ix_wh_replenishment_seller_id"), table_name="wh_replenishment")
    op.drop_table("wh_replenishment")
    op.drop_table("wh_orders")
    op.drop_index(op.f("ix_wh_movements_seller_id"), table_name="wh_movements")
    op.drop_table("wh_movements")
    op.drop_table("wh_lots")
