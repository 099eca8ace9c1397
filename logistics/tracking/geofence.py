"""Geofences: entering a stop's fence, leaving it (hysteresis in distance and event time), and stops passed
with no reading inside their fence."""

from __future__ import annotations

from datetime import datetime

from logistics.tracking.milestones import arrive, between, check_hold, depart, infer_between, move
from logistics.tracking.plan import Stop, TrackPlan
from logistics.tracking.readings import Reading, distance_km
from logistics.tracking.reconcile import WaybillStatus
from logistics.tracking.rules import TrackingRules
from logistics.tracking.state import PROGRESS_STARTED, TrackState


def exit_radius(stop: Stop, rules: TrackingRules) -> float:
    """The radius beyond which a tracker may have left the stop (the fence plus hysteresis)."""
    return max(stop.radius_km * rules.exit_factor, stop.radius_km + rules.exit_margin_km)


def near(r: Reading, stop: Stop, radius_km: float) -> float | None:
    """Distance to the stop if within radius_km, else None; a cheap box test first (this is the hot loop)."""
    dlat_km = abs(r.lat - stop.lat) * 111.19  # never more than the true distance
    if dlat_km > radius_km:
        return None
    dlon = abs(r.lon - stop.lon)
    if dlon > 180:
        dlon = 360 - dlon
    if dlon * 111.3 * stop._cos_lat > radius_km * 1.01 + 0.1:
        return None
    d = distance_km(r.lat, r.lon, stop.lat, stop.lon)
    return d if d <= radius_km else None


def _nearer(r: Reading, stop: Stop, than_km: float) -> bool:
    return distance_km(r.lat, r.lon, stop.lat, stop.lon) < than_km


def _later_fence(stops: tuple[Stop, ...], start: int, r: Reading) -> int | None:
    for j in range(start, len(stops)):
        if near(r, stops[j], stops[j].radius_km) is not None:
            return j
    return None


def follow_fences(
    st: TrackState, plan: TrackPlan, r: Reading, previous: Reading | None, rules: TrackingRules
) -> None:
    """Arrive at, stay at, leave or pass stops on a good fix `r` (`previous`: the good fix before it)."""
    stops = plan.stops
    # Tracking has started; the status waits for a milestone.
    move(st, PROGRESS_STARTED, WaybillStatus.BOOKED, r.ts)
    i = st.stop_index
    if not st.at_stop:
        j = _later_fence(stops, i + 1, r)
        if j is not None:
            _arrive_via(st, plan, j, r, previous, rules)
        elif i >= 0 and _passed_upto(plan, i, r, rules) > i:
            _passing(st, plan, r, previous, rules)
        else:
            st.pass_candidate = st.pass_anchor = None
        return
    here = stops[i]
    d = distance_km(r.lat, r.lon, here.lat, here.lon)
    j = _later_fence(stops, i + 1, r)
    if d <= exit_radius(here, rules):
        # Fences overlap (a border's exit and entry posts, a few km apart): inside the next one and out of
        # this one, or inside both and nearer the next. Which of the two a fix lies nearer decides, not which
        # fence the tracker's reporting phase happened to catch it in; progress never goes back, so noise in
        # the shared part cannot flap between them.
        if j is not None and (d > here.radius_km or _nearer(r, stops[j], d)):
            depart(st, plan, i, _departure_time(st, plan, r, previous, rules), r.seq, False)
            _arrive_via(st, plan, j, r, previous, rules)
            return
        st.exit_candidate = None  # back inside the hysteresis band: no exit
        check_hold(st, here, r.ts, rules)
        return
    if j is not None:
        candidate = st.exit_candidate
        seq = candidate.seq if candidate is not None else r.seq
        depart(st, plan, i, _departure_time(st, plan, r, previous, rules), seq, False)
        _arrive_via(st, plan, j, r, previous, rules)
        return
    if st.exit_candidate is None:
        st.exit_candidate = r
    elif r.ts - st.exit_candidate.ts >= rules.exit_dwell:
        candidate = st.exit_candidate
        depart(st, plan, i, candidate.ts, candidate.seq, False)
        # Out of here and already past the next stops (twin posts), as this reading confirms: crossed by then.
        upto = min(_passed_upto(plan, i, candidate, rules), _passed_upto(plan, i, r, rules))
        if upto > i:
            infer_between(st, plan, range(i + 1, upto + 1), None, candidate)


