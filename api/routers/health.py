"""`/healthz` and `/metrics` (no auth)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ContainerDep
from kernel.clock import rfc3339

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Is the service up")
def healthz(container: ContainerDep) -> JSONResponse:
    """503 when the database, the broker connection or this process's telemetry ingest is down (`ingest`:
    not running, not connected, or messages waiting with no batch taken for a minute)."""
    database = "ok"
    try:
        container.db.ping()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        database = f"down: {type(exc).__name__}"
    mqtt = "ok" if container.mqtt_ok() else "down"
    ok = database == "ok" and mqtt == "ok"
    body: dict[str, object] = {"status": "ok", "database": database, "mqtt": mqtt}
    if container.ingest_liveness is not None:  # a process running the telemetry ingest
        problem = container.ingest_liveness()
        body["ingest"] = "ok" if problem is None else f"down: {problem}"
        ok = ok and problem is None
    body |= {
        "status": "ok" if ok else "degraded",
        "now": rfc3339(container.clock.now()),
        "clock_speed": getattr(container.clock, "speed", 1.0),
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description=(
        "Counters and histograms in the Prometheus text format (telemetry readings, HTTP "
        "requests, quote times, ...)."
    ),
    response_class=PlainTextResponse,
)  # documented as text, which it is
def metrics(container: ContainerDep) -> Response:
    return Response(generate_latest(container.metrics.registry), media_type=CONTENT_TYPE_LATEST)
