"""The web dashboard: one HTML page and its static ES modules, served without a build step.

`GET /` is the app, `GET /static/{path}` its files (explicit routes rather than a `StaticFiles` mount, because
`include_router` does not carry mounts over). `GET /v1/me` tells the dashboard who the pasted key belongs to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import CurrentPrincipal
from kernel.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".ico": "image/x-icon",
    ".png": "image/png",
}
SWAGGER = "/static/vendor/swagger-ui"  # swagger-ui-dist's built files, vendored (see its VERSION)

# No inline script or style anywhere, so the page can forbid both; data is drawn with textContent only.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Deployments change the files under the same names; always revalidate (ETag makes that cheap).
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["dashboard"])


@router.get("/", include_in_schema=False)
def index() -> Response:
    return FileResponse(STATIC / "index.html", media_type=MEDIA_TYPES[".html"], headers=SECURITY_HEADERS)


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    """Swagger UI from the project's own files, so the docs render where the zone has no internet."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="xborder API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
    )


@router.get("/static/{path:path}", include_in_schema=False)
def static(path: str) -> Response:
    """A file under `static/`; anything outside it (`..`, absolute paths, symlinks out) is 404."""
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file() or target.suffix not in MEDIA_TYPES:
        raise NotFound(f"no dashboard file {path}")
    return FileResponse(target, media_type=MEDIA_TYPES[target.suffix], headers=SECURITY_HEADERS)


@router.get("/v1/me", summary="Who am I", tags=["tenants and keys"])
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """The calling key: its id, tenant, role and (operators) warehouses."""
    return {
        "key_id": principal.key_id,
        "tenant_id": principal.tenant_id,
        "role": principal.role.value,
        "warehouses": list(principal.warehouses),
    }
