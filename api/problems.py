"""RFC 9457 problem responses: the one table that maps errors to HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.errors import DomainError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
TYPE_BASE = "https://xborder.dev/problems/"
CLOSE = {"Connection": "close"}  # after a 413: the rest of the body is not read, so the connection ends


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
# Every operation may answer a 4xx or 5xx, always as an RFC 9457 problem: documented once, on the whole app.
RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"description": "Refused: a problem", "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}},
    "5XX": {"description": "Failed: a problem", "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}},
}


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers or None)


def too_large_detail(max_bytes: int) -> str:
    return f"the request body is larger than {max_bytes} bytes (XB_MAX_BODY_BYTES)"


def too_large(max_bytes: int) -> JSONResponse:
    """The 413 problem for a body over the limit."""
    return problem(413, "Content too large", too_large_detail(max_bytes), "content-too-large", headers=CLOSE)


def too_large_from(exc: StarletteHTTPException) -> JSONResponse:
    """The 413 problem for the body limit's refusal raised while a middleware read the body."""
    return problem(exc.status_code, "Content too large", str(exc.detail), "content-too-large", headers=CLOSE)


def unsupported_detail(declared: str) -> str:
    return (
        "the request body must be JSON sent with `Content-Type: application/json` "
        f"(it came with `Content-Type: {declared}` and could not be read as JSON)"
    )


def unsupported_media_type(declared: str) -> JSONResponse:
    """The 415 problem for a body that is not JSON (or declared as another type) on a JSON route."""
    return problem(415, "Unsupported media type", unsupported_detail(declared), "unsupported-media-type")


def _body_not_an_object(exc: RequestValidationError) -> bool:
    return any(
        tuple(err.get("loc", ())) == ("body",) and err.get("type") in ("model_attributes_type", "dict_type")
        for err in exc.errors()
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append(
            {"field": ".".join(loc) or "body", "message": err.get("msg", "invalid"), "type": err.get("type")}
        )
    return out


def line_column(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of a character offset in `text`."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _malformed_json(exc: RequestValidationError) -> JSONResponse | None:
    """The 400 problem for a body that is not JSON, naming the line and column where reading stopped."""
    for err in exc.errors():
        if err.get("type") != "json_invalid":
            continue
        loc = err.get("loc", ())
        pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        doc = exc.body if isinstance(exc.body, str) else ""
        line, column = line_column(doc, pos)
        reason = str((err.get("ctx") or {}).get("error", "JSON decode error"))
        detail = f"the request body is not valid JSON: {reason} at line {line}, column {column}"
        errors = [
            {"field": "body", "message": reason, "line": line, "column": column, "type": "json_invalid"}
        ]
        return problem(400, "Malformed JSON", detail, "malformed-json", errors)
    return None


_HTTP_TITLES = {
    404: "Not found",
    405: "Method not allowed",
    401: "Unauthorized",
    403: "Forbidden",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_r: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.slug, exc.errors, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        malformed = _malformed_json(exc)
        if malformed is not None:
            return malformed
        declared = request.headers.get("content-type", "")
        if declared and "json" not in declared.lower() and _body_not_an_object(exc):
            # Another declared type (XML, say) reached a JSON route as bytes: say which header to send.
            return unsupported_media_type(declared)
        errors = _validation_errors(exc)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid input", summary, "validation", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _HTTP_TITLES.get(exc.status_code, "HTTP error")
        # The exception's headers go out with the problem (`Allow` on a 405, `Connection: close` on a 413).
        return problem(
            exc.status_code, title, str(exc.detail), title.lower().replace(" ", "-"), headers=exc.headers
        )

    @app.exception_handler(json.JSONDecodeError)
    async def _json(_r: Request, exc: json.JSONDecodeError) -> JSONResponse:
        detail = f"the request body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        errors = [{"field": "body", "message": exc.msg, "line": exc.lineno, "column": exc.colno}]
        return problem(400, "Malformed JSON", detail, "malformed-json", errors)

    # No handler for `Exception` here: Starlette would answer with it, then raise the error again to the
    # server, which logs it a second time and closes the connection: `api.app.UnhandledErrors` answers.


def internal_error() -> JSONResponse:
    """The 500 problem for an error no handler knew."""
    return problem(500, "Internal error", "the server failed; the request changed nothing", "internal")
