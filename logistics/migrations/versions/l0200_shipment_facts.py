"""shipment_facts: one statistics row per booked shipment, recomputed from the waybill and its events

The statistics read side (GET /v1/stats/shipments). Existing shipments are backfilled here by the same
function every writer calls (`logistics.shipment_facts.rebuild`), so the table starts exact.

Revision ID: l0200_shipment_facts
Revises: l0100_customs
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from kernel.db import UtcDateTime
from logistics import shipment_facts

revision: str = "l0200_shipment_facts"
down_revision: str | None = "l0100_customs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shipment_facts",
        sa.Column("waybill_no", sa.String(20), sa.ForeignKey("waybills.waybill_no"), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("customs_mode", sa.String(4), nullable=False),
        sa.Column("corridor", sa.Text, nullable=False),
        sa.Column("origin", sa.String(40), nullable=False),
        sa.Column("destination_country", sa.String(2), nullable=False),
        sa.Column("booked_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("booked_arrival", UtcDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("teu", sa.Float, nullable=False),
        sa.Column("gross_kg", sa.Float, nullable=False),
        sa.Column("co2e_kg", sa.Float, nullable=False),
        sa.Column("parcels", sa.Integer, nullable=False),
        sa.Column("declared_value", sa.Numeric(16, 2), nullable=True),
        sa.Column("declared_currency", sa.String(3), nullable=True),
        sa.Column("departed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("replans", sa.Integer, nullable=False),
    )
    op.create_index("ix_shipment_facts_booked_at", "shipment_facts", ["booked_at"])
    op.create_index("ix_shipment_facts_tenant_booked_at", "shipment_facts", ["tenant_id", "booked_at"])
    shipment_facts.rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_table("shipment_facts")
