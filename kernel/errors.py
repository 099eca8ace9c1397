"""Domain errors, mapped to RFC 9457 problem responses in one table in `api.problems`.

DomainError
├── InvalidInput        422: the request is well-formed but breaks a rule (which one is said)
├── NotFound            404: no such object, or not visible to the caller
├── Conflict            409: the state does not allow it; a client tells the cases apart by the subclass's
│   │                        problem type (`type` ends in its `slug`), never by parsing `detail`:
│   ├── AlreadyExists       already-exists: an object with that natural key exists (SKU, order_ref, device)
│   ├── WrongState          wrong-state: the object's status does not allow the call (`current_status`)
│   ├── ConcurrentChange    concurrent-change: another request changed it meanwhile; read it again and retry
│   └── (in the packages)   insufficient-stock (warehouse.domain), capacity-full and departure-unavailable
│                           (logistics.capacity), quote-expired and departure-left (logistics.quoting)
├── Unauthorized        401: no or unknown credentials
└── Forbidden           403: known caller, wrong role

A new specific type is a subclass with its own `slug` (and `title`): `api.problems` maps every DomainError by
its class attributes, so nothing else changes. Every slug is listed in docs/problems.md (a test checks).
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


class AlreadyExists(Conflict):
    title = "Already exists"
    slug = "already-exists"


class WrongState(Conflict):
    title = "Not allowed in this state"
    slug = "wrong-state"


class ConcurrentChange(Conflict):
    title = "Changed meanwhile"
    slug = "concurrent-change"
