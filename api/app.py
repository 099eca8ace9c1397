"""The FastAPI application factory."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response

from api import dashboard, problems
from api.bootstrap import Container
from api.routers import admin, health


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="xborder",
        version="0.1.0",
        description="Multimodal routes out of Yibin, shared overseas warehouses and real-time tracking.",
    )
    app.state.container = container
    problems.install(app)
    app.include_router(health.router)
    app.include_router(admin.router)
    for router in _domain_routers():
        app.include_router(router)
    app.include_router(dashboard.router)

    @app.middleware("http")
    async def _count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        container.metrics.http_requests.labels(request.method, route, str(response.status_code)).inc()
        container.metrics.http_seconds.labels(route).observe(time.perf_counter() - started)
        return response

    return app


def _domain_routers() -> list[APIRouter]:
    """Routers of the domain packages; each is a thin driver of its package's handlers."""
    import importlib

    routers = []
    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        routers.append(module.router)
    return routers


# Each domain's HTTP face; order is the order in the OpenAPI document.
ROUTER_MODULES: list[str] = [
    "api.routers.network",
    "api.routers.shipments",
    "api.routers.tracking",
    "api.routers.disruptions",
    "api.routers.warehouse",
    "api.routers.warehouse_ops",
]
