"""service and departure ids sized for imported networks: service_id 80 -> 200, departure_id 120 -> 240

A departure id is "<service id>@<departure, minutes, Z>" (18 characters after the service id). The reference
network's service ids are at most 27 characters; an imported network's are not bounded by the importer, and
one over 80 characters failed every booking on it (PostgreSQL refuses an over-long VARCHAR). Widening a
VARCHAR is a catalogue change on PostgreSQL (no table rewrite, indexes kept). SQLite enforces no lengths,
so nothing changes there.

Revision ID: l0008_network_id_lengths
Revises: l0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "l0008_network_id_lengths"
down_revision: str | None = "l0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (  # (table, column, old length, new length)
    ("departure_loads", "departure_id", 120, 240),
    ("capacity_holds", "departure_id", 120, 240),
    ("departure_loads", "service_id", 80, 200),
    ("service_overrides", "service_id", 80, 200),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, old, new in COLUMNS:
        op.alter_column(table, column, type_=sa.String(new), existing_type=sa.String(old))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, old, new in COLUMNS:
        op.alter_column(table, column, type_=sa.String(old), existing_type=sa.String(new))
