"""Tenants and API keys: admin creates them; a key is revoked by admin or by its own tenant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import idempotency
from api.deps import ContainerDep, CurrentPrincipal, require
from kernel.errors import InvalidInput
from kernel.identity import Principal, Role, TenantKind, create_tenant, issue_key, revoke_key
from warehouse.tables import warehouses as warehouse_table

router = APIRouter(prefix="/v1", tags=["tenants and keys"])
Admin = Annotated[Principal, Depends(require())]


class TenantIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: TenantKind


class ApiKeyIn(BaseModel):
    tenant_id: str = Field(max_length=40)
    role: Role
    warehouses: list[str] = Field(default_factory=list)
    label: str | None = Field(default=None, max_length=200)


@router.post(
    "/tenants",
    summary="Create a tenant",
    description=(
        "A seller, forwarder, warehouse operator or regulator; its keys are issued with `POST /v1/api-keys`."
    ),
    status_code=201,
)
def post_tenant(
    body: TenantIn,
    container: ContainerDep,
    principal: Admin,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    def create(session: Session) -> tuple[int, dict[str, Any]]:
        row = create_tenant(session, body.name, body.kind, container.clock.now())
        return 201, {"id": row["id"], "name": row["name"], "kind": row["kind"]}

    return idempotency.run(
        container, principal, idempotency_key, "tenants", body.model_dump(mode="json"), create
    )


@router.post("/api-keys", summary="Issue an API key", status_code=201)
def post_api_key(
    body: ApiKeyIn,
    container: ContainerDep,
    principal: Admin,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Issue an API key; the key is shown once (a replay with the same `Idempotency-Key` answers without
    `key`, with the header `Secret-Withheld: key`)."""

    def create(session: Session) -> tuple[int, dict[str, Any]]:
        _check_warehouses_exist(session, body.warehouses)
        key_id, secret = issue_key(
            session, body.tenant_id, body.role, container.clock.now(), body.warehouses, body.label
        )
        return 201, {"id": key_id, "key": secret, "tenant_id": body.tenant_id, "role": body.role.value}

    return idempotency.run(
        container,
        principal,
        idempotency_key,
        "api-keys",
        body.model_dump(mode="json"),
        create,
        secrets=("key",),
    )


@router.delete("/api-keys/{key_id}", summary="Revoke an API key", status_code=204)
def delete_api_key(key_id: str, container: ContainerDep, principal: CurrentPrincipal) -> Response:
    """Revoke a key: admin any key, other roles their own tenant's; it is refused at once by this process and
    by the others within `auth_cache_seconds`. 404 for an unknown key or another tenant's."""
    with container.db.session() as session:
        revoke_key(
            session,
            key_id,
            container.clock.now(),
            tenant_id=None if principal.is_admin else principal.tenant_id,
        )
    container.principal_cache.forget_key(key_id)
    return Response(status_code=204)


def _check_warehouses_exist(session: Session, codes: list[str]) -> None:
    if not codes:
        return
    known = set(
        session.execute(
            select(warehouse_table.c.code).where(warehouse_table.c.code.in_(set(codes)))
        ).scalars()
    )
    unknown = sorted(set(codes) - known)
    if unknown:
        names = ", ".join(unknown)
        raise InvalidInput(
            f"unknown warehouses: {names}",
            errors=[{"field": "warehouses", "message": f"no such warehouse: {names}"}],
        )
