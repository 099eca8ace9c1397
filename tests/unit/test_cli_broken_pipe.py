"""A command whose reader stops early (`xborder keys list | head -n 1`) ends quietly with status 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_network_export_piped_into_head_ends_without_a_traceback(tmp_path: Path) -> None:
    # `network export` prints the whole reference network (far more than a pipe buffer), so the writer is
    # still writing when `head` has its line and closes the pipe.
    script = f"'{sys.executable}' -m api.cli network export | head -n 1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={"XB_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr == ""
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1
