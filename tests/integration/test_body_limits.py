"""Request bodies over `XB_MAX_BODY_BYTES` are refused with a 413 problem before they are parsed, whether they
declare a Content-Length or come chunked, and before authentication."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import build
from api.container import Container
from kernel.clock import FixedClock
from kernel.db import Database
from kernel.identity import Role
from kernel.settings import Settings
from tests.conftest import TEST_MQTT_URL, Keys

MIB = 1024 * 1024


def _quote(padding: int) -> bytes:
    """A quote request with an unknown field of `padding` characters."""
    return json.dumps(
        {
            "origin": "CNYIB",
            "destination": "DEDUI",
            "ready_at": "2027-03-03T00:00:00Z",
            "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC"},
            "customs_mode": "9810",
            "note": "x" * padding,
        }
    ).encode()


def _assert_too_large(r: httpx.Response, limit: int) -> None:
    assert r.status_code == 413, r.text[:500]
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["connection"] == "close"
    problem = r.json()
    assert problem["status"] == 413 and problem["title"] == "Content too large"
    assert problem["type"].endswith("/content-too-large")
    assert str(limit) in problem["detail"]


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_2_mib_body_with_a_content_length_is_a_413_problem(client: TestClient, keys: Keys) -> None:
    body = _quote(2 * MIB)
    r = client.post(
        "/v1/quotes",
        headers={**keys.headers(Role.FORWARDER), "Content-Type": "application/json"},
        content=body,
    )
    _assert_too_large(r, 1_048_576)


def test_a_2_mib_chunked_body_is_a_413_problem(client: TestClient, keys: Keys) -> None:
    r = client.post(
        "/v1/quotes",
        headers={**keys.headers(Role.FORWARDER), "Content-Type": "application/json"},
        content=_chunks(_quote(2 * MIB)),
    )
    assert "content-length" not in r.request.headers
    _assert_too_large(r, 1_048_576)


def test_the_limit_comes_before_authentication(client: TestClient) -> None:
    r = client.post("/v1/quotes", headers={"Content-Type": "application/json"}, content=_quote(2 * MIB))
    _assert_too_large(r, 1_048_576)


@pytest.fixture
def small_limit(database_url: str, database: Database, clock: FixedClock) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, mqtt_url=TEST_MQTT_URL, max_body_bytes=4096)
    with TestClient(create_app(build(settings, clock=clock, db=database))) as c:
        yield c


def test_the_limit_is_the_setting_and_a_body_under_it_is_served(small_limit: TestClient, keys: Keys) -> None:
    h = {**keys.headers(Role.FORWARDER), "Content-Type": "application/json"}
    _assert_too_large(small_limit.post("/v1/quotes", headers=h, content=_quote(5000)), 4096)
    _assert_too_large(small_limit.post("/v1/quotes", headers=h, content=_chunks(_quote(5000), 1000)), 4096)
    small = _quote(100)
    assert small_limit.post("/v1/quotes", headers=h, content=small).status_code == 201
    assert small_limit.post("/v1/quotes", headers=h, content=_chunks(small, 100)).status_code == 201


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(container: Container) -> Iterator[str]:
    """The application behind a real uvicorn, as `xborder serve` runs it."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(3000):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()


def test_uvicorn_refuses_a_chunked_body_over_the_limit(served: str, keys: Keys) -> None:
    h = {**keys.headers(Role.FORWARDER), "Content-Type": "application/json"}
    with httpx.Client(base_url=served, timeout=30) as http:
        chunked = http.post("/v1/quotes", headers=h, content=_chunks(_quote(2 * MIB)))
        declared = http.post("/v1/quotes", headers=h, content=_quote(2 * MIB))
        fits = http.post("/v1/quotes", headers=h, content=_chunks(_quote(100), 100))
    _assert_too_large(chunked, 1_048_576)
    _assert_too_large(declared, 1_048_576)
    assert fits.status_code == 201, fits.text


def test_other_http_errors_keep_their_headers_in_the_problem(client: TestClient, keys: Keys) -> None:
    r = client.put("/v1/webhooks", headers=keys.headers(Role.FORWARDER), json={})
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert "POST" in r.headers["allow"]  # the router's own header, passed through
