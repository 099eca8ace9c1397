"""Browser tests: the real server in a subprocess (SQLite temp file, embedded broker) and Debian's Chromium
driven by Playwright's sync API. Skipped, with the reason, only where no Chromium binary exists."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CLOCK_START = "2027-03-01T00:00:00Z"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_path() -> str | None:
    return os.environ.get("XB_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Server:
    base: str
    env: dict[str, str]
    cwd: Path
    mqtt_port: int
    proc: subprocess.Popen[bytes]
    log: Path
    keys: dict[str, str] = field(default_factory=dict)

    def cli_key(self, role: str, *warehouses: str) -> str:
        """A new API key from `xborder keys create` (the key is the last line of stdout)."""
        args = ["keys", "create", "--role", role]
        for w in warehouses:
            args += ["--warehouse", w]
        out = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    def key(self, role: str, *warehouses: str) -> str:
        """A key of a new tenant: the admin key comes from the CLI once, the rest from the admin API (a CLI
        process per key costs seconds of interpreter start-up)."""
        if role == "admin":
            if "admin" not in self.keys:
                self.keys["admin"] = self._admin_key()
            return self.keys["admin"]
        with self.api(self.key("admin")) as api:
            tenant = api.post("/v1/tenants", json={"name": f"browser test {role}", "kind": role})
            assert tenant.status_code == 201, tenant.text
            made = api.post(
                "/v1/api-keys",
                json={"tenant_id": tenant.json()["id"], "role": role, "warehouses": list(warehouses)},
            )
            assert made.status_code == 201, made.text
            return str(made.json()["key"])

    def _admin_key(self) -> str:
        """Issued in-process on the server's database (`cli_key` covers the CLI path in its own test)."""
        from datetime import datetime

        from kernel.db import Database, make_engine
        from kernel.identity import Role, ensure_platform_tenant, issue_key

        engine = make_engine(self.env["XB_DATABASE_URL"])
        try:
            with Database(engine).session() as s:
                now = datetime.fromisoformat(CLOCK_START.replace("Z", "+00:00"))
                _, secret = issue_key(s, ensure_platform_tenant(s, now), Role.ADMIN, now, [], "browser tests")
        finally:
            engine.dispose()
        return secret

    def api(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {key}"}, timeout=60)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium binary: install Debian's `chromium` or set XB_TEST_CHROMIUM")
    return path


@dataclass
class Starting:
    base: str
    env: dict[str, str]
    cwd: Path
    mqtt_port: int
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="session")
def server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starting]:
    """`xborder serve --migrate` on free ports; started before Chromium launches so the two overlap."""
    tmp = tmp_path_factory.mktemp("dashboard")
    port, mqtt_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XB_")}
    env.update(
        {
            "XB_DATABASE_URL": f"sqlite:///{tmp / 'dashboard.db'}",
            "XB_PORT": str(port),
            "XB_MQTT_EMBEDDED_PORT": str(mqtt_port),
            "XB_MQTT_CLIENT_PREFIX": f"xb-browser-{port}",
            # The service's broker account: the test publishes waybill status as the service does.
            "XB_MQTT_SERVICE_PASSWORD": f"browser-{port}-{os.getpid()}-service",
            "XB_CLOCK_START": CLOCK_START,
            "XB_LOG_LEVEL": "warning",
        }
    )
    log = tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--migrate"],
            env=env,
            cwd=tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield Starting(f"http://127.0.0.1:{port}", env, tmp, mqtt_port, proc, log)
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="session")
def server(server_process: Starting) -> Server:
    """The server once `/healthz` answers 200."""
    proc, log = server_process.proc, server_process.log
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"xborder serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(server_process.base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"xborder serve did not become healthy:\n{log.read_text()}")
        time.sleep(0.2)
    return Server(
        server_process.base, server_process.env, server_process.cwd, server_process.mqtt_port, proc, log
    )


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots of the main views, for a person to look at (`XB_SCREENSHOTS=dir` keeps them there)."""
    target = os.environ.get("XB_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        return Path(target)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def browser_context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB", timezone_id="UTC")
    yield context
    context.close()


@pytest.fixture
def page(server_process: Starting, browser_context: Any, server: Server) -> Iterator[Any]:
    """A new tab (sessionStorage is per tab, so it starts signed out) that fails the test on any uncaught
    JavaScript error."""
    pg = browser_context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(server.base + "/")
    yield pg
    pg.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def sign_in(page: Any, key: str) -> None:
    page.fill("#api-key", key)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#whoami:not([hidden])")


LEAKS = re.compile(r"\b(undefined|null|NaN)\b|\[object Object\]")


def shoot(page: Any, shots: Path, name: str) -> None:
    """Screenshot a view after checking it shows no leaked JavaScript values (`undefined`, `null`, ...)."""
    text = page.locator("main").inner_text()
    leak = LEAKS.search(text)
    assert leak is None, (
        f"the {name} view shows {leak.group(0)!r}: ...{text[max(0, leak.start() - 80) : leak.end() + 80]}..."
    )
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
