"""warehouse floor: refurbishments of returned units, delivery runs and their stops

Revision ID: w0002
Revises: w0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "w0002"
down_revision: str | None = "w0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wh_refurbishments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rma_id", sa.String(length=40), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), server_default="", nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_wh_refurbishments_qty_positive")),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["wh_returns.id"], name=op.f("fk_wh_refurbishments_rma_id_wh_returns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_refurbishments")),
    )
    op.create_index(op.f("ix_wh_refurbishments_rma_id"), "wh_refurbishments", ["rma_id"], unique=False)
    op.create_table(
        "wh_delivery_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("warehouse", sa.String(length=12), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("distance_km", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("vans", sa.JSON(), nullable=False),
        sa.Column("unserved", sa.JSON(), nullable=False),
        sa.Column("planned_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["warehouse"], ["wh_warehouses.code"], name=op.f("fk_wh_delivery_runs_warehouse_wh_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_delivery_runs")),
        sa.UniqueConstraint("warehouse", "run_date", name="uq_wh_delivery_runs_day"),
    )
    op.create_table(
        "wh_delivery_stops",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("van_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("lat", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("lon", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("arrival", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("departure", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["wh_delivery_runs.id"], name=op.f("fk_wh_delivery_stops_run_id_wh_delivery_runs")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["wh_orders.id"], name=op.f("fk_wh_delivery_stops_order_id_wh_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_delivery_stops")),
    )
    op.create_index(op.f("ix_wh_delivery_stops_run_id"), "wh_delivery_stops", ["run_id"], unique=False)
    op.create_index(op.f("ix_wh_delivery_stops_order_id"), "wh_delivery_stops", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wh_delivery_stops_order_id"), table_name="wh_delivery_stops")
    op.drop_index(op.f("ix_wh_delivery_stops_run_id"), table_name="wh_delivery_stops")
    op.drop_table("wh_delivery_stops")
    op.drop_table("wh_delivery_runs")
    op.drop_index(op.f("ix_wh_refurbishments_rma_id"), table_name="wh_refurbishments")
    op.drop_table("wh_refurbishments")
