"""Every problem type the code can raise is documented in docs/problems.md, with its status."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from kernel.errors import DomainError

DOC = Path(__file__).resolve().parents[2] / "docs" / "problems.md"
PACKAGES = ("kernel", "logistics", "warehouse", "api")


def _all_subclasses(cls: type[DomainError]) -> set[type[DomainError]]:
    out: set[type[DomainError]] = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_all_subclasses(sub)}
    return out


def test_every_domain_error_slug_is_documented_with_its_status() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)
    rows = re.findall(r"^\| (\d{3}) \| `([a-z-]+)` \|", DOC.read_text(), re.M)
    documented = {slug: int(status) for status, slug in rows}
    errors = _all_subclasses(DomainError) | {DomainError}
    assert len(errors) >= 10
    missing = {e.slug for e in errors} - documented.keys()
    assert not missing, f"problem types not in docs/problems.md: {sorted(missing)}"
    for e in errors:
        assert documented[e.slug] == e.status, e
    slugs = [e.slug for e in errors]
    assert len(slugs) == len(set(slugs)), "two error classes share a problem type"
