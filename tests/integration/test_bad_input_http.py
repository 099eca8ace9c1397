"""Input that no layer below can hold is a 4xx problem at the edge, never a 500: NUL characters (PostgreSQL
refuses them in text), numbers past their column, instants that overflow in UTC, JSON nested too deep. The NUL
and integer cases reached PostgreSQL as 500s: on SQLite they pass before the fix too."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.container import Container
from api.input_guard import MAX_JSON_DEPTH
from kernel.identity import Role
from tests.conftest import Keys
from tests.integration.warehouse.conftest import (
    World,
    world,  # noqa: F401 (the fixture `w` builds on)
)

QUOTE = {
    "origin": "CNYIB",
    "destination": "DEDUI",
    "ready_at": "2027-03-01T06:00:00Z",
    "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC"},
    "customs_mode": "9810",
}


@pytest.fixture
def w(world: World) -> World:  # noqa: F811 (the imported fixture)
    """The warehouse world: warehouses, a seller, an operator."""
    return world


def _problem(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    for word in words:
        assert word in r.text, r.text[:500]
    return body


def test_a_nul_in_a_json_string_is_a_422_problem(w: World) -> None:
    r = w.post("/v1/skus", {"sku": "NUL\x00", "name": "Nul", "weight_kg": 1, "volume_m3": 0.1})
    _problem(r, 422, "NUL")
    w.sku("PLAIN", name="a backslash then u0000: \\u0000 is no NUL")  # escaped: a literal backslash


def test_a_nul_in_a_path_is_a_422_problem(client: TestClient, keys: Keys) -> None:
    r = client.get("/v1/quotes/Q%00X", headers=keys.headers(Role.FORWARDER))
    _problem(r, 422, "NUL", "path")


def test_a_nul_in_a_query_string_is_a_422_problem(w: World) -> None:
    r = w.get("/v1/inventory", params={"sku": "A\x00B"})
    _problem(r, 422, "NUL", "query")


@pytest.mark.parametrize("qty", [2**31, 2**31 - 1, 1_000_001, -(2**31) - 1])
def test_an_inbound_qty_past_its_bound_is_a_422(w: World, qty: int) -> None:
    w.sku("BIG")
    r = w.post("/v1/inbound", {"warehouse": w.wh["de"], "lines": [{"sku": "BIG", "qty": qty}]})
    _problem(r, 422, "qty")


def test_a_cycle_count_qty_of_2_31_is_a_422(w: World) -> None:
    w.sku("CNT")
    w.stock("de", [{"sku": "CNT", "qty": 5}])
    body = {"warehouse": w.wh["de"], "lines": [{"sku": "CNT", "qty": 2**31}], "seller_id": w.seller_id}
    _problem(w.post("/v1/cycle-counts", body, w.operator), 422, "qty")


def test_a_million_units_on_a_line_are_still_accepted(w: World) -> None:
    w.sku("MANY")
    r = w.post("/v1/inbound", {"warehouse": w.wh["de"], "lines": [{"sku": "MANY", "qty": 1_000_000}]})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("field", ["weight_kg", "volume_m3"])
def test_a_sku_weight_or_volume_of_1e308_is_a_422(w: World, field: str) -> None:
    body = {"sku": "HEAVY", "name": "Heavy", "weight_kg": 1, "volume_m3": 0.1, field: 1e308}
    _problem(w.post("/v1/skus", body), 422, field)


@pytest.mark.parametrize("weight", ["1e308", "NaN", "Infinity"])
def test_a_quote_weight_that_is_not_a_finite_bounded_number_is_a_422(
    client: TestClient, keys: Keys, weight: str
) -> None:
    raw = json.dumps(QUOTE).replace('"weight_kg": 12000', f'"weight_kg": {weight}')
    r = client.post(
        "/v1/quotes",
        content=raw,
        headers={**keys.headers(Role.FORWARDER), "Content-Type": "application/json"},
    )
    _problem(r, 422, "weight_kg")


@pytest.mark.parametrize(
    "ready_at",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59Z",
    ],
)
def test_a_quote_ready_at_out_of_range_is_a_422_that_says_why(
    client: TestClient, keys: Keys, ready_at: str
) -> None:
    r = client.post("/v1/quotes", json={**QUOTE, "ready_at": ready_at}, headers=keys.headers(Role.FORWARDER))
    _problem(r, 422, "ready_at", "must lie between 1900-01-01 and 9000-01-01")


def test_an_atp_date_out_of_range_is_a_422(w: World) -> None:
    w.sku("ATP")
    r = w.get("/v1/atp", params={"sku": "ATP", "by": "0001-01-01T00:00:00+01:00"})
    _problem(r, 422, "by")


def test_900_levels_of_nested_json_are_a_422_problem(client: TestClient, keys: Keys) -> None:
    deep = "[" * 900 + "]" * 900
    raw = json.dumps(QUOTE)[:-1] + f', "references": {deep}' + "}"
    r = client.post(
        "/v1/quotes",
        content=raw,
        headers={**keys.headers(Role.FORWARDER), "Content-Type": "application/json"},
    )
    _problem(r, 422, str(MAX_JSON_DEPTH), "nests")


def test_brackets_inside_strings_do_not_count_as_nesting(client: TestClient, keys: Keys) -> None:
    r = client.post(
        "/v1/quotes", json={**QUOTE, "customs_mode": "[" * 200}, headers=keys.headers(Role.FORWARDER)
    )
    assert r.status_code == 422, r.text  # refused for what it is, an unknown customs mode
    assert "nests" not in r.text


def test_a_405_carries_allow(client: TestClient, keys: Keys) -> None:
    r = client.delete("/v1/quotes", headers=keys.headers(Role.FORWARDER))
    _problem(r, 405)
    assert r.headers["allow"] == "POST"


@pytest.fixture
def failing_server(container: Container) -> Iterator[int]:
    """A real uvicorn serving the application plus a route that fails with an error no handler knows."""
    app = create_app(container)

    @app.get("/fails")
    def fails() -> None:
        raise RuntimeError("a defect")

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(3000):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join()


def _exchange(sock: socket.socket, path: str) -> bytes:
    """One request on an open connection, and its whole response (empty if the server closed it)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_500_is_a_problem_logged_once_on_a_connection_that_stays_open(
    failing_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    with socket.create_connection(("127.0.0.1", failing_server), timeout=10) as sock:
        first = _exchange(sock, "/fails")
        second = _exchange(sock, "/fails")  # on the same connection: the first 500 did not close it
    for response in (first, second):
        assert response.startswith(b"HTTP/1.1 500"), response[:300]
        assert b"application/problem+json" in response
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 2, [(r.name, r.getMessage()) for r in caplog.records]
    assert all("a defect" in str(r.exc_info[1]) for r in tracebacks)  # type: ignore[index]


@pytest.mark.parametrize("capacity", ["Infinity", "NaN", "1e308"])
def test_a_van_capacity_that_is_not_a_finite_bounded_number_is_a_422(w: World, capacity: str) -> None:
    raw = '{"date": "2027-03-02", "vans": [{"id": "V1", "capacity_kg": ' + capacity + "}]}"
    r = w.client.post(
        f"/v1/warehouses/{w.wh['de']}/delivery-runs",
        content=raw,
        headers={**w.operator, "Content-Type": "application/json"},
    )
    _problem(r, 422, "capacity_kg")
