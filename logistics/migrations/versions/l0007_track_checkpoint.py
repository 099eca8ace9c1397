"""waybills.track_checkpoint: a fold state behind the current one; readings indexed by (waybill_no, ts)

A late reading (several ingest processes share a waybill's readings, so one often folds a reading that is
older than what another has already folded) re-folds from the stored checkpoint with only the readings
stored after it, found through the (waybill_no, ts) index, instead of from every reading the waybill ever
had. `track_since_checkpoint` counts the readings folded after the checkpoint. The new index replaces the
one on waybill_no alone (which it serves as well), so storing a reading updates no more indexes than before.

On a large readings table, an operator may create the index beforehand without blocking the ingest
(`CREATE INDEX CONCURRENTLY ix_readings_waybill_no_ts ON readings (waybill_no, ts)`); this migration then
leaves it as it is.

Revision ID: l0007
Revises: l0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "l0007"
down_revision: str | None = "l0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("waybills") as batch:
        batch.add_column(sa.Column("track_checkpoint", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("track_since_checkpoint", sa.Integer(), nullable=True))
    op.create_index("ix_readings_waybill_no_ts", "readings", ["waybill_no", "ts"], if_not_exists=True)
    op.drop_index("ix_readings_waybill_no", table_name="readings")


def downgrade() -> None:
    op.create_index("ix_readings_waybill_no", "readings", ["waybill_no"])
    op.drop_index("ix_readings_waybill_no_ts", table_name="readings")
    with op.batch_alter_table("waybills") as batch:
        batch.drop_column("track_since_checkpoint")
        batch.drop_column("track_checkpoint")
