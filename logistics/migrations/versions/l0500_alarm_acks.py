"""alarm_acknowledgements: who acknowledged a waybill's alarm, when, whom it is assigned to, with a note

Revision ID: l0500_alarm_acks
Revises: l0200_shipment_facts
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kernel.db import UtcDateTime

revision: str = "l0500_alarm_acks"
down_revision: str | None = "l0200_shipment_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alarm_acknowledgements",
        sa.Column("waybill_no", sa.String(20), sa.ForeignKey("waybills.waybill_no"), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("raised_at", sa.String(40), primary_key=True),
        sa.Column("acknowledged_by", sa.String(40), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("alarm_acknowledgements")
