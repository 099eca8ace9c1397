"""Statistics for tenants and the pilot zone's regulator: shipments by mode, corridor, origin, destination
and month (logistics), overseas-warehouse flows (warehouse), as JSON or CSV.

Who sees what: an admin everything; the regulator every tenant's shipments, but only groups with at least
XB_STATS_MIN_TENANTS tenants; a forwarder its own bookings; a seller the shipments its inbound notices name,
an operator those inbound to its warehouses.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from api.bounds import InstantOrNaive
from api.deps import ContainerDep, require
from kernel.identity import Principal, Role
from logistics import stats as shipment_stats
from warehouse import stats as warehouse_stats
from warehouse.scope import Scope

router = APIRouter(prefix="/v1", tags=["statistics"])
StatsReader = Annotated[
    Principal, Depends(require(Role.REGULATOR, Role.FORWARDER, Role.SELLER, Role.OPERATOR))
]
WarehouseStatsReader = Annotated[Principal, Depends(require(Role.REGULATOR, Role.SELLER, Role.OPERATOR))]


@lru_cache(maxsize=4)
def _rates(path: str | None) -> shipment_stats.ExchangeRates:
    return shipment_stats.ExchangeRates.load(path)


def _keys(group_by: str | None) -> tuple[str, ...]:
    return tuple(k.strip() for k in (group_by or "").split(",") if k.strip())


def wants_csv(request: Request, fmt: str | None) -> bool:
    """`?format=csv`, or `Accept: text/csv` without a format named."""
    if fmt is not None:
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "")


def csv_response(rows: list[dict[str, Any]], columns: list[str], name: str) -> Response:
    """The rows as CSV with a header line: the same rows and values as the JSON answer (None -> empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _visibility(container: Any, session: Any, principal: Principal) -> shipment_stats.Visibility:
    if principal.role is Role.ADMIN:
        return shipment_stats.Visibility()
    if principal.role is Role.REGULATOR:
        return shipment_stats.Visibility(min_tenants=max(1, container.settings.stats_min_tenants))
    if principal.role in (Role.SELLER, Role.OPERATOR):
        return shipment_stats.Visibility(
            waybill_nos=warehouse_stats.inbound_waybills(session, Scope.of(principal))
        )
    return shipment_stats.Visibility(tenant_id=principal.tenant_id)


@router.get(
    "/stats/shipments",
    response_model=None,
    summary="Shipment statistics by mode, corridor, origin, destination and month",
)
def get_shipment_stats(
    request: Request,
    container: ContainerDep,
    principal: StatsReader,
    group_by: Annotated[
        str | None,
        Query(
            max_length=200,
            description="any of customs_mode,corridor,origin,destination_country,month (nested so)",
        ),
    ] = None,
    from_: Annotated[
        InstantOrNaive | None, Query(alias="from", description="bookings from (inclusive, UTC)")
    ] = None,
    to: Annotated[InstantOrNaive | None, Query(description="bookings before (exclusive, UTC)")] = None,
    format: Literal["json", "csv"] | None = None,
) -> JSONResponse | Response:
    """Shipments, parcels, TEU, weight, declared value, on-time rate, transit times, CO2e and re-plans per
    group of the keys asked for, with totals."""
    q = shipment_stats.ShipmentStatsQuery(_keys(group_by), _aware(from_), _aware(to))
    rates = _rates(container.settings.exchange_rates_file)
    with container.db.read_session() as s:
        found = shipment_stats.shipment_stats(s, q, _visibility(container, s, principal), rates)
    if wants_csv(request, format):
        return csv_response(found.rows, [*q.keys, *SHIPMENT_MEASURES], "shipment-stats")
    return JSONResponse(shipment_stats.shipment_stats_json(found))


SHIPMENT_MEASURES = [
    "shipments",
    "parcels",
    "teu",
    "gross_kg",
    "declared_value_cny",
    "declared_value_missing",
    "arrived",
    "on_time",
    "open",
    "on_time_rate",
    "transit_days_p50",
    "transit_days_p90",
    "co2e_kg",
    "replanned",
    "cancelled",
]


def _aware(t: datetime | None) -> datetime | None:
    """A naive instant (or a bare date) is UTC."""
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


WAREHOUSE_MEASURES = [
    "received",
    "received_value",
    "sold",
    "returned",
    "transferred_in",
    "transferred_out",
    "on_hand",
    "days_of_cover",
]


@router.get(
    "/stats/warehouses",
    response_model=None,
    summary="Overseas-warehouse statistics (9810 exports and their sales)",
)
def get_warehouse_stats(
    request: Request,
    container: ContainerDep,
    principal: WarehouseStatsReader,
    group_by: Annotated[
        str | None, Query(max_length=200, description="any of warehouse,seller,customs_mode,month")
    ] = None,
    from_: Annotated[InstantOrNaive | None, Query(alias="from", description="months from (UTC)")] = None,
    to: Annotated[InstantOrNaive | None, Query(description="months before (exclusive, UTC)")] = None,
    format: Literal["json", "csv"] | None = None,
) -> JSONResponse | Response:
    """Overseas-warehouse flows: units received (and their value), sold, returned, transferred, on hand at
    month end, days of cover, per warehouse, seller, customs mode of the inbound shipment and month. Without
    `group_by` (a seller or an operator): the volumes per warehouse and month and the stock by zone."""
    keys = _keys(group_by)
    scope = Scope.of(principal)
    with container.db.read_session() as s:
        if not keys and principal.role is not Role.REGULATOR and not wants_csv(request, format):
            return JSONResponse(warehouse_stats.warehouse_stats(s, scope))
        q = warehouse_stats.FlowQuery(keys, _aware(from_), _aware(to))
        origins: dict[tuple[str, str, str], str] = {}
        if "customs_mode" in q.keys:
            pairs = warehouse_stats.sku_waybills(s, scope)
            modes = shipment_stats.customs_modes(s, [p[3] for p in pairs])
            origins = warehouse_stats.origin_modes(pairs, modes)
        regulator = principal.role is Role.REGULATOR
        found = warehouse_stats.warehouse_flows(
            s,
            q,
            scope,
            origins,
            min_sellers=max(1, container.settings.stats_min_tenants) if regulator else 1,
            now=container.clock.now(),
        )
    if wants_csv(request, format):
        return csv_response(found["rows"], [*q.keys, *WAREHOUSE_MEASURES], "warehouse-stats")
    return JSONResponse(found)
