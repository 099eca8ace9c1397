"""logistics: quotes, capacity, bookings, waybills and their events, devices, readings, webhooks

Revision ID: l0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "l0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("logistics",)
depends_on: str | Sequence[str] | None = "k0001"


def upgrade() -> None:

    op.create_table(
        "deadletters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadletters")),
    )
    op.create_table(
        "departure_loads",
        sa.Column("departure_id", sa.String(length=120), nullable=False),
        sa.Column("service_id", sa.String(length=80), nullable=False),
        sa.Column("departure", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("capacity_teu", sa.Float(), nullable=False),
        sa.Column("booked_teu", sa.Float(), nullable=False),
        sa.Column("capacity_kg", sa.Float(), nullable=False),
        sa.Column("booked_kg", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("departure_id", name=op.f("pk_departure_loads")),
    )
    op.create_table(
        "readings",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("waybill_no", sa.String(length=20), nullable=True),
        sa.Column("ts", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("quarantine", sa.String(length=200), nullable=True),
        sa.Column("received_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "seq", name=op.f("pk_readings")),
    )
    op.create_index(op.f("ix_readings_waybill_no"), "readings", ["waybill_no"], unique=False)
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("report_interval_s", sa.Integer(), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=True),
        sa.Column("last_seen_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_devices_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_tenant_id"), "devices", ["tenant_id"], unique=False)
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_quotes_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    op.create_index(op.f("ix_quotes_tenant_id"), "quotes", ["tenant_id"], unique=False)
    op.create_table(
        "waybills",
        sa.Column("waybill_no", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("booking_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("customs_mode", sa.String(length=4), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("destination", sa.String(length=40), nullable=False),
        sa.Column("itinerary", sa.JSON(), nullable=False),
        sa.Column("cargo", sa.JSON(), nullable=False),
        sa.Column("deliver_by", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("eta", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("planned_arrival", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("position", sa.JSON(), nullable=True),
        sa.Column("last_milestone", sa.JSON(), nullable=True),
        sa.Column("alarms", sa.JSON(), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_waybills_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("waybill_no", name=op.f("pk_waybills")),
    )
    op.create_index(op.f("ix_waybills_status"), "waybills", ["status"], unique=False)
    op.create_index(op.f("ix_waybills_tenant_id"), "waybills", ["tenant_id"], unique=False)
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_webhooks_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index(op.f("ix_webhooks_tenant_id"), "webhooks", ["tenant_id"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("quote_id", sa.String(length=40), nullable=False),
        sa.Column("option_id", sa.String(length=80), nullable=False),
        sa.Column("waybill_no", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("shipper", sa.JSON(), nullable=False),
        sa.Column("consignee", sa.JSON(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("cost_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_bookings_quote_id_quotes")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_bookings_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("waybill_no", name=op.f("uq_bookings_waybill_no")),
    )
    op.create_index(op.f("ix_bookings_tenant_id"), "bookings", ["tenant_id"], unique=False)
    op.create_table(
        "tracker_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("waybill_no", sa.String(length=20), nullable=False),
        sa.Column("attached_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("detached_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.device_id"], name=op.f("fk_tracker_attachments_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["waybill_no"], ["waybills.waybill_no"], name=op.f("fk_tracker_attachments_waybill_no_waybills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_attachments")),
    )
    op.create_index(
        op.f("ix_tracker_attachments_device_id"), "tracker_attachments", ["device_id"], unique=False
    )
    op.create_index(
        op.f("ix_tracker_attachments_waybill_no"), "tracker_attachments", ["waybill_no"], unique=False
    )
    op.create_table(
        "waybill_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("waybill_no", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("classifier", sa.String(length=3), nullable=True),
        sa.Column("node_id", sa.String(length=40), nullable=True),
        sa.Column("event_time", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_time", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("inferred", sa.Boolean(), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["waybill_no"], ["waybills.waybill_no"], name=op.f("fk_waybill_events_waybill_no_waybills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waybill_events")),
    )
    op.create_index("ix_waybill_events_waybill_no_id", "waybill_events", ["waybill_no", "id"], unique=False)
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_webhook_outbox_webhook_id_webhooks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
    )
    op.create_index(
        op.f("ix_webhook_outbox_next_attempt_at"), "webhook_outbox", ["next_attempt_at"], unique=False
    )
    op.create_table(
        "capacity_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("booking_id", sa.String(length=40), nullable=False),
        sa.Column("departure_id", sa.String(length=120), nullable=False),
        sa.Column("teu", sa.Float(), nullable=False),
        sa.Column("kg", sa.Float(), nullable=False),
        sa.Column("released_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_capacity_holds_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["departure_id"],
            ["departure_loads.departure_id"],
            name=op.f("fk_capacity_holds_departure_id_departure_loads"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_holds")),
    )
    op.create_index(op.f("ix_capacity_holds_booking_id"), "capacity_holds", ["booking_id"], unique=False)


def downgrade() -> None:

    op.drop_index(op.f("ix_capacity_holds_booking_id"), table_name="capacity_holds")
    op.drop_table("capacity_holds")
    op.drop_index(op.f("ix_webhook_outbox_next_attempt_at"), table_name="webhook_outbox")
    op.drop_table("webhook_outbox")
    op.drop_index("ix_waybill_events_waybill_no_id", table_name="waybill_events")
    op.drop_table("waybill_events")
    op.drop_index(op.f("ix_tracker_attachments_waybill_no"), table_name="tracker_attachments")
    op.drop_index(op.f("ix_tracker_attachments_device_id"), table_name="tracker_attachments")
    op.drop_table("tracker_attachments")
    op.drop_index(op.f("ix_bookings_tenant_id"), table_name="bookings")
    op.drop_table("bookings")
    op.drop_index(op.f("ix_webhooks_tenant_id"), table_name="webhooks")
    op.drop_table("webhooks")
    op.drop_index(op.f("ix_waybills_tenant_id"), table_name="waybills")
    op.drop_index(op.f("ix_waybills_status"), table_name="waybills")
    op.drop_table("waybills")
    op.drop_index(op.f("ix_quotes_tenant_id"), table_name="quotes")
    op.drop_table("quotes")
    op.drop_index(op.f("ix_devices_tenant_id"), table_name="devices")
    op.drop_table("devices")
    op.drop_index(op.f("ix_readings_waybill_no"), table_name="readings")
    op.drop_table("readings")
    op.drop_table("departure_loads")
    op.drop_table("deadletters")
