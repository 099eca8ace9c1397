"""Milestones and status at a stop: the codes each role gives on arrival and departure (the table in the
package's docstring), inferred stops, and the forward-only move of progress and status."""

from __future__ import annotations

from datetime import datetime, timedelta

from logistics.tracking.plan import Stop, TrackPlan
from logistics.tracking.readings import Reading, distance_km
from logistics.tracking.reconcile import WaybillStatus, moves_to
from logistics.tracking.rules import TrackingRules
from logistics.tracking.state import Milestone, TrackState, stop_progress


def infer_between(
    st: TrackState, plan: TrackPlan, skipped: range, before: Reading | None, after: Reading
) -> None:
    """Inferred arrival and departure at the skipped stops, timed by distance between two readings."""
    stops = plan.stops
    floor = st.departed_at if st.departed_at is not None and st.stop_index >= 0 else None
    if before is None or before.ts >= after.ts:
        times = [after.ts for _ in skipped]
    else:
        points = [(before.lat, before.lon)] + [(stops[k].lat, stops[k].lon) for k in skipped]
        points.append((after.lat, after.lon))
        legs = [distance_km(a[0], a[1], b[0], b[1]) for a, b in zip(points, points[1:], strict=False)]
        total = sum(legs)
        times = []
        run = 0.0
        for leg in legs[:-1]:
            run += leg
            times.append(between(before.ts, after.ts, run / total if total > 0 else 1.0))
    for k, t in zip(skipped, times, strict=True):
        when = max(t, floor) if floor is not None else t
        arrive(st, plan, k, when, None, True)
        depart(st, plan, k, when, None, True)


def between(a: datetime, b: datetime, fraction: float) -> datetime:
    """The time `fraction` of the way from a to b, to the whole second, never outside [a, b] (readings 9.5 s
    apart rounded a departure half a second past the reading that showed it)."""
    t = a + timedelta(seconds=round((b - a).total_seconds() * fraction))
    return min(max(t, a), b) if a <= b else t


def arrival_codes(plan: TrackPlan, k: int) -> tuple[str, ...]:
    """The milestone codes of arriving at stop k."""
    stop = plan.stops[k]
    codes: list[str] = []
    if stop.role == "hub":
        codes.append("ARRI")
        if stop.mode_change:
            codes.append("DISC")
    elif stop.role == "destination":
        codes.append("ARRI")
        if _after_warehouse(plan, k):
            codes.append("DROP")
    elif stop.role == "warehouse":
        codes.append("GTIN")
    if stop.clears_customs:
        codes.append("CUSS")
    return tuple(codes)


def departure_codes(plan: TrackPlan, k: int) -> tuple[str, ...]:
    """The milestone codes of leaving stop k."""
    stop = plan.stops[k]
    codes: list[str] = []
    if stop.clears_customs:
        codes.append("CUSR")
    if stop.role == "origin":
        codes += ["GTOT", "DEPA"]
    elif stop.role == "hub":
        if stop.mode_change:
            codes.append("LOAD")
        codes.append("DEPA")
    elif stop.role == "border":
        codes.append("CROS")
    elif stop.role == "destination":
        codes.append("DEPA")
    elif stop.role == "warehouse":
        codes.append("GTOT")
    return tuple(codes)


def _after_warehouse(plan: TrackPlan, k: int) -> bool:
    return any(s.role == "warehouse" for s in plan.stops[:k])


S = WaybillStatus
_ARRIVAL_STATUS = {
    "origin": S.BOOKED, "hub": S.AT_HUB, "border": S.AT_BORDER, "destination": S.ARRIVED,
    "warehouse": S.AT_WAREHOUSE,
}  # fmt: skip


_DEPARTURE_STATUS = {
    "origin": S.IN_TRANSIT, "hub": S.IN_TRANSIT, "border": S.IN_TRANSIT, "destination": S.ARRIVED,
    "warehouse": S.OUT_FOR_DELIVERY,
}  # fmt: skip


def arrive(st: TrackState, plan: TrackPlan, k: int, at: datetime, seq: int | None, inferred: bool) -> None:
    """Arrival at stop k: its milestones, and the status of arriving there."""
    stop = plan.stops[k]
    for code in arrival_codes(plan, k):
        st.milestones.append(Milestone(code, "ACT", stop.node_id, at, inferred, seq, stop.name))
    st.stop_index = k
    st.at_stop = True
    st.arrived_at = at
    st.departed_at = None
    st.exit_candidate = None
    st.pass_candidate = st.pass_anchor = None
    status = _ARRIVAL_STATUS[stop.role]
    if stop.role == "destination" and _after_warehouse(plan, k):
        status = S.DELIVERED
    move(st, stop_progress(k, 0), status, at)


def depart(st: TrackState, plan: TrackPlan, k: int, at: datetime, seq: int | None, inferred: bool) -> None:
    """Departure from stop k: its milestones, and the status of leaving it."""
    stop = plan.stops[k]
    for code in departure_codes(plan, k):
        st.milestones.append(Milestone(code, "ACT", stop.node_id, at, inferred, seq, stop.name))
        if code == "GTOT" and stop.role == "origin":
            move(st, stop_progress(k, 1), S.PICKED_UP, at)  # the pick-up, then the departure below
    st.at_stop = False
    st.departed_at = at
    st.exit_candidate = None
    move(st, stop_progress(k, 2), _DEPARTURE_STATUS[stop.role], at)


def check_hold(st: TrackState, stop: Stop, now: datetime, rules: TrackingRules) -> None:
    """CUSTOMS_HOLD once the tracker has stayed at a customs border longer than allowed."""
    if not (stop.role == "border" and stop.clears_customs) or st.arrived_at is None:
        return
    if stop.planned_arrival is not None and stop.planned_departure is not None:
        allowed = stop.planned_departure - stop.planned_arrival + rules.customs_hold_grace
    else:
        allowed = rules.customs_hold_after
    if now - st.arrived_at > allowed:
        move(st, stop_progress(st.stop_index, 1), S.CUSTOMS_HOLD, now)


def move(st: TrackState, progress: int, status: WaybillStatus, at: datetime) -> None:
    """Forward only: progress must grow, and the status moves as the status machine (`reconcile`) allows.

    A change of status is kept with `at`, the event time of what caused it: the status history, which is the
    milestones' own, whatever floor (a stored or people's status) the fold started from."""
    if progress <= st.progress:
        return
    st.progress = progress
    derived = st.status_changes[-1][0] if st.status_changes else S.BOOKED
    if moves_to(derived, status):
        st.status_changes.append((status, at, progress))
    if moves_to(st.status, status):
        st.status = status
