"""Every example in the README and in docs/ runs, as written, against a running service with the demo's keys.

The rule: every fenced block tagged `sh` is executed, the blocks of one page in order in one bash session
(`set -euo pipefail`, so a failing command fails the page), the pages in the order of `PAGES`. Two kinds of
block are shown and not executed: the project's own commands (a block whose first line runs `make`) and
blocks tagged `console` (a stream that runs until Ctrl-C). `curl` is wrapped to add `--fail-with-body`, so an
example answered with an error fails here and shows the problem; `localhost:8000` becomes the test server.
A drifted example (a renamed field, a changed route, a missing `Content-Type`) fails the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Server, start_server, stop_server

PAGES = [
    "README.md",
    "docs/forwarder.md",
    "docs/seller.md",
    "docs/operator.md",
    "docs/zone.md",
    "docs/operating.md",
]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def blocks(page: str) -> list[tuple[str, str]]:
    """(tag, code) of every fenced block of a page."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer((ROOT / page).read_text())]


def runnable(page: str) -> list[str]:
    return [code for tag, code in blocks(page) if tag == "sh" and not code.lstrip().startswith("make ")]


def test_every_page_is_listed_and_every_curl_is_run_or_marked() -> None:
    pages = {"README.md"} | {str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")}
    with_examples = {p for p in pages if runnable(p)}
    assert with_examples <= set(PAGES), (
        f"pages with examples the test does not run: {with_examples - set(PAGES)}"
    )
    for page in pages:
        for tag, code in blocks(page):
            if "curl " in code:
                assert tag in ("sh", "console"), f"{page}: a curl example in a `{tag}` block is never run"
            if tag == "sh" and "-XPOST" in code:
                for call in re.split(r"(?m)^(?=\S)", code):
                    if "-XPOST" in call and " -d " in call:
                        assert "Content-Type: application/json" in call, (
                            f"{page}: POST without the header:\n{call}"
                        )


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    for tool in ("curl", "jq"):
        if shutil.which(tool) is None:
            pytest.skip(f"the examples use {tool}, which is not installed")
    tmp = tmp_path_factory.mktemp("examples")
    # Its own SQLite database: the demo's seed (tenants, warehouses, stock) stays out of shared test data.
    server = start_server(
        tmp, clock_speed=1, extra_env={"XB_DATABASE_URL": f"sqlite:///{tmp / 'examples.db'}"}
    )
    workdir = tmp / "checkout"  # what the examples see as the repository: var/demo-keys.json and .venv
    (workdir / "var").mkdir(parents=True)
    (workdir / ".venv").symlink_to(Path(sys.executable).parent.parent)  # the venv, not its python
    server.cli("seed", "--keys-file", str(workdir / "var" / "demo-keys.json"))
    yield server, workdir
    stop_server(server)


@pytest.mark.parametrize("page", PAGES)
def test_examples_run(service: tuple[Server, Path], page: str) -> None:
    server, workdir = service
    code = runnable(page)
    assert code, f"{page} has no example"
    port = server.base.rsplit(":", 1)[1]
    script = "\n".join(
        [
            "set -euo pipefail",
            'curl() { command curl --fail-with-body --show-error "$@"; }',
            *(block.replace("localhost:8000", f"127.0.0.1:{port}") for block in code),
        ]
    )
    env = {**server.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(
        ["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    output = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, f"{page}: an example failed\n{output}"
    print(f"{page}\n{output}")  # shown with -s: what a reader would see
