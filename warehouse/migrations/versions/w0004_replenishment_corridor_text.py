"""wh_replenishment.corridor: TEXT, for a chain of corridors (118 characters seen; VARCHAR(80) refused it)

A suggestion's corridor is every distinct corridor of the option's legs joined with " + "; corridor names
come from the network (the reference one's longest is 64 characters, an imported one's have no bound).

Revision ID: w0004_replenishment_corridor
Revises: w0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w0004_replenishment_corridor"
down_revision: str | None = "w0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("wh_replenishment") as batch:
        batch.alter_column("corridor", type_=sa.Text(), existing_type=sa.String(80), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("wh_replenishment") as batch:
        batch.alter_column("corridor", type_=sa.String(80), existing_type=sa.Text(), existing_nullable=True)
