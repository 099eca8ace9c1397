"""waybills.track_state: the tracking fold's state, to continue it incrementally

Revision ID: l0002
Revises: l0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "l0002"
down_revision: str | None = "l0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("waybills") as batch:
        batch.add_column(sa.Column("track_state", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waybills") as batch:
        batch.drop_column("track_state")
