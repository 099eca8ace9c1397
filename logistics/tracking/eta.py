"""ETA and delay: EST milestones for the stops ahead, the delay alarm and the deliver-by risk."""

from __future__ import annotations

from datetime import datetime, timedelta

from logistics.tracking.milestones import arrival_codes, departure_codes
from logistics.tracking.plan import Stop, TrackPlan
from logistics.tracking.readings import distance_km
from logistics.tracking.rules import DEFAULT_RULES, TrackingRules
from logistics.tracking.state import Alarm, Milestone, Track, duration_text, time_text

# Door-to-door planning speeds for legs with no timetable, km/h over the great-circle distance * DETOUR.
MODE_SPEED_KMH = {"rail": 40.0, "sea": 30.0, "river": 15.0, "air": 600.0, "road": 55.0}
DETOUR = 1.25


def leg_duration(plan: TrackPlan, k: int) -> timedelta:
    """Planned travel time into stop k from stop k-1."""
    a, b = plan.stops[k - 1], plan.stops[k]
    if a.planned_departure is not None and b.planned_arrival is not None:
        return max(timedelta(0), b.planned_arrival - a.planned_departure)
    speed = MODE_SPEED_KMH[a.mode_out or b.mode_in or "road"]
    return timedelta(hours=distance_km(a.lat, a.lon, b.lat, b.lon) * DETOUR / speed)


def dwell(stop: Stop) -> timedelta:
    """The planned time at a stop (none without a timetable)."""
    if stop.planned_arrival is not None and stop.planned_departure is not None:
        return stop.planned_departure - stop.planned_arrival
    return timedelta(0)


def estimate(plan: TrackPlan, track: Track, now: datetime) -> tuple[datetime | None, tuple[Milestone, ...]]:
    """ETA at the final stop and EST milestones for the stops ahead.

    Delay is carried forward: the remaining planned leg and dwell durations run from where the tracker is (or
    from now, if it is overdue), and a stop is not left before its timetabled departure.
    """
    stops = plan.stops
    last = len(stops) - 1
    i = track.stop_index
    est: list[Milestone] = []

    def emit(codes: tuple[str, ...], k: int, at: datetime) -> None:
        est.extend(Milestone(code, "EST", stops[k].node_id, at, detail=stops[k].name) for code in codes)

    if i >= last:
        arrived = track.arrived_at if track.at_stop else _arrival_of(track, stops[last].node_id)
        return arrived, ()
    if i < 0:
        departure = max(stops[0].planned_departure or now, now)
        emit(departure_codes(plan, 0), 0, departure)
        arrival = departure + leg_duration(plan, 1)
    elif track.at_stop:
        assert track.arrived_at is not None
        departure = max(track.arrived_at + dwell(stops[i]), stops[i].planned_departure or now, now)
        emit(departure_codes(plan, i), i, departure)
        arrival = departure + leg_duration(plan, i + 1)
    else:
        leg = leg_duration(plan, i + 1)
        position, here, ahead = track.position, stops[i], stops[i + 1]
        if position is not None and track.departed_at is not None and position.ts >= track.departed_at:
            done = distance_km(here.lat, here.lon, position.lat, position.lon)
            left = distance_km(position.lat, position.lon, ahead.lat, ahead.lon)
            arrival = position.ts + leg * (left / (done + left) if done + left > 0 else 0.0)
        else:
            arrival = (track.departed_at or now) + leg
        arrival = max(arrival, now)  # not there yet, so not before now
    k = max(i, 0) + 1
    while True:
        emit(arrival_codes(plan, k), k, arrival)
        if k == last:
            return arrival, tuple(est)
        departure = max(arrival + dwell(stops[k]), stops[k].planned_departure or arrival)
        emit(departure_codes(plan, k), k, departure)
        k += 1
        arrival = departure + leg_duration(plan, k)


def _arrival_of(track: Track, node_id: str) -> datetime | None:
    times = [m.event_time for m in track.milestones if m.node_id == node_id]
    return min(times) if times else None


def delay_alarm(
    plan: TrackPlan, track: Track, now: datetime, *, rules: TrackingRules = DEFAULT_RULES
) -> Alarm | None:
    """A `delay` alarm when the ETA is later than planned by more than the threshold, or misses deliver-by."""
    eta, _ = estimate(plan, track, now)
    if eta is None:
        return None
    reasons = []
    planned = plan.final.planned_arrival
    if planned is not None and eta - planned > rules.delay_threshold:
        reasons.append(
            f"ETA {time_text(eta)} is {duration_text(eta - planned)} behind the planned {time_text(planned)}"
        )
    if deliver_by_at_risk(plan, eta):
        assert plan.deliver_by is not None
        reasons.append(f"ETA {time_text(eta)} misses deliver-by {time_text(plan.deliver_by)}")
    if not reasons:
        return None
    return Alarm("delay", now, None, "; ".join(reasons))


def deliver_by_at_risk(plan: TrackPlan, eta: datetime | None) -> bool:
    """True when the ETA misses the deliver-by date: time to ask the route planner for alternatives."""
    return plan.deliver_by is not None and eta is not None and eta > plan.deliver_by
