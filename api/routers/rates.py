"""The rate table quotes are priced with: the platform reads it, its admin or network operator replaces it.

A replacement is validated against the network as a whole (every bad row and field listed in one 422 problem,
nothing swapped in) and takes effect for the quotes that follow; quotes already made keep their prices. The
table swapped in is held by this process until it restarts (XB_RATE_TABLE names the file to start from).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from api.deps import ContainerDep, require
from kernel.errors import InvalidInput, NotFound
from kernel.identity import Principal, Role
from routing.rate_table import RateTableInvalid, parse

router = APIRouter(prefix="/v1", tags=["network"])
PlatformRole = Annotated[Principal, Depends(require(Role.NETWORK_OPERATOR))]


@router.get("/rates", summary="Read the rate table quotes are priced with")
def get_rates(container: ContainerDep, principal: PlatformRole) -> dict[str, Any]:
    """Every row: lane, direction, equipment, validity, freight, BAF and peak season percentages, source."""
    table = container.network_state.rate_table
    if table is None:
        raise NotFound("no rate table: quotes use the imported network's own rates (set XB_RATE_TABLE)")
    return table.as_json()


@router.put("/rates", summary="Replace the rate table for new quotes")
def put_rates(
    container: ContainerDep,
    principal: PlatformRole,
    body: Annotated[dict[str, Any], Body(description="the whole table: {meta, rows: [...]}")],
) -> dict[str, Any]:
    """Validate the whole table against the network and swap it in for the quotes that follow."""
    state = container.network_state
    with container.db.session() as session:
        state.sync(session)
    try:
        table = parse(body, state.network)
    except RateTableInvalid as exc:
        raise InvalidInput(
            f"the rate table has {len(exc.errors)} error(s); nothing was changed",
            errors=[
                {"field": f"rows[{e['row']}].{e['field']}" if e["row"] is not None else e["field"],
                 "message": e["message"]}
                for e in exc.errors
            ],
        ) from exc  # fmt: skip
    state.replace_rates(table)
    return table.as_json()
