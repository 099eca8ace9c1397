"""XB_MAX_BODY_BYTES: one MiB unless set, never below one KiB."""

from __future__ import annotations

import pytest

from kernel.settings import Settings


def test_the_body_limit_is_one_mib_unless_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_body_bytes == 1_048_576
    monkeypatch.setenv("XB_MAX_BODY_BYTES", "4096")
    assert Settings().max_body_bytes == 4096


def test_a_body_limit_below_one_kib_is_refused() -> None:
    with pytest.raises(ValueError, match="XB_MAX_BODY_BYTES"):
        Settings(max_body_bytes=1023)
