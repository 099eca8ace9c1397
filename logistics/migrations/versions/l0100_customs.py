"""customs_declarations and customs_messages: a booking's customs data and the outbox to the single window

Revision ID: l0100_customs
Revises: l0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kernel.db import UtcDateTime

revision: str = "l0100_customs"
down_revision: str | None = "l0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customs_declarations",
        sa.Column("waybill_no", sa.String(20), sa.ForeignKey("waybills.waybill_no"), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("mode", sa.String(4), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("route", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_customs_declarations_tenant_id", "customs_declarations", ["tenant_id"])
    op.create_table(
        "customs_messages",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("waybill_no", sa.String(20), sa.ForeignKey("waybills.waybill_no"), nullable=False),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("type", sa.String(6), nullable=False),
        sa.Column("app_type", sa.String(1), nullable=False),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("fact_key", sa.String(200), nullable=False, unique=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("trigger", sa.JSON, nullable=True),
        sa.Column("xml", sa.Text, nullable=False),
        sa.Column("receipt", sa.JSON, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_customs_messages_waybill_no_seq", "customs_messages", ["waybill_no", "seq"])
    op.create_index("ix_customs_messages_status_next", "customs_messages", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("customs_messages")
    op.drop_table("customs_declarations")