def _passed_upto(plan: TrackPlan, i: int, r: Reading, rules: TrackingRules) -> int:
    """The last stop the tracker, last at stops[i], has gone past without entering its fence; i if none.

    The next stop is passed together with the stops after it that each lie within the exit radius of the one
    before (twin border posts a few km apart). Past means: outside the exit radius of each of them, nearer
    the stop after them than the last of them is, and farther from stops[i] than the next stop is. (Not
    tried before the origin: a pickup may well start on the far side of it.) Measured against the stop right
    after the next, a fix past both of twin posts 3 km apart was never "past" the first, and a crossing whose
    fix inside the fences was lost waited for the destination's fence, to be inferred there, hours late.
    """
    stops = plan.stops
    n = i + 1
    if n >= len(stops) - 1:
        return i  # the final stop is arrived at, never passed
    last = stops[i]
    legs = plan.leg_km
    m = n
    while m + 1 < len(stops) - 1 and legs[m + 1] <= exit_radius(stops[m], rules):
        m += 1
    after = stops[m + 1]
    # Cheapest test first: on the way to the next stop, the stop after it is still farther than from there.
    passed = (
        distance_km(r.lat, r.lon, after.lat, after.lon) < legs[m + 1]
        and distance_km(r.lat, r.lon, last.lat, last.lon) > legs[n]
        and all(distance_km(r.lat, r.lon, s.lat, s.lon) > exit_radius(s, rules) for s in stops[n : m + 1])
    )
    return m if passed else i


def _passing(
    st: TrackState, plan: TrackPlan, r: Reading, previous: Reading | None, rules: TrackingRules
) -> None:
    """Beyond the next stop: confirmed (like an exit) by staying beyond for `exit_dwell`, then inferred."""
    candidate = st.pass_candidate
    if candidate is None:
        st.pass_candidate, st.pass_anchor = r, previous
        return
    if r.ts - candidate.ts < rules.exit_dwell:
        return
    upto = max(_passed_upto(plan, st.stop_index, candidate, rules), st.stop_index + 1)
    infer_between(st, plan, range(st.stop_index + 1, upto + 1), st.pass_anchor, candidate)
    st.pass_candidate = st.pass_anchor = None


def _departure_time(
    st: TrackState, plan: TrackPlan, r: Reading, previous: Reading | None, rules: TrackingRules
) -> datetime:
    """When the tracker left stops[stop_index], given that `r` is already beyond it."""
    if st.exit_candidate is not None:
        return st.exit_candidate.ts
    if previous is None or previous.ts >= r.ts:
        return r.ts
    # No reading between the fence and `r`: time the exit crossing by distance.
    here = plan.stops[st.stop_index]
    total = distance_km(previous.lat, previous.lon, r.lat, r.lon)
    if total <= 0:
        return r.ts
    to_exit = exit_radius(here, rules) - distance_km(previous.lat, previous.lon, here.lat, here.lon)
    return between(previous.ts, r.ts, min(1.0, max(0.0, to_exit / total)))


def _arrive_via(
    st: TrackState, plan: TrackPlan, j: int, r: Reading, previous: Reading | None, rules: TrackingRules
) -> None:
    """Arrive at stop j on reading r; stops skipped on the way get inferred arrival and departure."""
    skipped = range(st.stop_index + 1, j)
    if skipped:
        infer_between(st, plan, skipped, previous, r)
    arrive(st, plan, j, r.ts, r.seq, False)
