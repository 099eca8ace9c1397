"""wh_delivery_stops: return pick-ups beside deliveries, the load after each stop, why an order rolled over,
and what placed an address without coordinates.

Revision ID: w0400_delivery_stops_pickups
Revises: w0200_stock_monthly
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w0400_delivery_stops_pickups"
down_revision: str | None = "w0200_stock_monthly"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("wh_delivery_stops") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="delivery"))
        batch.add_column(sa.Column("rma_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("load_kg", sa.Numeric(12, 3), nullable=True))
        batch.add_column(sa.Column("carried_over", sa.Text(), nullable=True))
        batch.add_column(sa.Column("placed_by", sa.String(120), nullable=True))
        batch.create_index("ix_wh_delivery_stops_rma_id", ["rma_id"])


def downgrade() -> None:
    with op.batch_alter_table("wh_delivery_stops") as batch:
        batch.drop_index("ix_wh_delivery_stops_rma_id")
        for column in ("placed_by", "carried_over", "load_kg", "rma_id", "kind"):
            batch.drop_column(column)
