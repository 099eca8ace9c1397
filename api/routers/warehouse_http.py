"""What every warehouse router shares: the roles, the idempotent create, and the shipment ports.

Each warehouse module has its own thin router (`warehouse_orders`, `warehouse_returns`, ...): it builds the
module's command from the request body, calls the handler in one transaction and shapes the answer with one
view of `warehouse.views`. The shipment ports come from `container.extras` (`shipment_booker`, `eta_lookup`,
`transit_times`); until the composition root wires the route planner, booking a transfer or a return to
origin answers 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api import idempotency
from api.bootstrap import Container
from api.deps import require
from kernel.identity import Principal, Role
from warehouse.ports import EtaLookup, NoEta, NoRoutePlanner, NoTransitTimes, ShipmentBooker, TransitTimes

Anyone = Annotated[Principal, Depends(require(Role.SELLER, Role.OPERATOR, Role.FORWARDER))]
Admin = Annotated[Principal, Depends(require())]
Seller = Annotated[Principal, Depends(require(Role.SELLER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
SellerOrOperator = Annotated[Principal, Depends(require(Role.SELLER, Role.OPERATOR))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def booker(container: Container) -> ShipmentBooker:
    """The shipment booker the composition root wired, else one that refuses (409)."""
    found: ShipmentBooker = container.extras.get("shipment_booker") or NoRoutePlanner()
    return found


def eta_lookup(container: Container) -> EtaLookup:
    """The live-ETA lookup the composition root wired, else none."""
    found: EtaLookup = container.extras.get("eta_lookup") or NoEta()
    return found


def transit_times(container: Container) -> TransitTimes:
    """The transit-time lookup the composition root wired, else none."""
    found: TransitTimes = container.extras.get("transit_times") or NoTransitTimes()
    return found


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
