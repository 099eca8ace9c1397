"""Re-planning after a disruption: one itinerary per affected booking, as one CP-SAT assignment.

Each affected booking brings its alternatives (Options from `plan` on the disrupted timetable, typically with
the booking's own capacity released). The solver picks at most one option per booking so that no departure is
loaded beyond the capacity left, minimising, in this order:
    1. bookings left without an itinerary,
    2. total lateness against the bookings' deliver-by dates, or, where a booking has none, against the
       arrival it was booked with (whole hours, rounded up),
    3. total cost (cents).
Lexicographic: each stage is solved to optimality (or the time limit) and fixed before the next.
Deterministic: one worker, fixed seed, options considered in a stable order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ortools.sat.python import cp_model

from routing.errors import InvalidRequest
from routing.options import Option

TEU_SCALE = 1000  # capacities in thousandths of a TEU (LCL takes fractions)


@dataclass(frozen=True)
class AffectedBooking:
    booking_id: str
    teu: float
    deliver_by: datetime | None
    alternatives: Sequence[Option]
    weight_kg: float = 0.0
    booked_arrival: datetime | None = None  # the arrival the booking was made with (kept through re-plans)

    def deadline(self) -> datetime | None:
        """What lateness is measured against: deliver-by, else the booked arrival."""
        return self.deliver_by if self.deliver_by is not None else self.booked_arrival


@dataclass(frozen=True)
class Assignment:
    booking_id: str
    option: Option | None  # None: no alternative fits; the booking needs a person
    lateness_hours: int  # after deliver-by, else after the booked arrival
    reason: str
    slip_hours: int = 0  # after the booked arrival (0: no later than booked, or no booked arrival known)


@dataclass(frozen=True)
class Replan:
    assignments: tuple[Assignment, ...]
    unassigned: int
    total_lateness_hours: int
    total_cost: Decimal
    optimal: bool  # every stage proven optimal within the time limit


def lateness_hours(option: Option, deliver_by: datetime | None) -> int:
    """Whole hours (rounded up) the option arrives after `deliver_by`; 0 when on time or no date."""
    if deliver_by is None:
        return 0
    late = (option.arrival() - deliver_by).total_seconds() / 3600
    return max(0, math.ceil(late - 1e-9))


def timing(option: Option, deliver_by: datetime | None, booked_arrival: datetime | None) -> str:
    """How the new arrival compares with deliver-by and with the booked arrival, in words.

    "on time" only when it is no later than either date there is; with neither, it says so.
    """
    parts: list[str] = []
    if deliver_by is not None:
        late = lateness_hours(option, deliver_by)
        parts.append(f"{late} h after deliver-by" if late else "within deliver-by")
    if booked_arrival is not None:
        slip = lateness_hours(option, booked_arrival)
        booked = booked_arrival.strftime("%Y-%m-%dT%H:%MZ")
        parts.append(
            f"{slip} h after the booked arrival {booked}" if slip else f"no later than booked {booked}"
        )
    if not parts:
        return "no deliver-by or booked arrival to compare with"
    on_time = lateness_hours(option, deliver_by) == 0 and lateness_hours(option, booked_arrival) == 0
    return ("on time: " if on_time else "late: ") + ", ".join(parts)


def replan(
    bookings: Sequence[AffectedBooking],
    capacity_left: Mapping[str, float],
    kg_left: Mapping[str, float] | None = None,
    time_limit_s: float = 10.0,
) -> Replan:
    """Choose one alternative per booking within capacity; fewest unplaced, then least lateness, then cost.

    capacity_left: departure id -> TEU free for these bookings (missing: unconstrained); kg_left: same in kg.
    """
    seen: set[str] = set()
    for b in bookings:
        if b.booking_id in seen:
            raise InvalidRequest(f"booking {b.booking_id} appears twice")
        seen.add(b.booking_id)
        if b.teu < 0 or b.weight_kg < 0:
            raise InvalidRequest(f"booking {b.booking_id} has a negative size")
    ordered = sorted(bookings, key=lambda b: b.booking_id)
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    unplaced: list[cp_model.IntVar] = []
    late_terms: list[cp_model.LinearExpr] = []
    cost_terms: list[cp_model.LinearExpr] = []
    load: dict[str, list[tuple[int, cp_model.IntVar]]] = {}
    load_kg: dict[str, list[tuple[int, cp_model.IntVar]]] = {}
    options: list[list[Option]] = []
    for i, b in enumerate(ordered):
        alts = sorted({o.id: o for o in b.alternatives}.values(), key=lambda o: (o.arrival(), o.cost, o.id))
        options.append(alts)
        u = model.new_bool_var(f"unplaced_{i}")
        unplaced.append(u)
        chosen = [u]
        for k, o in enumerate(alts):
            v = model.new_bool_var(f"x_{i}_{k}")
            x[i, k] = v
            chosen.append(v)
            late_terms.append(lateness_hours(o, b.deadline()) * v)
            cost_terms.append(int(o.cost * 100) * v)
            for dep in set(o.departure_ids()):
                load.setdefault(dep, []).append((round(b.teu * TEU_SCALE), v))
                if kg_left is not None:
                    load_kg.setdefault(dep, []).append((round(b.weight_kg), v))
        model.add_exactly_one(chosen)
    for dep, terms in sorted(load.items()):
        if dep in capacity_left:
            model.add(sum(q * v for q, v in terms) <= math.floor(capacity_left[dep] * TEU_SCALE + 1e-6))
    if kg_left is not None:
        for dep, terms in sorted(load_kg.items()):
            if dep in kg_left:
                model.add(sum(q * v for q, v in terms) <= math.floor(kg_left[dep]))

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 7
    solver.parameters.max_time_in_seconds = time_limit_s
    optimal = True
    stages = [sum(unplaced), sum(late_terms), sum(cost_terms)]
    for stage, objective in enumerate(stages):
        model.minimize(objective)
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise InvalidRequest("the re-planning model has no solution (capacity data inconsistent?)")
        optimal = optimal and status == cp_model.OPTIMAL
        if stage < len(stages) - 1:
            model.add(objective <= round(solver.objective_value))
            # keep the incumbent as a hint so that the next stage starts from it
            model.clear_hints()  # type: ignore[no-untyped-call]
            for var in (*unplaced, *x.values()):
                model.add_hint(var, solver.value(var))

    out: list[Assignment] = []
    total_late, total_cost, n_unplaced = 0, Decimal("0.00"), 0
    for i, b in enumerate(ordered):
        pick = next((options[i][k] for k in range(len(options[i])) if solver.value(x[i, k])), None)
        if pick is None:
            n_unplaced += 1
            why = "no alternative" if not options[i] else "every alternative's departures are full"
            out.append(Assignment(b.booking_id, None, 0, f"not re-planned: {why}; needs manual handling"))
            continue
        late = lateness_hours(pick, b.deadline())
        total_late += late
        total_cost += pick.cost
        when = pick.arrival().strftime("%Y-%m-%dT%H:%MZ")
        how = timing(pick, b.deliver_by, b.booked_arrival)
        route = " > ".join(f"{leg.origin}-{leg.mode}-{leg.destination}" for leg in pick.legs)
        out.append(
            Assignment(
                b.booking_id,
                pick,
                late,
                f"re-planned via {route}, arriving {when} ({how}), {pick.cost} USD",
                lateness_hours(pick, b.booked_arrival),
            )
        )
    return Replan(tuple(out), n_unplaced, total_late, total_cost, optimal)
