"""Room on departures: what is left, holds that consume it all or nothing, and releases that give it back.

Every writer of `departure_loads` goes through this module. A hold is one conditional UPDATE
(`booked + need <= capacity`): under concurrency PostgreSQL serialises the row and re-checks the condition, so
the last slot goes to exactly one booking. Departures are taken in id order so that two bookings never wait on
each other. Each hold is also a `capacity_holds` row, so that a release gives back exactly what was taken.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from kernel.db import dialect_insert
from kernel.errors import Conflict
from logistics.tables import capacity_holds, departure_loads
from routing.timetable import Timetable


class CapacityFull(Conflict):
    """The departure has no room left for this cargo (TEU or kg); `departure_id` names it."""

    title = "Departure full"
    slug = "capacity-full"


class DepartureUnavailable(Conflict):
    """The departure is no longer in the timetable (expanded anew, or its service changed)."""

    title = "Departure unavailable"
    slug = "departure-unavailable"


def capacity_left(session: Session, start: datetime) -> tuple[dict[str, float], dict[str, float]]:
    """TEU and kg still free on every departure from `start` on that has bookings (others are empty)."""
    rows = session.execute(
        select(
            departure_loads.c.departure_id,
            departure_loads.c.capacity_teu,
            departure_loads.c.booked_teu,
            departure_loads.c.capacity_kg,
            departure_loads.c.booked_kg,
        ).where(departure_loads.c.departure >= start)
    ).all()
    teu = {r.departure_id: max(0.0, r.capacity_teu - r.booked_teu) for r in rows}
    kg = {r.departure_id: max(0.0, r.capacity_kg - r.booked_kg) for r in rows}
    return teu, kg


def _ensure_load_rows(session: Session, timetable: Timetable, departure_ids: Iterable[str]) -> None:
    for dep_id in departure_ids:
        try:
            dep = timetable.get(dep_id)
        except KeyError as exc:
            raise DepartureUnavailable(
                f"departure {dep_id} is no longer in the timetable; ask for a new quote"
            ) from exc
        stmt = dialect_insert(session, departure_loads).values(
            departure_id=dep.id,
            service_id=dep.service_id,
            departure=dep.departure,
            capacity_teu=dep.capacity_teu,
            booked_teu=0.0,
            capacity_kg=dep.capacity_kg,
            booked_kg=0.0,
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["departure_id"]))


def hold_capacity(
    session: Session,
    timetable: Timetable,
    booking_id: str,
    legs: Iterable[Mapping[str, Any]],
    teu: float,
    kg: float,
) -> None:
    """Consume capacity on every timetabled departure of the legs, all or nothing (Conflict: one is full)."""
    dep_ids = sorted({leg["departure_id"] for leg in legs if leg.get("departure_id")})
    _ensure_load_rows(session, timetable, dep_ids)
    for dep_id in dep_ids:
        result = session.execute(
            update(departure_loads)
            .where(
                and_(
                    departure_loads.c.departure_id == dep_id,
                    departure_loads.c.booked_teu + teu <= departure_loads.c.capacity_teu + 1e-9,
                    departure_loads.c.booked_kg + kg <= departure_loads.c.capacity_kg + 1e-6,
                )
            )
            .values(booked_teu=departure_loads.c.booked_teu + teu, booked_kg=departure_loads.c.booked_kg + kg)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise CapacityFull(f"departure {dep_id} is full; ask for a new quote", departure_id=dep_id)
        session.execute(
            capacity_holds.insert().values(booking_id=booking_id, departure_id=dep_id, teu=teu, kg=kg)
        )


def release_capacity(
    session: Session, booking_id: str, now: datetime, departure_ids: Collection[str] | None = None
) -> None:
    """Give back what the booking still holds (only on `departure_ids` when given); each hold once."""
    query = select(capacity_holds).where(
        capacity_holds.c.booking_id == booking_id, capacity_holds.c.released_at.is_(None)
    )
    if departure_ids is not None:
        query = query.where(capacity_holds.c.departure_id.in_(departure_ids))
    for h in session.execute(query).mappings().all():
        session.execute(
            update(departure_loads)
            .where(departure_loads.c.departure_id == h["departure_id"])
            .values(
                booked_teu=departure_loads.c.booked_teu - h["teu"],
                booked_kg=departure_loads.c.booked_kg - h["kg"],
            )
        )
        session.execute(update(capacity_holds).where(capacity_holds.c.id == h["id"]).values(released_at=now))
