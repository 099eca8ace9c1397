"""FastAPI dependencies: the container, the calling principal, role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from api.bootstrap import Container
from kernel.errors import Forbidden, Unauthorized
from kernel.identity import Principal, Role, authenticate


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def current_principal(request: Request, container: ContainerDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send `Authorization: Bearer <api key>`")
    with container.db.session() as session:
        principal = authenticate(session, token.strip())
    if principal.role is Role.DEVICE:
        raise Forbidden("device keys have no access to the HTTP API")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through only the given roles (admin always)."""

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role is not Role.ADMIN and principal.role not in roles:
            allowed = ", ".join(r.value for r in roles) or "admin"
            raise Forbidden(f"this call needs the role {allowed}; the key has {principal.role.value}")
        return principal

    return check
