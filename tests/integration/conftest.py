"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernel.broker import EmbeddedBroker, free_port
from tests.conftest import TEST_MQTT_URL


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    """The real broker of XB_TEST_MQTT_URL (Mosquitto in CI), else an embedded one for the module."""
    if TEST_MQTT_URL:
        yield TEST_MQTT_URL
        return
    broker = EmbeddedBroker("127.0.0.1", free_port()).start()
    yield broker.url
    broker.stop()
