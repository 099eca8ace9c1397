"""wh_stock_monthly: net units per seller, warehouse, SKU, month and movement kind, kept with the ledger

The warehouse statistics (GET /v1/stats/warehouses?group_by=...) read it instead of the ledger. Filled here
from the ledger as it is (the same sum `ledger.write_ledger` adds to with every movement).

Revision ID: w0200_stock_monthly
Revises: w0004_replenishment_corridor
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w0200_stock_monthly"
down_revision: str | None = "w0004_replenishment_corridor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wh_stock_monthly",
        sa.Column("seller_id", sa.String(40), primary_key=True),
        sa.Column("warehouse", sa.String(12), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("qty", sa.Integer, nullable=False),
    )
    bind = op.get_bind()
    month = (
        "to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM')"
        if bind.dialect.name == "postgresql"
        else "substr(m.created_at, 1, 7)"
    )
    op.execute(
        "INSERT INTO wh_stock_monthly (seller_id, warehouse, sku, month, kind, qty)"
        f" SELECT l.seller_id, l.warehouse, l.sku, {month}, m.kind, SUM(l.qty)"
        " FROM wh_ledger l JOIN wh_movements m ON m.id = l.movement_id"
        " WHERE l.warehouse IS NOT NULL AND l.zone <> 'transit'"
        f" GROUP BY l.seller_id, l.warehouse, l.sku, {month}, m.kind"
    )


def downgrade() -> None:
    op.drop_table("wh_stock_monthly")
