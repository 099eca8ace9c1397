"""Start xborder as a user would: a real process on a real port, with a real broker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    env: dict[str, str]
    mqtt_url: str
    clock_start: datetime
    clock_speed: float
    started: float
    proc: subprocess.Popen[str]
    log: Path

    @property
    def service_url(self) -> str:
        """The broker URL with the service account (the embedded broker refuses anonymous clients)."""
        scheme, rest = self.mqtt_url.split("://", 1)
        user, password = self.env["XB_MQTT_SERVICE_USER"], self.env["XB_MQTT_SERVICE_PASSWORD"]
        return f"{scheme}://{user}:{password}@{rest.rsplit('@', 1)[-1]}"

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def key(self, role: str) -> str:
        return self.cli("keys", "create", "--role", role).strip().splitlines()[-1]

    def now(self) -> datetime:
        return datetime.fromisoformat(httpx.get(self.base + "/healthz").json()["now"].replace("Z", "+00:00"))


def start_server(tmp: Path, *, clock_speed: float, extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XB_")}
    db_url = os.environ.get("XB_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'e2e.db'}"
    mqtt_url = os.environ.get("XB_TEST_MQTT_URL")
    clock_start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)
    env.update(
        {
            "XB_DATABASE_URL": db_url,
            "XB_PORT": str(port),
            "XB_CLOCK_SPEED": str(clock_speed),
            "XB_CLOCK_START": clock_start.isoformat(),
            "XB_LOG_LEVEL": "warning",
            "XB_SCHEDULER_INTERVAL_SECONDS": "1",
            "XB_MQTT_CLIENT_PREFIX": f"xb-e2e-{port}",
            # Its own share group, and sessions that expire soon after the server stops: otherwise the
            # persistent session of a server started earlier in the run keeps taking its share of readings.
            "XB_INGEST_SHARE_GROUP": f"e2e-{port}",
            "XB_MQTT_SESSION_EXPIRY_S": "30",
            # The service's broker account; test clients that act as the service use it too.
            "XB_MQTT_SERVICE_USER": "xborder-service",
            "XB_MQTT_SERVICE_PASSWORD": f"e2e-{uuid.uuid4().hex}",
        }
    )
    if mqtt_url:
        env["XB_MQTT_URL"] = mqtt_url
    else:
        env["XB_MQTT_EMBEDDED_PORT"] = str(free_port())
        mqtt_url = f"mqtt311://127.0.0.1:{env['XB_MQTT_EMBEDDED_PORT']}"
    env.update(extra_env or {})
    log = tmp / f"serve-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--migrate"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError(f"serve did not become healthy:\n{log.read_text()}")
    return Server(base, env, mqtt_url, clock_start, clock_speed, time.monotonic(), proc, log)


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(20)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("e2e"), clock_speed=60_000)
    yield s
    stop_server(s)
