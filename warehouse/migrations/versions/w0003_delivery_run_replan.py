"""warehouse floor: a delivery run may be re-planned; the old run is kept, marked superseded

One current run per warehouse and day (a unique index over the runs not superseded) instead of one run.

Revision ID: w0003
Revises: w0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "w0003"
down_revision: str | None = "w0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("superseded_by IS NULL")


def _stops_table() -> None:
    op.create_table(
        "wh_delivery_stops",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("van_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("lat", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("lon", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("arrival", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("departure", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["wh_delivery_runs.id"], name=op.f("fk_wh_delivery_stops_run_id_wh_delivery_runs")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["wh_orders.id"], name=op.f("fk_wh_delivery_stops_order_id_wh_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wh_delivery_stops")),
    )
    op.create_index(op.f("ix_wh_delivery_stops_run_id"), "wh_delivery_stops", ["run_id"], unique=False)
    op.create_index(op.f("ix_wh_delivery_stops_order_id"), "wh_delivery_stops", ["order_id"], unique=False)


def _rebuild_runs(change: str) -> None:
    """SQLite rebuilds a table to drop or add a table constraint; the stops, which refer to the runs, are
    set aside first so that dropping the old runs table (foreign keys on) deletes nothing they need."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TABLE _wh_delivery_stops_keep AS SELECT * FROM wh_delivery_stops")
        op.drop_table("wh_delivery_stops")
    with op.batch_alter_table("wh_delivery_runs") as batch:
        if change == "upgrade":
            batch.add_column(sa.Column("superseded_by", sa.String(length=40), nullable=True))
            batch.add_column(sa.Column("superseded_at", kernel.db.UtcDateTime(timezone=True), nullable=True))
            batch.drop_constraint("uq_wh_delivery_runs_day", type_="unique")
        else:
            batch.drop_column("superseded_at")
            batch.drop_column("superseded_by")
            batch.create_unique_constraint("uq_wh_delivery_runs_day", ["warehouse", "run_date"])
    if sqlite:
        _stops_table()
        op.execute("INSERT INTO wh_delivery_stops SELECT * FROM _wh_delivery_stops_keep")
        op.drop_table("_wh_delivery_stops_keep")


def upgrade() -> None:
    _rebuild_runs("upgrade")
    op.create_index(
        "uq_wh_delivery_runs_current_day",
        "wh_delivery_runs",
        ["warehouse", "run_date"],
        unique=True,
        sqlite_where=CURRENT,
        postgresql_where=CURRENT,
    )


def downgrade() -> None:
    # superseded runs and their stops cannot stay under a one-run-per-day key
    op.execute(
        "DELETE FROM wh_delivery_stops WHERE run_id IN "
        "(SELECT id FROM wh_delivery_runs WHERE superseded_by IS NOT NULL)"
    )
    op.execute("DELETE FROM wh_delivery_runs WHERE superseded_by IS NOT NULL")
    op.drop_index("uq_wh_delivery_runs_current_day", table_name="wh_delivery_runs")
    _rebuild_runs("downgrade")
