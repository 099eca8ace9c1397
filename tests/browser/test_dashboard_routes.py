"""The dashboard's HTTP routes, in-process (no browser): the page, its files, and `GET /v1/me`."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.dashboard import STATIC
from kernel.identity import Role, TenantKind


def test_the_page_is_served_with_a_strict_content_security_policy(client: Any) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    # every script and stylesheet the page names is served from /static with the right type
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        expected = "text/javascript" if ref.endswith(".js") else "text/css"
        assert asset.headers["content-type"].startswith(expected), ref


def test_every_module_import_resolves_to_a_served_file(client: Any) -> None:
    """A typo in an import path would blank the page in the browser; catch it here too."""
    modules = sorted(STATIC.rglob("*.js"))
    assert modules
    for module in modules:
        for spec in re.findall(r'^import .* from "(\.{1,2}/[^"]+)";', module.read_text(), flags=re.M):
            target = (module.parent / spec).resolve()
            url = "/static/" + target.relative_to(STATIC).as_posix()
            assert client.get(url).status_code == 200, f"{module.name} imports {spec}"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../__init__.py",
        "/static/%2e%2e/__init__.py",
        "/static/..%2f..%2fpyproject.toml",
        "/static/js",
        "/static/nothing.js",
        "/static//etc/passwd",
    ],
)
def test_nothing_outside_the_static_folder_is_served(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "import" not in r.text


def test_me_names_the_role_tenant_and_warehouses_of_the_key(client: Any, keys: Any) -> None:
    tenant = keys.tenant(TenantKind.OPERATOR)
    r = client.get("/v1/me", headers=keys.headers(Role.OPERATOR, tenant, ["DEDUI", "PLLOD"]))
    assert r.status_code == 200
    assert r.json()["role"] == "operator"
    assert r.json()["tenant_id"] == tenant
    assert r.json()["warehouses"] == ["DEDUI", "PLLOD"]


def test_me_refuses_a_missing_or_unknown_key_with_a_problem(client: Any) -> None:
    missing = client.get("/v1/me")
    unknown = client.get("/v1/me", headers={"Authorization": "Bearer xb_nope_nothing"})
    for r in (missing, unknown):
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["title"] == "Unauthorized"
        assert r.json()["detail"]
