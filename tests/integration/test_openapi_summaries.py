"""Every operation in /openapi.json has a summary written for people, not the one FastAPI makes from the
function's name ("Post Pick"), and says what it does (a description, or a summary that is a sentence)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def _generated(operation_id: str, path: str, method: str) -> str:
    """FastAPI's own summary: the endpoint function's name, title-cased."""
    name = operation_id.removesuffix(f"_{method}")
    name = re.sub(r"_v1_.*$", "", name) if "_v1_" in name else name
    name = name.removesuffix("_" + re.sub(r"\W", "_", path).strip("_"))
    return name.replace("_", " ").title()


def test_every_operation_has_a_human_summary(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    bad = []
    count = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            count += 1
            summary = op.get("summary", "")
            generated = _generated(op.get("operationId", ""), path, method)
            if not summary or summary == generated or summary.istitle() and len(summary.split()) > 1:
                bad.append(f"{method.upper()} {path}: {summary!r}")
            elif not (op.get("description") or "").strip():
                bad.append(f"{method.upper()} {path}: no description")
    assert count >= 60
    assert not bad, "operations without a human summary or description:\n" + "\n".join(bad)
