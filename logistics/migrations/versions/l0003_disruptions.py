"""disruptions: suspensions, closures and delays that operators declare on the network

Revision ID: l0003
Revises: l0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "l0003"
down_revision: str | None = "l0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disruptions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(), nullable=False),
        sa.Column("lifted_at", kernel.db.UtcDateTime(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disruptions")),
    )


def downgrade() -> None:
    op.drop_table("disruptions")
