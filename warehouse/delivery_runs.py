"""Delivery runs: a warehouse's vans for one day, planned from its picked and shipped orders that carry a
position (`routing.vrp.plan_delivery_run`, OR-Tools), stored with the stops in visiting order.

One current run per warehouse and day (a unique index over the runs not superseded: a second plan, even a
concurrent one, gets 409). `replan` plans the day again from what is deliverable now (an order cancelled
since drops out, newly picked ones come in) and keeps the old run, marked superseded by the new one; an
order is on at most one current run. The planner is a parameter so tests and other sites can pass their own.

Concurrency: the rules stated once in `warehouse.ledger`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.clock import rfc3339
from kernel.errors import AlreadyExists, ConcurrentChange, InvalidInput, NotFound
from kernel.ids import new_id
from routing.vrp import DeliveryPlan, Depot, InvalidDeliveryRun, Stop, Van, plan_delivery_run
from warehouse import tables as t
from warehouse.domain import ReservationStatus
from warehouse.ledger import touched
from warehouse.scope import Scope

Planner = Callable[..., DeliveryPlan]

DEFAULT_VANS = 2
DEFAULT_CAPACITY_KG = 1000.0
DEFAULT_SHIFT = (time(8, 0), time(18, 0))  # UTC
MAX_TIME_LIMIT_S = 30.0


@dataclass(frozen=True)
class VanSpec:
    id: str
    capacity_kg: float
    shift_start: time | None = None  # UTC; default 08:00
    shift_end: time | None = None  # UTC; default 18:00


@dataclass(frozen=True)
class PlanDeliveryRun:
    warehouse: str
    date: date
    vans: tuple[VanSpec, ...] | None = None  # default: two vans of 1,000 kg, 08:00-18:00 UTC
    time_limit_s: float | None = None
    replan: bool = False


@dataclass(frozen=True)
class PlannedRun:
    """The stored run's id, and the day's orders left out because they have no position."""

    run_id: str
    orders_without_position: list[str]


def _run_date(day: date, today: date) -> date:
    if day < today:
        raise InvalidInput(
            f"{day} is in the past: a delivery run is planned for today or later",
            errors=[{"field": "date", "message": "in the past"}],
        )
    if day > today + timedelta(days=31):
        raise InvalidInput(
            f"{day} is more than a month ahead",
            errors=[{"field": "date", "message": "at most 31 days ahead"}],
        )
    return day


def _vans(given: tuple[VanSpec, ...] | None, day: date) -> list[Van]:
    if not given:
        start, end = (datetime.combine(day, x, tzinfo=UTC) for x in DEFAULT_SHIFT)
        return [Van(f"van-{i}", DEFAULT_CAPACITY_KG, start, end) for i in range(1, DEFAULT_VANS + 1)]
    vans = []
    for v in given:
        start = datetime.combine(day, v.shift_start or DEFAULT_SHIFT[0], tzinfo=UTC)
        end = datetime.combine(day, v.shift_end or DEFAULT_SHIFT[1], tzinfo=UTC)
        vans.append(Van(v.id, float(v.capacity_kg), start, end))
    return vans


def _candidates(
    session: Session, code: str, day: date, replacing: str = ""
) -> tuple[list[dict[str, Any]], list[str]]:
    """Orders of this warehouse picked (any time) or shipped on `day`, not on a current run (other than
    `replacing`, the run being re-planned): (with position, ids without one)."""
    r, o, s = t.reservations.c, t.orders.c, t.skus.c
    start = datetime.combine(day, time(0), tzinfo=UTC)
    weights = (
        select(r.order_id, func.sum(r.qty * s.weight_kg).label("weight"))
        .select_from(
            t.reservations.join(t.orders, o.id == r.order_id).join(
                t.skus, and_(s.seller_id == o.seller_id, s.sku == r.sku)
            )
        )
        .where(
            r.warehouse == code,
            or_(
                r.status == ReservationStatus.PICKED.value,
                and_(
                    r.status == ReservationStatus.SHIPPED.value,
                    o.shipped_at >= start,
                    o.shipped_at < start + timedelta(days=1),
                ),
            ),
            ~select(t.delivery_stops.c.id)
            .join(t.delivery_runs, t.delivery_runs.c.id == t.delivery_stops.c.run_id)
            .where(
                t.delivery_stops.c.order_id == o.id,
                t.delivery_runs.c.superseded_by.is_(None),
                t.delivery_runs.c.id != replacing,
            )
            .exists(),
        )
        .group_by(r.order_id)  # not by the JSON ship_to: PostgreSQL has no equality for json
        .subquery()
    )
    rows = session.execute(
        select(o.id, o.order_ref, o.ship_to, weights.c.weight)
        .join(weights, weights.c.order_id == o.id)
        .order_by(o.id)
    ).all()
    with_pos, without = [], []
    for x in rows:
        ship_to = x.ship_to or {}
        if ship_to.get("lat") is None or ship_to.get("lon") is None:
            without.append(x.id)
        else:
            with_pos.append(
                {
                    "order_id": x.id,
                    "order_ref": x.order_ref,
                    "lat": float(ship_to["lat"]),
                    "lon": float(ship_to["lon"]),
                    "weight_kg": float(x.weight or 0),
                }
            )
    return with_pos, without


def plan_run(
    session: Session,
    scope: Scope,
    cmd: PlanDeliveryRun,
    now: datetime,
    planner: Planner = plan_delivery_run,
) -> PlannedRun:
    """Plan and store the warehouse's delivery run for a day."""
    code = cmd.warehouse
    wh = session.execute(select(t.warehouses).where(t.warehouses.c.code == code)).mappings().first()
    if wh is None or not scope.sees_warehouse(code):
        raise NotFound(f"warehouse {code} does not exist")
    day = _run_date(cmd.date, now.date())
    limit = float(cmd.time_limit_s or 2.0)
    if not 0 < limit <= MAX_TIME_LIMIT_S:
        raise InvalidInput(
            f"time_limit_s must be above 0 and at most {MAX_TIME_LIMIT_S}",
            errors=[{"field": "time_limit_s", "message": f"0 < x <= {MAX_TIME_LIMIT_S}"}],
        )
    replan = cmd.replan
    dr = t.delivery_runs.c
    current = session.execute(
        select(dr.id).where(dr.warehouse == code, dr.run_date == day, dr.superseded_by.is_(None))
    ).scalar()
    if current is not None and not replan:
        raise AlreadyExists(
            f"a delivery run of {code} for {day} is planned already ({current}); send replan: true to "
            "plan the day again"
        )
    stops, no_position = _candidates(session, code, day, replacing=current or "")
    if not stops:
        raise InvalidInput(
            f"no picked or shipped orders with a position at {code} for {day}",
            errors=[{"field": "date", "message": "no orders to deliver"}],
            orders_without_position=no_position,
        )
    try:
        plan = planner(
            Depot(code, float(wh["lat"]), float(wh["lon"])),
            [Stop(s["order_id"], s["lat"], s["lon"], s["weight_kg"]) for s in stops],
            _vans(cmd.vans, day),
            time_limit_s=limit,
        )
    except InvalidDeliveryRun as exc:
        field = exc.field.replace("vehicles", "vans")
        raise InvalidInput(str(exc), errors=[{"field": field, "message": exc.message}]) from exc
    by_order = {s["order_id"]: s for s in stops}
    run_id = new_id("run")
    vans = [
        {
            "van_id": v.van_id,
            "departs": rfc3339(v.departs),
            "returns": rfc3339(v.returns),
            "distance_km": round(v.distance_km, 2),
            "load_kg": round(v.load_kg, 3),
        }
        for v in plan.runs
    ]
    try:
        with session.begin_nested():
            # the old run steps aside first (its row locked: a concurrent re-plan waits, then finds it
            # superseded and gets 409), then the new run takes the day's one current place
            if (
                current is not None
                and touched(
                    session.execute(
                        update(t.delivery_runs)
                        .where(dr.id == current, dr.superseded_by.is_(None))
                        .values(superseded_by=run_id, superseded_at=now)
                    )
                )
                != 1
            ):
                raise ConcurrentChange(
                    f"the delivery run {current} of {code} for {day} was re-planned meanwhile"
                )
            session.execute(
                t.delivery_runs.insert().values(
                    id=run_id,
                    warehouse=code,
                    run_date=day,
                    distance_km=Decimal(str(round(plan.distance_km, 2))),
                    vans=vans,
                    unserved=plan.unserved,
                    planned_by=scope.tenant_id,
                    created_at=now,
                )
            )
    except IntegrityError as exc:  # planned concurrently by someone else
        raise AlreadyExists(f"a delivery run of {code} for {day} is planned already") from exc
    rows = [
        {
            "run_id": run_id,
            "van_id": v.van_id,
            "seq": i,
            "order_id": visit.stop_id,
            "lat": Decimal(str(by_order[visit.stop_id]["lat"])),
            "lon": Decimal(str(by_order[visit.stop_id]["lon"])),
            "weight_kg": Decimal(str(round(by_order[visit.stop_id]["weight_kg"], 3))),
            "arrival": visit.arrival,
            "departure": visit.departure,
        }
        for v in plan.runs
        for i, visit in enumerate(v.visits, start=1)
    ]
    if rows:
        session.execute(t.delivery_stops.insert(), rows)
    return PlannedRun(run_id, no_position)


