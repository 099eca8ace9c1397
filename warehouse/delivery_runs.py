"""Delivery runs: a warehouse's vans for one day, planned from its picked and shipped orders and the returns
to collect from customers (`routing.vrp.plan_delivery_run`, PyVRP), stored with the stops in visiting order.

Every candidate ends either on a van or in the run's `unserved` list with its reason: an address without
coordinates is placed by the geocoder port (`warehouse.geo`), and one it cannot place is listed with why;
a stop the vans cannot take (payload, windows, shift) is listed with the solver's reason. Such an order stays
picked and comes back among the next day's candidates, carrying why it was not on the earlier run (left
out, with the reason; or picked after that run was planned). An order on a superseded run only is a
candidate again. Returns authorised and not yet received are collected as pick-ups at the order's address.

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
from routing.vrp import DeliveryPlan, Depot, InvalidDeliveryRun, Stop, TravelMatrix, Van, plan_delivery_run
from warehouse import tables as t
from warehouse.domain import ReservationStatus
from warehouse.geo import Address, GazetteerGeocoder, Geocoder, Unplaceable
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
    """The stored run's id, and the day's orders left out because their address could not be placed."""

    run_id: str
    orders_without_position: list[str]


@dataclass(frozen=True)
class Candidate:
    """An order to deliver or a return to collect, with its place (or why it has none)."""

    stop_id: str  # the order id (delivery) or the return id (pickup)
    order_id: str
    order_ref: str
    kind: str  # "delivery" | "pickup"
    weight_kg: float
    lat: float | None
    lon: float | None
    placed_by: str | None = None
    unplaceable: str | None = None
    carried_over: str | None = None
    rma_id: str | None = None


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


def _place(
    geocoder: Geocoder, ship_to: dict[str, Any]
) -> tuple[float | None, float | None, str | None, str | None]:
    """(lat, lon, placed by, why not placeable) of a ship-to address."""
    if ship_to.get("lat") is not None and ship_to.get("lon") is not None:
        return float(ship_to["lat"]), float(ship_to["lon"]), None, None
    try:
        found = geocoder.place(
            Address(str(ship_to.get("country", "")), ship_to.get("postcode"), ship_to.get("city"))
        )
    except Unplaceable as exc:
        return None, None, None, f"the address cannot be placed: {exc}"
    return found.lat, found.lon, found.source, None


def _on_current_run(column: Any, replacing: str) -> Any:
    st, dr = t.delivery_stops.c, t.delivery_runs.c
    return (
        select(st.id)
        .join(t.delivery_runs, dr.id == st.run_id)
        .where(column, dr.superseded_by.is_(None), dr.id != replacing)
        .exists()
    )


def candidates(
    session: Session, code: str, day: date, geocoder: Geocoder, replacing: str = ""
) -> list[Candidate]:
    """Orders of this warehouse picked (any time) or shipped on `day`, and returns of its orders authorised
    and not yet received, not on a current run (other than `replacing`, the run being re-planned)."""
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
            ~_on_current_run(
                and_(t.delivery_stops.c.order_id == o.id, t.delivery_stops.c.kind == "delivery"), replacing
            ),
        )
        .group_by(r.order_id)  # not by the JSON ship_to: PostgreSQL has no equality for json
        .subquery()
    )
    rows = session.execute(
        select(o.id, o.order_ref, o.ship_to, o.created_at, weights.c.weight)
        .join(weights, weights.c.order_id == o.id)
        .order_by(o.id)
    ).all()
    rt, rl = t.returns.c, t.return_lines.c
    shipped_here = select(r.order_id).where(r.warehouse == code, r.status == ReservationStatus.SHIPPED.value)
    return_weights = (
        select(rt.id, rt.order_id, func.sum(rl.qty_authorised * s.weight_kg).label("weight"))
        .select_from(
            t.returns.join(t.return_lines, rl.rma_id == rt.id)
            .join(t.orders, o.id == rt.order_id)
            .join(t.skus, and_(s.seller_id == o.seller_id, s.sku == rl.sku))
        )
        .where(
            rt.status == "AUTHORISED",
            rt.order_id.in_(shipped_here),
            ~_on_current_run(t.delivery_stops.c.rma_id == rt.id, replacing),
        )
        .group_by(rt.id, rt.order_id)
        .subquery()
    )
    returns = session.execute(
        select(return_weights.c.id, return_weights.c.weight, o.id.label("order_id"), o.order_ref, o.ship_to)
        .join(t.orders, o.id == return_weights.c.order_id)
        .order_by(return_weights.c.id)
    ).all()
    carried = _carried_over(session, code, day, {x.id: x.created_at for x in rows})
    out: list[Candidate] = []
    for x in rows:
        lat, lon, placed_by, why = _place(geocoder, x.ship_to or {})
        out.append(
            Candidate(
                x.id,
                x.id,
                x.order_ref,
                "delivery",
                float(x.weight or 0),
                lat,
                lon,
                placed_by,
                why,
                carried.get(x.id),
            )
        )
    for x in returns:
        lat, lon, placed_by, why = _place(geocoder, x.ship_to or {})
        out.append(
            Candidate(
                x.id,
                x.order_id,
                x.order_ref,
                "pickup",
                float(x.weight or 0),
                lat,
                lon,
                placed_by,
                why,
                rma_id=x.id,
            )
        )
    return out


def _carried_over(session: Session, code: str, day: date, created: dict[str, datetime]) -> dict[str, str]:
    """Why each order was not on the warehouse's latest current run of an earlier day (in the last two weeks):
    left out of it (with its reason), or picked after it was planned (the order existed then)."""
    dr, st = t.delivery_runs.c, t.delivery_stops.c
    last = (
        session.execute(
            select(dr.id, dr.run_date, dr.unserved, dr.created_at)
            .where(
                dr.warehouse == code,
                dr.run_date < day,
                dr.run_date >= day - timedelta(days=14),
                dr.superseded_by.is_(None),
            )
            .order_by(dr.run_date.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if last is None or not created:
        return {}
    on_it = set(session.execute(select(st.order_id).where(st.run_id == last["id"])).scalars())
    left_out = {
        u["order_id"]: u.get("reason")
        for u in map(_unserved_entry, last["unserved"])
        if u["kind"] == "delivery"
    }
    when = last["run_date"].isoformat()
    out: dict[str, str] = {}
    for order_id, created_at in created.items():
        if order_id in left_out:
            out[order_id] = f"left out of the run of {when}: {left_out[order_id] or 'no reason recorded'}"
        elif order_id not in on_it and created_at <= last["created_at"]:
            out[order_id] = f"picked after the run of {when} was planned"
    return out


def _unserved_entry(u: Any) -> dict[str, Any]:
    """An entry of a run's unserved list; runs planned before reasons were kept stored bare order ids."""
    if isinstance(u, str):
        return {"order_id": u, "kind": "delivery", "rma_id": None, "reason": None}
    return {
        "order_id": u["order_id"],
        "kind": u.get("kind", "delivery"),
        "rma_id": u.get("rma_id"),
        "reason": u.get("reason"),
    }


