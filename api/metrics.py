"""Prometheus metrics of the whole service, on one registry passed down from the container."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.telemetry = Counter(
            "xborder_telemetry_messages_total",
            "Telemetry readings by outcome (one per reading, also inside array payloads).",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("accepted", "duplicate", "rejected", "deadletter"):
            self.telemetry.labels(outcome=outcome)
        self.http_requests = Counter(
            "xborder_http_requests_total",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "xborder_http_request_seconds", "HTTP request latency.", ["route"], registry=self.registry
        )
        self.quote_seconds = Histogram(
            "xborder_quote_seconds",
            "Time to plan one quote.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.ingest_batch_seconds = Histogram(
            "xborder_ingest_batch_seconds", "Time to commit one ingest batch.", registry=self.registry
        )
        self.broker_refusals = Counter(
            "xborder_broker_refusals_total",
            "What the embedded MQTT broker refused: action connect, will, publish, subscribe or packet; "
            "reason bad_credentials, no_credentials, lookup_failed, not_allowed, too_large or malformed.",
            ["action", "reason"],
            registry=self.registry,
        )
        for action, reason in (
            ("connect", "bad_credentials"),
            ("publish", "not_allowed"),
            ("subscribe", "not_allowed"),
            ("will", "not_allowed"),
            ("packet", "too_large"),
        ):
            self.broker_refusals.labels(action=action, reason=reason)
        self.webhook_deliveries = Counter(
            "xborder_webhook_deliveries_total",
            "Webhook delivery attempts.",
            ["outcome"],
            registry=self.registry,
        )