def planned_run_view(session: Session, scope: Scope, planned: PlannedRun) -> dict[str, Any]:
    """A freshly planned run as its planning answers it: with the orders left out for want of a position."""
    out = get_run(session, scope, planned.run_id)
    out["orders_without_position"] = planned.orders_without_position
    return out


def get_run(session: Session, scope: Scope, run_id: str) -> dict[str, Any]:
    """A delivery run with its vans and their stops in order."""
    run = session.execute(select(t.delivery_runs).where(t.delivery_runs.c.id == run_id)).mappings().first()
    if run is None or not scope.sees_warehouse(run["warehouse"]) or scope.is_seller:
        raise NotFound(f"delivery run {run_id} does not exist")
    st, o = t.delivery_stops.c, t.orders.c
    stops: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for x in session.execute(
        select(t.delivery_stops, o.order_ref, o.status.label("order_status"))
        .join(t.orders, o.id == st.order_id)
        .where(st.run_id == run_id)
        .order_by(st.van_id, st.seq)
    ).mappings():
        stops[x["van_id"]].append(
            {
                "seq": x["seq"],
                "order_id": x["order_id"],
                "order_ref": x["order_ref"],
                # an order cancelled after planning stays on the stored run, marked, for the driver to skip
                "order_status": x["order_status"],
                "lat": float(x["lat"]),
                "lon": float(x["lon"]),
                "weight_kg": float(x["weight_kg"]),
                "arrival": rfc3339(x["arrival"]),
                "departure": rfc3339(x["departure"]),
            }
        )
    supersedes = session.execute(
        select(t.delivery_runs.c.id)
        .where(t.delivery_runs.c.superseded_by == run_id)
        .order_by(t.delivery_runs.c.created_at)
    ).scalars()
    return {
        "id": run["id"],
        "warehouse": run["warehouse"],
        "date": run["run_date"].isoformat(),
        "status": "superseded" if run["superseded_by"] else "current",
        "superseded_by": run["superseded_by"],
        "superseded_at": rfc3339(run["superseded_at"]) if run["superseded_at"] else None,
        "supersedes": list(supersedes),
        "distance_km": float(run["distance_km"]),
        "vans": [{**v, "stops": stops.get(v["van_id"], [])} for v in run["vans"]],
        "unserved": run["unserved"],
        "created_at": rfc3339(run["created_at"]),
    }


def list_runs(session: Session, scope: Scope, code: str, day: date | None = None) -> list[dict[str, Any]]:
    """A warehouse's delivery runs, latest day first; of one day, the current run first, then the runs it
    superseded, newest first."""
    if scope.is_seller or not scope.sees_warehouse(code):
        raise NotFound(f"warehouse {code} does not exist")
    c = t.delivery_runs.c
    q = (
        select(c.id)
        .where(c.warehouse == code)
        .order_by(c.run_date.desc(), c.superseded_by.is_not(None), c.created_at.desc(), c.id.desc())
    )
    if day is not None:
        q = q.where(c.run_date == day)
    return [get_run(session, scope, rid) for rid in session.execute(q.limit(100)).scalars()]
