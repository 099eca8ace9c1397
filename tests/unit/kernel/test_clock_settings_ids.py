"""The shared kernel: clock, settings, ids."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from kernel.clock import FixedClock, ScaledClock, rfc3339, utc
from kernel.ids import document_number, new_id
from kernel.settings import Settings


def test_scaled_clock_runs_faster_from_its_start() -> None:
    start = datetime(2027, 3, 1, tzinfo=UTC)
    clock = ScaledClock(speed=3600, start=start)
    time.sleep(0.05)
    elapsed = clock.now() - start
    assert elapsed >= timedelta(seconds=0.05 * 3600)
    assert clock.sleep_seconds(3600) == pytest.approx(1.0)


def test_scaled_clock_refuses_non_positive_speed() -> None:
    with pytest.raises(ValueError):
        ScaledClock(speed=0)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2027, 3, 1, tzinfo=UTC))
    a = clock.now()
    clock.advance(timedelta(hours=5))
    assert clock.now() - a == timedelta(hours=5)


def test_utc_and_rfc3339() -> None:
    naive = datetime(2027, 3, 1, 12, 0)
    assert utc(naive).tzinfo is UTC
    assert rfc3339(datetime(2027, 3, 1, 12, tzinfo=UTC)) == "2027-03-01T12:00:00Z"


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XB_CLOCK_SPEED", "1440")
    monkeypatch.setenv("XB_CLOCK_START", "2027-03-01T00:00:00Z")
    monkeypatch.setenv("XB_PORT", "8123")
    s = Settings()
    assert s.clock_speed == 1440
    assert s.clock_start == datetime(2027, 3, 1, tzinfo=UTC)
    assert s.port == 8123
    assert s.database_url == "sqlite:///./var/xborder.db"


def test_settings_refuse_placeholder_secret_and_bad_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XB_SECRET_KEY", "changeme")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.delenv("XB_SECRET_KEY")
    monkeypatch.setenv("XB_CLOCK_SPEED", "-2")
    with pytest.raises(ValidationError):
        Settings()


def test_production_needs_a_real_secret() -> None:
    with pytest.raises(ValueError):
        Settings(environment="production").check_production()
    Settings(environment="production", secret_key="x" * 40).check_production()


def test_ids_are_unique_sortable_and_readable() -> None:
    ids = [new_id("wb") for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(i.startswith("wb_") and len(i) == 29 for i in ids)
    no = document_number("XB")
    assert no.startswith("XB") and len(no) == 12
    assert not set(no[2:]) & set("ILOU")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("XB_INGEST_MAX_INFLIGHT", "0", "Receive Maximum"),
        ("XB_INGEST_MAX_INFLIGHT", "65536", "Receive Maximum"),
        ("XB_INGEST_BATCH_SIZE", "0", "at least 1"),
        ("XB_INGEST_READ_PAUSE_MS", "-1", "between 0 and 100"),
        ("XB_INGEST_READ_PAUSE_MS", "101", "between 0 and 100"),
    ],
)
def test_settings_refuse_an_ingest_window_mqtt_cannot_carry(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_the_ingest_window_defaults_fit_mqtt() -> None:
    s = Settings()
    assert 1 <= s.ingest_batch_size <= s.ingest_max_inflight <= 65_535
