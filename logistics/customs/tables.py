"""Customs tables: the customs data of a booking, and the outbox of messages to the single window."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text

from kernel.db import UtcDateTime, metadata

customs_declarations = Table(
    "customs_declarations",
    metadata,
    Column("waybill_no", String(20), ForeignKey("waybills.waybill_no"), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("mode", String(4), nullable=False),
    Column("data", JSON, nullable=False),  # CustomsData.to_json
    Column("route", JSON, nullable=False),  # CustomsRoute and what the messages need of the shipment
    Column("created_at", UtcDateTime(), nullable=False),
)

customs_messages = Table(
    "customs_messages",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # filing order
    Column("id", String(36), nullable=False, unique=True),  # the message's guid
    Column("waybill_no", String(20), ForeignKey("waybills.waybill_no"), nullable=False),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("type", String(6), nullable=False),  # CEB505 | CEB507 | CEB509 | CEB511 | CEB513
    Column("app_type", String(1), nullable=False),  # 1 new | 2 correction | 3 cancellation
    Column("subject", String(40), nullable=False),  # logistics number (CEB505) or node (CEB507/509)
    # One filing per fact, however often a rule runs: type, subject and what it states (a milestone's time).
    Column("fact_key", String(200), nullable=False, unique=True),
    Column("status", String(10), nullable=False),  # QUEUED | SENT | ACCEPTED | REJECTED
    Column("trigger", JSON, nullable=True),  # {"milestone", "time"}; None for the booking's own
    Column("xml", Text, nullable=False),
    Column("receipt", JSON, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Index("ix_customs_messages_waybill_no_seq", "waybill_no", "seq"),
    Index("ix_customs_messages_status_next", "status", "next_attempt_at"),
)
