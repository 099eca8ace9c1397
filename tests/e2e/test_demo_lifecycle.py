"""`xborder demo` lives and dies as one: SIGTERM, the death of the simulator, the death of the demo itself or
of its parent stop every part, and the simulator's API key never shows on a command line.

`xborder simulate` finds the broker the running service uses, and fails loudly where there is none.
Each demo runs in its own session (process group) on SQLite and its own embedded broker, so the test can
ask the kernel whether anything of it is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, free_port

WAIT_S = 90  # generous: how long a part may take to notice (a liveness bound, not a timing assertion)


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    base: str
    keys: dict[str, dict[str, str]]
    log: Path

    @property
    def pgid(self) -> int:
        return self.proc.pid  # start_new_session: the demo leads its own group


def _group_alive(pgid: int) -> list[str]:
    """The command lines of the processes left running in the process group (none: []). A zombie (a child
    of this test that exited and is not reaped yet) has stopped: it does not count."""
    out = subprocess.run(["ps", "-o", "stat=,pid=,args=", "-g", str(pgid)], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.strip() and not line.lstrip().startswith("Z")]


def _wait_until(check: object, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.25)
    tail = log.read_text()[-3000:] if log is not None else ""
    raise AssertionError(f"{what} within {WAIT_S} s\n{tail}")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _start_demo(tmp: Path, *, via_parent: bool = False) -> Demo:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XB_")}
    env |= {
        "XB_DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}",
        "XB_PORT": str(port),
        "XB_MQTT_EMBEDDED_PORT": str(free_port()),
        "XB_CLOCK_SPEED": "3600",
        "XB_MQTT_CLIENT_PREFIX": f"xb-demo-{port}",
    }
    keys_file = tmp / "demo-keys.json"
    demo = [sys.executable, "-m", "api.cli", "demo", "--keys-file", str(keys_file), "--shipments", "2"]
    # via_parent: as under `make demo`, a parent process that may die, the demo told to follow it.
    parent = ["sh", "-c", '"$@" & wait', "sh"]
    cmd = [*parent, *demo, "--exit-with-parent"] if via_parent else demo
    log = tmp / "demo.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(base + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    _wait_until(healthy, "the demo did not become healthy", log)
    _wait_until(lambda: "simulator: pid" in log.read_text(), "the simulator did not start", log)
    return Demo(proc, base, json.loads(keys_file.read_text()), log)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = _start_demo(tmp_path)
    yield d
    with contextlib.suppress(ProcessLookupError):
        os.killpg(d.pgid, signal.SIGKILL)
    d.proc.wait()


def _simulator_pid(log: Path) -> int:
    line = next(x for x in log.read_text().splitlines() if x.startswith("simulator: pid "))
    return int(line.split()[2].rstrip(","))


def test_sigterm_stops_every_part_and_no_key_is_on_a_command_line(demo: Demo) -> None:
    processes = _group_alive(demo.pgid)
    assert len(processes) == 2, processes  # the demo and its simulator, in one group
    for entry in demo.keys.values():
        assert entry["key"] not in "\n".join(processes)
    assert any(" simulate " in p for p in processes)
    demo.proc.send_signal(signal.SIGTERM)
    _wait_until(lambda: not _group_alive(demo.pgid), "parts of the demo are still running", demo.log)
    assert demo.proc.wait() == 0


def test_death_of_the_simulator_stops_the_demo(demo: Demo) -> None:
    os.kill(_simulator_pid(demo.log), signal.SIGKILL)
    _wait_until(lambda: not _group_alive(demo.pgid), "the demo outlived its simulator", demo.log)
    assert "the simulator stopped" in demo.log.read_text()


def test_death_of_the_demo_stops_the_simulator(demo: Demo) -> None:
    sim = _simulator_pid(demo.log)
    assert any(line.split()[1] == str(sim) for line in _group_alive(demo.pgid))
    demo.proc.kill()  # SIGKILL: no chance to stop anything itself
    demo.proc.wait()
    _wait_until(lambda: not _group_alive(demo.pgid), "the simulator outlived the demo", demo.log)


def test_death_of_the_parent_stops_the_demo(tmp_path: Path) -> None:
    d = _start_demo(tmp_path, via_parent=True)
    try:
        assert len(_children(d.proc.pid)) == 1  # sh -> the demo
        d.proc.kill()  # the parent (make's place) dies outright
        d.proc.wait()
        _wait_until(lambda: not _group_alive(d.pgid), "the demo outlived its parent", d.log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(d.pgid, signal.SIGKILL)


def _simulate(
    server: Server, tmp: Path, *args: str, api: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in server.env.items() if k != "XB_MQTT_URL"}
    env["XB_SIM_KEY"] = server.key("forwarder")
    cmd = [sys.executable, "-m", "api.cli", "simulate", "--api", api or server.base]
    cmd += ["--devices-file", str(tmp / "devices.json"), *args]
    return subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=120)


def test_simulate_asks_the_service_for_its_broker(server: Server, tmp_path: Path) -> None:
    done = _simulate(server, tmp_path, "--book", "1", "--duration", "2")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    host_port = server.mqtt_url.split("://", 1)[1].rsplit("@", 1)[-1].rstrip("/")
    assert summary["broker"] == host_port
    assert summary["mqtt"]["acked"] > 0


def test_simulate_fails_loudly_without_a_broker(server: Server, tmp_path: Path) -> None:
    done = _simulate(server, tmp_path, "--mqtt", f"mqtt://127.0.0.1:{free_port()}", "--duration", "2")
    assert done.returncode == 1
    assert "no MQTT broker" in done.stderr and "cannot connect" in done.stderr


def test_simulate_fails_loudly_without_the_api(server: Server, tmp_path: Path) -> None:
    done = _simulate(server, tmp_path, "--duration", "2", api=f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "cannot ask the API" in done.stderr
