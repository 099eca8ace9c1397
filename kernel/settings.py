"""One typed settings object, read once at the entrypoint from `XB_*` environment variables."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.outbound import TargetPolicy

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xborder"}
# Words that mark a key copied from an example rather than generated (refused in production).
PLACEHOLDER_MARKS = ("changeme", "change-me", "change_me", "placeholder", "insecure", "example")
DEV_SECRET = "dev-only-insecure-secret-key-change-me"
# Characters; `python3 -c "import secrets; print(secrets.token_urlsafe(32))"` prints 43.
MIN_PRODUCTION_SECRET = 32
PRODUCTION_NAMES = {"production", "prod"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XB_", extra="ignore")

    database_url: str = "sqlite:///./var/xborder.db"
    mqtt_url: str | None = None
    mqtt_embedded_port: int = 1883
    mqtt_client_prefix: str = "xborder"
    mqtt_topic_root: str = "xborder/v1"
    # The service's own broker account (ingest, status publisher, stream). With the embedded broker and no
    # password set, a random one is made at startup; a real broker needs the pair that `xborder mqtt-config`
    # wrote (credentials in XB_MQTT_URL take precedence).
    mqtt_service_user: str = "xborder-service"
    mqtt_service_password: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Keys are derived from it (HKDF) for what must be recoverable, such as webhook secrets sealed at rest:
    # changing it makes those unreadable. In production: at least 32 characters, not a placeholder.
    secret_key: str = DEV_SECRET
    environment: str = "development"  # "production" (any case; "prod" too) turns on the production checks
    clock_speed: float = 1.0
    clock_start: datetime | None = None
    horizon_weeks: int = 8
    rate_table: str | None = None  # XB_RATE_TABLE: rate table JSON (routing/rate_table.py)
    network_file: str | None = None  # an imported network (`xborder network import`); default: the reference
    ingest_share_group: str = "xborder-ingest"
    mqtt_session_expiry_s: int = 86_400
    # A burst is taken in batches of up to `ingest_batch_size` readings per transaction, with up to
    # `ingest_max_inflight` unacknowledged messages on their way from the broker (MQTT 5 Receive Maximum): a
    # wide window keeps the network thread busy while a batch commits (bench_ingest: 1,000 / 500 -> 10,000 /
    # 2,000 took the ingest's CPU per reading from 0.36 to 0.27 ms).
    ingest_batch_size: int = 2000
    ingest_max_inflight: int = 10_000
    ingest_batch_seconds: float = 0.05
    # After a read of only a few messages the ingest's network loop rests this long, so that the next read
    # brings what came meanwhile (0: never): at a steady rate, or in a burst that shares the cores, it takes
    # messages several at a time instead of one select, recv and lock hand-over each (kernel.mqtt_wire).
    # bench_ingest at a steady 1,000 readings/s: 15.5 % of a core without, 12.8 % with 5 ms; p50 latency
    # 31 -> 41 ms.
    ingest_read_pause_ms: float = 5.0
    scheduler_interval_seconds: float = 5.0
    log_level: str = "info"
    # How long an authenticated API key is trusted without reading its row again (0: read it on every
    # request). A key revoked in the database stops working at most this many seconds later.
    auth_cache_seconds: float = 2.0
    # How long an `Idempotency-Key` answers with the first result; older answers are purged and the key
    # may be used again.
    idempotency_ttl_hours: float = 24.0
    # Webhook targets allowed although internal (loopback, private, link-local ...), for receivers on the
    # premises: host names, addresses and CIDR networks, comma-separated. Empty: only global addresses.
    webhook_allow_hosts: str = ""
    # Delivery runs. A site's own geocoder (Nominatim or Photon base URL) for ship-to addresses without
    # lat/lon; unset: the offline GeoNames gazetteer shipped with the package (city names only).
    geocoder_url: str | None = None
    geocoder_kind: Literal["nominatim", "photon"] = "nominatim"
    # A site's OSRM server for road km and drive times; unset: geodesic x circuity factor at 30 km/h.
    routing_engine_url: str | None = None
    # The largest request body accepted (bytes); a larger one is answered 413 before it is read to the end.
    max_body_bytes: int = 1_048_576
    # Where customs declarations go: `simulated` (an in-process single window answering receipts, for the
    # demo and tests), `directory:/path` (files in /path/out, receipts read from /path/in) or `none`.
    customs_gateway: str = "simulated"
    # Statistics seen by the regulator: a group with fewer distinct tenants than this is suppressed, so that
    # one or two companies' volumes cannot be read off (the usual "rule of three" of statistical offices).
    stats_min_tenants: int = 3
    # Exchange rates for declared values in CNY: a JSON file of the shape of logistics/exchange_rates.json
    # (each rate with its date and source); default: that file.
    exchange_rates_file: str | None = None

    @field_validator("clock_speed")
    @classmethod
    def _positive_speed(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("XB_CLOCK_SPEED must be greater than 0")
        return v

    @field_validator("ingest_max_inflight")
    @classmethod
    def _receive_maximum(cls, v: int) -> int:
        if not 1 <= v <= 65_535:
            raise ValueError("XB_INGEST_MAX_INFLIGHT is an MQTT 5 Receive Maximum: 1 to 65535")
        return v

    @field_validator("ingest_read_pause_ms")
    @classmethod
    def _read_pause(cls, v: float) -> float:
        if not 0 <= v <= 100:
            raise ValueError("XB_INGEST_READ_PAUSE_MS must be between 0 and 100")
        return v

    @field_validator("ingest_batch_size")
    @classmethod
    def _batch_size(cls, v: int) -> int:
        if v < 1:
            raise ValueError("XB_INGEST_BATCH_SIZE must be at least 1")
        return v

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder(cls, v: str) -> str:
        if v.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("XB_SECRET_KEY is a placeholder; set a long random value")
        return v

    @field_validator("webhook_allow_hosts")
    @classmethod
    def _allow_list(cls, v: str) -> str:
        TargetPolicy.parse(v)  # raises ValueError naming the entry it cannot read
        return v

    @field_validator("max_body_bytes")
    @classmethod
    def _body_limit(cls, v: int) -> int:
        if v < 1024:
            raise ValueError("XB_MAX_BODY_BYTES must be at least 1024")
        return v

    @field_validator("mqtt_service_password")
    @classmethod
    def _no_placeholder_password(cls, v: str | None) -> str | None:
        if v is not None and (v.strip().lower() in PLACEHOLDER_SECRETS or len(v) < 12):
            raise ValueError("XB_MQTT_SERVICE_PASSWORD is a placeholder or shorter than 12 characters")
        return v

    @property
    def is_production(self) -> bool:
        return self.environment.strip().lower() in PRODUCTION_NAMES

    @property
    def webhook_targets(self) -> TargetPolicy:
        """The outbound policy of webhook deliveries (`XB_WEBHOOK_ALLOW_HOSTS` parsed)."""
        return TargetPolicy.parse(self.webhook_allow_hosts)

    def check_production(self) -> None:
        """Refuse to run in production with the development secret, a short one or a placeholder."""
        if not self.is_production:
            return
        key = self.secret_key.strip()
        if key == DEV_SECRET:
            raise ValueError("XB_SECRET_KEY must be set in production")
        if len(key) < MIN_PRODUCTION_SECRET:
            raise ValueError(f"XB_SECRET_KEY needs at least {MIN_PRODUCTION_SECRET} characters in production")
        if any(mark in key.lower() for mark in PLACEHOLDER_MARKS):
            raise ValueError("XB_SECRET_KEY looks like a placeholder; set a long random value in production")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
