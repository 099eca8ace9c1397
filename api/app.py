"""The FastAPI application factory."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import dashboard, problems
from api.container import Container
from api.input_guard import InputGuard
from api.json_bodies import JsonBodies
from api.metrics import Metrics
from api.routers import admin, health

log = logging.getLogger(__name__)


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="xborder",
        version="0.1.0",
        description="Multimodal routes out of Yibin, shared overseas warehouses and real-time tracking.",
        responses=problems.RESPONSES,
        # /docs is served by the dashboard from vendored Swagger UI files (it renders offline); no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.container = container
    problems.install(app)
    app.include_router(health.router)
    app.include_router(admin.router)
    for router in _domain_routers():
        app.include_router(router)
    app.include_router(dashboard.router)

    app.add_middleware(InputGuard)  # inside the body limit: it reads bodies whole
    app.add_middleware(JsonBodies)  # a JSON body sent as a form (curl -d) is read as JSON
    app.add_middleware(BodyLimit, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(UnhandledErrors)
    app.add_middleware(RequestMetrics, metrics=container.metrics)  # outermost: it counts 413s, 500s
    return app


class UnhandledErrors:
    """Answers an error no handler knew with a 500 problem, logged once, on a connection that stays open.

    Starlette's own last resort answers and then raises the error again to the server, which logs it a second
    time and closes the keep-alive connection. Only an error after the response has started goes on to the
    server: the connection cannot be saved then.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if started:
                raise
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            await problems.internal_error()(scope, receive, send)


class BodyLimit:
    """Refuses a request body over `max_bytes` (`XB_MAX_BODY_BYTES`) with a 413 problem, before it is parsed.

    A declared `Content-Length` over the limit is answered at once, without routing or reading a byte of
    the body; a body without one (chunked) is counted as the application reads it and refused at the chunk
    that crosses the limit, so at most `max_bytes` plus one chunk is ever held. The 413 closes the connection:
    the rest of the body is not worth reading.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = problems.too_large(self.max_bytes)
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI lets an HTTPException out of the body's reading as it is: `problems` answers it.
                    raise HTTPException(413, problems.too_large_detail(self.max_bytes), problems.CLOSE)
            return message

        # With a Content-Length the server delivers no more than it declares: only a body without is counted.
        await self.app(scope, receive if declared is not None else counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestMetrics:
    """Counts every response by method, route and status, and times it to its first byte.

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` runs each request in its own task group with
    memory streams, a cost paid on every call.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                self.metrics.http_requests.labels(scope["method"], route, str(message["status"])).inc()
                self.metrics.http_seconds.labels(route).observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, counted)


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
    "api.routers.rates",
    "api.routers.shipments",
    "api.routers.tracking",
    "api.routers.customs",
    "api.routers.disruptions",
    "api.routers.warehouse_catalog",
    "api.routers.warehouse_inbound",
    "api.routers.warehouse_stock",
    "api.routers.warehouse_orders",
    "api.routers.warehouse_transfers",
    "api.routers.warehouse_returns",
    "api.routers.warehouse_replenishment",
    "api.routers.warehouse_delivery_runs",
    "api.routers.stats",
    "api.routers.dcsa",
]
