"""FastAPI dependencies: the container, the calling principal, role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.container import Container
from kernel.errors import Forbidden, Unauthorized
from kernel.identity import Principal, Role, authenticate

# The dependencies below are `async` although they do no I/O of their own (a cache miss reads the key in the
# threadpool): a sync dependency costs a hop to a worker thread on every request.


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def _authenticate(container: Container, secret: str) -> Principal:
    with container.db.read_session() as session:
        return authenticate(session, secret)


async def current_principal(request: Request, container: ContainerDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send `Authorization: Bearer <api key>`")
    secret = token.strip()
    cache = container.principal_cache
    principal = cache.get(secret)
    if principal is None:
        principal = await run_in_threadpool(_authenticate, container, secret)
        cache.put(secret, principal)
    if principal.role is Role.DEVICE:
        raise Forbidden("device keys have no access to the HTTP API")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only the given roles (admin always)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role is not Role.ADMIN and principal.role not in roles:
            allowed = ", ".join(r.value for r in roles) or "admin"
            raise Forbidden(f"this call needs the role {allowed}; the key has {principal.role.value}")
        return principal

    return check


# Every role that belongs to a tenant with objects of its own: all but the regulator, which reads only
# aggregates and shared events (routes that admit it name it).
Tenant = Annotated[
    Principal, Depends(require(Role.NETWORK_OPERATOR, Role.OPERATOR, Role.FORWARDER, Role.SELLER))
]
