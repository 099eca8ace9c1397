"""How the demo's processes live and die together.

`xborder demo` is one HTTP server process and one simulator child, in the process group they were started in
(the terminal's, under `make demo`), so Ctrl-C reaches both. The other ways one part can end are covered here:

- the demo stops the simulator when it stops, and stops itself when the simulator dies (`DemoSimulator`);
- the simulator watches its parent (`watch_parent`): if the demo is killed outright (SIGKILL, a crash), the
  simulator is re-parented and stops on its own within a second;
- under `make demo`, the demo watches make the same way (`--exit-with-parent`), and make forwards SIGTERM.

Secrets never go on a command line (`ps` shows every process's argv to every user): the simulator's API key
travels in its environment (`XB_SIM_KEY`), which only the same user can read.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger("xborder")

PARENT_PID_ENV = "XB_SIM_PARENT_PID"  # the simulator stops when this process is no longer its parent


def watch_parent(parent_pid: int, on_gone: Callable[[], None], every_s: float = 0.5) -> threading.Thread:
    """Call `on_gone` once when this process's parent is no longer `parent_pid` (it died; we were adopted)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every_s)
        on_gone()

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def stop_self() -> None:
    """Ask this process to stop as Ctrl-C would: uvicorn and `_wait_for_signal` handle SIGTERM cleanly."""
    os.kill(os.getpid(), signal.SIGTERM)


class DemoSimulator:
    """The demo's simulator child: started once the API answers, stopped with the demo, and its death ends
    the demo (a demo without its fleet would look alive and do nothing)."""

    def __init__(self, api_url: str, key: str, args: list[str], *, on_death: Callable[[], None] = stop_self):
        self.api_url = api_url
        self.key = key
        self.args = args
        self.on_death = on_death
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> DemoSimulator:
        self._thread = threading.Thread(target=self._run, name="demo-simulator", daemon=True)
        self._thread.start()
        return self

    def _api_up(self, deadline_s: float = 120) -> bool:
        import httpx

        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline and not self._stopping:
            try:
                if httpx.get(f"{self.api_url}/healthz", timeout=2).json().get("status") == "ok":
                    return True
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        return False

    def _run(self) -> None:
        if not self._api_up():
            if not self._stopping:
                log.error("the API did not come up; stopping the demo")
                self.on_death()
            return
        env = dict(os.environ) | {"XB_SIM_KEY": self.key, PARENT_PID_ENV: str(os.getpid())}
        cmd = [sys.executable, "-m", "api.cli", "simulate", "--api", self.api_url, *self.args]
        with self._lock:
            if self._stopping:
                return
            self.proc = subprocess.Popen(cmd, env=env)
        print(f"simulator: pid {self.proc.pid}, {' '.join(cmd[3:])}", flush=True)
        rc = self.proc.wait()
        if not self._stopping:
            print(f"the simulator stopped (exit {rc}); stopping the demo", file=sys.stderr, flush=True)
            self.on_death()

    def stop(self, timeout: float = 10) -> None:
        with self._lock:
            self._stopping = True
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
