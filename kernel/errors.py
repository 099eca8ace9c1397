"""Domain errors, mapped to RFC 9457 problem responses in one table in `api.problems`.

DomainError
├── InvalidInput        422: the request is well-formed but breaks a rule (which one is said)
├── NotFound            404: no such object, or not visible to the caller
├── Conflict            409: the state does not allow it (full departure, not enough stock, ...)
├── Unauthorized        401: no or unknown credentials
└── Forbidden           403: known caller, wrong role
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class NotFound(DomainError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"
