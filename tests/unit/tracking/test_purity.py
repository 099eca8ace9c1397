"""The tracking core stays pure: no database, web, MQTT or scheduler imports (checked on the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PURE = sorted((ROOT / "logistics" / "tracking").glob("*.py")) + [ROOT / "logistics" / "mqtt_acl.py"]
ALLOWED = ("__future__", "logistics.tracking", "kernel.errors", "kernel.clock", "routing")
STDLIB_ONLY = {
    "argparse", "base64", "collections", "dataclasses", "datetime", "enum", "hashlib", "hmac", "json", "math",
    "os", "pathlib", "re", "typing",
    "orjson",  # a JSON codec: no I/O
}  # fmt: skip


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.name)
def test_imports_are_stdlib_or_pure_xborder_modules(path: Path) -> None:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    bad = [n for n in names if n.split(".")[0] not in STDLIB_ONLY and not n.startswith(ALLOWED)]
    assert bad == []
