"""Device ids that would break the broker's files or take the service's client ids are refused."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from kernel.identity import Role
from tests.conftest import Keys


@pytest.mark.parametrize(
    "device_id",
    [
        "xborder-ingest",  # the ingest's client id: a device's session runs under its device id
        "xborder-api-host-1",
        "XBORDER-probe-1",
        "trk-newline\n",  # a trailing newline would split the Mosquitto password file's line
    ],
)
def test_a_device_id_reserved_or_malformed_is_refused(client: TestClient, keys: Keys, device_id: str) -> None:
    h = keys.headers(Role.FORWARDER)
    r = client.post("/v1/devices", json={"device_id": device_id, "kind": "container"}, headers=h)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["device_id"]


def test_an_ordinary_device_id_is_registered(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    device_id = f"trk-{uuid.uuid4().hex[:10]}"
    r = client.post("/v1/devices", json={"device_id": device_id, "kind": "container"}, headers=h)
    assert r.status_code == 201, r.text
