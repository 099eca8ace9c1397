"""service_overrides: operators' edits of timetables, rates, capacity and flags of network services

Revision ID: l0004
Revises: l0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "l0004"
down_revision: str | None = "l0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_overrides",
        sa.Column("service_id", sa.String(80), nullable=False),
        sa.Column("patch", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("updated_by", sa.String(40), nullable=False),
        sa.Column("updated_at", kernel.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_service_overrides")),
    )


def downgrade() -> None:
    op.drop_table("service_overrides")