def plan_run(
    session: Session,
    scope: Scope,
    cmd: PlanDeliveryRun,
    now: datetime,
    planner: Planner = plan_delivery_run,
    geocoder: Geocoder | None = None,
    matrix: TravelMatrix | None = None,
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
    every = candidates(session, code, day, geocoder or GazetteerGeocoder(), replacing=current or "")
    placed = [c for c in every if c.unplaceable is None]
    unplaced: list[dict[str, Any]] = [
        {"order_id": c.order_id, "kind": c.kind, "rma_id": c.rma_id, "reason": c.unplaceable}
        for c in every
        if c.unplaceable is not None
    ]
    if not placed:
        raise InvalidInput(
            f"no picked or shipped orders or returns to collect with a placeable address at {code} for {day}",
            errors=[{"field": "date", "message": "no orders to deliver"}],
            orders_without_position=[u["order_id"] for u in unplaced],
            unplaceable=unplaced,
        )
    try:
        plan = planner(
            Depot(code, float(wh["lat"]), float(wh["lon"])),
            [
                Stop(
                    c.stop_id,
                    float(c.lat or 0),
                    float(c.lon or 0),
                    weight_kg=c.weight_kg if c.kind == "delivery" else 0.0,
                    pickup_kg=c.weight_kg if c.kind == "pickup" else 0.0,
                )
                for c in placed
            ],
            _vans(cmd.vans, day),
            time_limit_s=limit,
            matrix=matrix,
        )
    except InvalidDeliveryRun as exc:
        field = exc.field.replace("vehicles", "vans")
        raise InvalidInput(str(exc), errors=[{"field": field, "message": exc.message}]) from exc
    by_stop = {c.stop_id: c for c in placed}
    unserved = [
        *unplaced,
        *(
            {
                "order_id": by_stop[u.stop_id].order_id,
                "kind": by_stop[u.stop_id].kind,
                "rma_id": by_stop[u.stop_id].rma_id,
                "reason": u.reason,
            }
            for u in plan.unserved
        ),
    ]
    run_id = new_id("run")
    vans = [
        {
            "van_id": v.van_id,
            "departs": rfc3339(v.departs),
            "returns": rfc3339(v.returns),
            "duration_min": round(v.duration.total_seconds() / 60, 1),
            "distance_km": round(v.distance_km, 2),
            "load_kg": round(v.load_kg, 3),
            "pickup_kg": round(v.pickup_kg, 3),
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
                    unserved=unserved,
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
            "order_id": by_stop[visit.stop_id].order_id,
            "kind": by_stop[visit.stop_id].kind,
            "rma_id": by_stop[visit.stop_id].rma_id,
            "lat": Decimal(str(round(float(by_stop[visit.stop_id].lat or 0), 6))),
            "lon": Decimal(str(round(float(by_stop[visit.stop_id].lon or 0), 6))),
            "weight_kg": Decimal(str(round(by_stop[visit.stop_id].weight_kg, 3))),
            "load_kg": Decimal(str(round(visit.load_kg, 3))),
            "arrival": visit.arrival,
            "departure": visit.departure,
            "carried_over": by_stop[visit.stop_id].carried_over,
            "placed_by": (by_stop[visit.stop_id].placed_by or "")[:120] or None,
        }
        for v in plan.runs
        for i, visit in enumerate(v.visits, start=1)
    ]
    if rows:
        session.execute(t.delivery_stops.insert(), rows)
    return PlannedRun(run_id, [u["order_id"] for u in unplaced])


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
                "kind": x["kind"],
                "rma_id": x["rma_id"],
                "weight_kg": float(x["weight_kg"]),
                "load_kg": None if x["load_kg"] is None else float(x["load_kg"]),
                "arrival": rfc3339(x["arrival"]),
                "departure": rfc3339(x["departure"]),
                "carried_over": x["carried_over"],
                "placed_by": x["placed_by"],
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
        "unserved": _unserved_view(session, run["unserved"]),
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


def _unserved_view(session: Session, stored: list[Any]) -> list[dict[str, Any]]:
    entries = [_unserved_entry(u) for u in stored]
    refs: dict[str, str] = {}
    if entries:
        o = t.orders.c
        wanted = {e["order_id"] for e in entries}
        refs = {x.id: x.order_ref for x in session.execute(select(o.id, o.order_ref).where(o.id.in_(wanted)))}
    return [{**e, "order_ref": refs.get(e["order_id"])} for e in entries]


def candidate_view(
    session: Session, scope: Scope, code: str, day: date, geocoder: Geocoder | None = None
) -> list[dict[str, Any]]:
    """The orders and returns waiting for a run of `day` (on no current run), with why each rolled over and
    where it is (or why it cannot be placed)."""
    if scope.is_seller or not scope.sees_warehouse(code):
        raise NotFound(f"warehouse {code} does not exist")
    if session.execute(select(t.warehouses.c.code).where(t.warehouses.c.code == code)).first() is None:
        raise NotFound(f"warehouse {code} does not exist")
    return [
        {
            "order_id": c.order_id,
            "order_ref": c.order_ref,
            "kind": c.kind,
            "rma_id": c.rma_id,
            "weight_kg": round(c.weight_kg, 3),
            "lat": c.lat,
            "lon": c.lon,
            "placed_by": c.placed_by,
            "unplaceable": c.unplaceable,
            "carried_over": c.carried_over,
        }
        for c in candidates(session, code, day, geocoder or GazetteerGeocoder())
    ]
