"""readings.seq and devices.last_seq are 64-bit, as the MQTT payload allows (PostgreSQL)

A tracker's seq may be any integer up to 2**63 - 1; in a 32-bit column a seq above 2**31 - 1 failed the
whole batch it came in. SQLite's INTEGER is 64-bit already.

Revision ID: l0006
Revises: l0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "l0006"
down_revision: str | None = "l0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE readings ALTER COLUMN seq TYPE bigint")
    op.execute("ALTER TABLE devices ALTER COLUMN last_seq TYPE bigint")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE devices ALTER COLUMN last_seq TYPE integer")
    op.execute("ALTER TABLE readings ALTER COLUMN seq TYPE integer")
