"""What every warehouse router shares: the roles, the idempotent create, and the shipment ports.

Each warehouse module has its own thin router (`warehouse_orders`, `warehouse_returns`, ...): it builds the
module's command from the request body, calls the handler in one transaction and shapes the answer with one
view of `warehouse.views`. The shipment ports are bound to that transaction (`warehouse_ports`); until the
composition root wires the route planner, booking a transfer or a return to origin answers 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api import idempotency
from api.container import Container
from api.deps import require
from kernel.identity import Principal, Role
from warehouse.ports import (
    EtaLookup,
    ShipmentBooker,
    TransitTimes,
    WarehousePorts,
)

Anyone = Annotated[Principal, Depends(require(Role.SELLER, Role.OPERATOR, Role.FORWARDER))]
Admin = Annotated[Principal, Depends(require())]
Seller = Annotated[Principal, Depends(require(Role.SELLER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
SellerOrOperator = Annotated[Principal, Depends(require(Role.SELLER, Role.OPERATOR))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def warehouse_ports(container: Container, session: Session) -> WarehousePorts:
    """The shipment ports of this unit of work, bound to its transaction (`session`).

    An adapter the composition root wired binds itself (`bound(session)`); a plain port (a test's fake)
    is used as it is; a port nobody wired answers 409 (booking) or nothing (ETA, transit times).
    """
    booker: ShipmentBooker = _bound(container.shipment_booker, session)
    eta: EtaLookup = _bound(container.eta_lookup, session)
    transit: TransitTimes = _bound(container.transit_times, session)
    return WarehousePorts(booker, eta, transit)


def _bound(port: Any, session: Session) -> Any:
    bind = getattr(port, "bound", None)
    return bind(session) if callable(bind) else port


def create(
    container: Container,
    principal: Principal,
    key: str | None,
    scope: str,
    body: BaseModel | dict[str, Any],
    fn: Callable[[Session], dict[str, Any]],
    status: int = 201,
) -> JSONResponse:
    """Run `fn` in one transaction and answer `status` with its result; with an Idempotency-Key, once."""
    # The body is only hashed when an Idempotency-Key is sent.
    payload = body.model_dump(mode="json") if key and isinstance(body, BaseModel) else body

    def run(session: Session) -> tuple[int, dict[str, Any]]:
        return status, fn(session)

    return idempotency.run(container, principal, key, scope, payload, run)


Limit = Annotated[int, Query(ge=1, le=500)]
