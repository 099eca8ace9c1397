"""Logistics tables (SQLAlchemy Core). Events are append-only; corrections are new rows."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)

from kernel.db import UtcDateTime, metadata

quotes = Table(
    "quotes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("request", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)

departure_loads = Table(
    "departure_loads",
    metadata,
    # "<service id>@<departure>": service ids of an imported network are not bounded (l0008)
    Column("departure_id", String(240), primary_key=True),
    Column("service_id", String(200), nullable=False),
    Column("departure", UtcDateTime(), nullable=False),
    Column("capacity_teu", Float, nullable=False),
    Column("booked_teu", Float, nullable=False, default=0.0),
    Column("capacity_kg", Float, nullable=False),
    Column("booked_kg", Float, nullable=False, default=0.0),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("quote_id", String(40), ForeignKey("quotes.id"), nullable=False),
    Column("option_id", String(80), nullable=False),
    Column("waybill_no", String(20), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("shipper", JSON, nullable=False),
    Column("consignee", JSON, nullable=False),
    Column("references", JSON, nullable=False),
    Column("cost_amount", Numeric(14, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("cancelled_at", UtcDateTime(), nullable=True),
)

capacity_holds = Table(
    "capacity_holds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("booking_id", String(40), ForeignKey("bookings.id"), nullable=False, index=True),
    Column("departure_id", String(240), ForeignKey("departure_loads.departure_id"), nullable=False),
    Column("teu", Float, nullable=False),
    Column("kg", Float, nullable=False),
    Column("released_at", UtcDateTime(), nullable=True),
)

waybills = Table(
    "waybills",
    metadata,
    Column("waybill_no", String(20), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("booking_id", String(40), nullable=True),
    Column("kind", String(20), nullable=False, default="shipment"),
    Column("status", String(20), nullable=False, index=True),
    Column("customs_mode", String(4), nullable=False),
    Column("origin", String(40), nullable=False),
    Column("destination", String(40), nullable=False),
    Column("itinerary", JSON, nullable=False),
    Column("cargo", JSON, nullable=False),
    Column("deliver_by", UtcDateTime(), nullable=True),
    Column("eta", UtcDateTime(), nullable=True),
    Column("planned_arrival", UtcDateTime(), nullable=True),
    Column("position", JSON, nullable=True),
    Column("last_milestone", JSON, nullable=True),
    Column("alarms", JSON, nullable=False, default=list),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("track_state", JSON, nullable=True),  # the tracking fold's state, to continue it incrementally
    # A fold state some readings behind it (the fold of every reading up to its last one), and how many
    # readings were folded after it: a late reading re-folds from there with only the readings since.
    Column("track_checkpoint", JSON, nullable=True),
    Column("track_since_checkpoint", Integer, nullable=True),
)

waybill_events = Table(
    "waybill_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("waybill_no", String(20), ForeignKey("waybills.waybill_no"), nullable=False),
    Column("kind", String(20), nullable=False),  # milestone | status | alarm | plan | note
    Column("code", String(20), nullable=False),
    Column("classifier", String(3), nullable=True),
    Column("node_id", String(40), nullable=True),
    Column("event_time", UtcDateTime(), nullable=False),
    Column("recorded_time", UtcDateTime(), nullable=False),
    Column("inferred", Boolean, nullable=False, default=False),
    Column("superseded_by", Integer, nullable=True),
    Column("detail", JSON, nullable=True),
    Index("ix_waybill_events_waybill_no_id", "waybill_no", "id"),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("secret_hash", String(200), nullable=False),
    Column("report_interval_s", Integer, nullable=False, default=1800),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seq", BigInteger, nullable=True),
    Column("last_seen_at", UtcDateTime(), nullable=True),
)

tracker_attachments = Table(
    "tracker_attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(64), ForeignKey("devices.device_id"), nullable=False, index=True),
    Column("waybill_no", String(20), ForeignKey("waybills.waybill_no"), nullable=False, index=True),
    Column("attached_at", UtcDateTime(), nullable=False),
    Column("detached_at", UtcDateTime(), nullable=True),
)

readings = Table(
    "readings",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("waybill_no", String(20), nullable=True),
    Column("ts", UtcDateTime(), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("data", JSON, nullable=False),
    Column("quarantine", String(200), nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Index("ix_readings_waybill_no_ts", "waybill_no", "ts"),  # a waybill's readings from a time on
)

deadletters = Table(
    "deadletters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(300), nullable=False),
    Column("device_id", String(64), nullable=True),
    Column("reason", String(500), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    Column("secret", Text, nullable=False),  # sealed: kernel.sealing, opened only to sign a delivery
    Column("created_at", UtcDateTime(), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(40), ForeignKey("webhooks.id"), nullable=False),
    Column("event", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False, index=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

disruptions = Table(
    "disruptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # suspend | close | delay
    Column("spec", JSON, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("created_by", String(40), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("lifted_at", UtcDateTime(), nullable=True),
    Column("summary", JSON, nullable=True),
)

service_overrides = Table(
    "service_overrides",
    metadata,
    Column("service_id", String(200), primary_key=True),
    Column("patch", JSON, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("updated_by", String(40), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# One row per booked shipment, recomputed from the waybill and its event log in the transaction that changes
# them (logistics/shipment_facts.py): the statistics read side, exact by construction, never a counter.
shipment_facts = Table(
    "shipment_facts",
    metadata,
    Column("waybill_no", String(20), ForeignKey("waybills.waybill_no"), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("customs_mode", String(4), nullable=False),
    Column("corridor", Text, nullable=False),  # an imported network's corridor names have no bound
    Column("origin", String(40), nullable=False),
    Column("destination_country", String(2), nullable=False),
    Column("booked_at", UtcDateTime(), nullable=False),
    Column("month", String(7), nullable=False),
    Column("booked_arrival", UtcDateTime(), nullable=True),
    Column("status", String(20), nullable=False),
    Column("teu", Float, nullable=False),
    Column("gross_kg", Float, nullable=False),
    Column("co2e_kg", Float, nullable=False),
    Column("parcels", Integer, nullable=False),
    Column("declared_value", Numeric(16, 2), nullable=True),
    Column("declared_currency", String(3), nullable=True),
    Column("departed_at", UtcDateTime(), nullable=True),
    Column("arrived_at", UtcDateTime(), nullable=True),
    Column("replans", Integer, nullable=False),
    Index("ix_shipment_facts_booked_at", "booked_at"),
    Index("ix_shipment_facts_tenant_booked_at", "tenant_id", "booked_at"),
)

# Acknowledgements of a waybill's alarms. The alarm list is rebuilt from the readings on every refresh, so an
# acknowledgement is kept apart, keyed by the alarm's identity (waybill, kind, the raised_at it carries): an
# alarm that clears and is raised again later has a new raised_at and is unacknowledged again.
alarm_acknowledgements = Table(
    "alarm_acknowledgements",
    metadata,
    Column("waybill_no", String(20), ForeignKey("waybills.waybill_no"), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("raised_at", String(40), primary_key=True),  # RFC 3339, exactly as the alarm carries it
    Column("acknowledged_by", String(40), nullable=False),  # the API key's id
    Column("acknowledged_at", UtcDateTime(), nullable=False),
    Column("assignee", String(100), nullable=True),
    Column("note", String(500), nullable=True),
)
