"""devices and waybills leave room on each page, so the ingest's updates stay HOT (PostgreSQL)

Every batch of telemetry updates each reporting device (last seq, last seen) and each tracked waybill. With
full pages, PostgreSQL writes every new row version to another page and adds it to every index: the tables
and their indexes bloat and each lookup reads more pages. With free room on the page, an update that changes
no indexed column is a heap-only tuple (HOT) update: no index entries, and the old version is pruned in
place. Applies to pages written from now on (VACUUM FULL or pg_repack rewrites an existing table).

Revision ID: l0005
Revises: l0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "l0005"
down_revision: str | None = "l0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("devices", "waybills")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02,"
            " autovacuum_analyze_scale_factor = 0.02)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} RESET (fillfactor, autovacuum_vacuum_scale_factor,"
            " autovacuum_analyze_scale_factor)"
        )
