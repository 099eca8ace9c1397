"""Condition alarms in event time: temperature, shock, door, battery, each raised once until it clears; and
the offline alarm the scheduler raises."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from logistics.tracking.geofence import exit_radius, near
from logistics.tracking.plan import TrackPlan
from logistics.tracking.readings import Reading
from logistics.tracking.rules import DEFAULT_RULES, TrackingRules
from logistics.tracking.state import Alarm, TrackState, duration_text, time_text


def conditions(
    st: TrackState, plan: TrackPlan, r: Reading, rules: TrackingRules, *, position_ok: bool
) -> None:
    """Raise or clear the condition alarms a reading shows (the door's only with a trusted position)."""
    if plan.temperature is not None and r.temp_c is not None:
        low, high = plan.temperature
        if low <= r.temp_c <= high:
            st.excursion_since = None
            _clear(st, "temperature", r.ts)
        else:
            if st.excursion_since is None:
                st.excursion_since = r.ts
            if r.ts - st.excursion_since >= rules.temperature_min_duration:
                _raise(
                    st, "temperature", r.ts,
                    f"{r.temp_c:g} °C outside the cargo range {low:g}..{high:g} °C since "
                    f"{time_text(st.excursion_since)}",
                )  # fmt: skip
    if r.shock_g is not None:
        if r.shock_g > rules.shock_g:
            _raise(st, "shock", r.ts, f"shock of {r.shock_g:g} g above {rules.shock_g:g} g")
        else:
            _clear(st, "shock", r.ts)
    if r.door_open is not None:
        if not r.door_open:
            _clear(st, "door", r.ts)
        elif position_ok and not _at_any_stop(plan, r, rules):
            _raise(st, "door", r.ts, f"door opened away from any facility at {r.lat:.5f},{r.lon:.5f}")
    if r.battery_pct is not None:
        if r.battery_pct < rules.low_battery_pct:
            _raise(st, "battery", r.ts, f"battery at {r.battery_pct:g}% (below {rules.low_battery_pct:g}%)")
        elif r.battery_pct >= rules.battery_clear_pct:
            _clear(st, "battery", r.ts)


def _at_any_stop(plan: TrackPlan, r: Reading, rules: TrackingRules) -> bool:
    return any(near(r, s, exit_radius(s, rules)) is not None for s in plan.stops)


def _raise(st: TrackState, kind: str, at: datetime, detail: str) -> None:
    if kind in st.open_alarms:
        return  # raised once, until it clears
    st.open_alarms[kind] = len(st.alarms)
    st.alarms.append(Alarm(kind, at, None, detail))


def _clear(st: TrackState, kind: str, at: datetime) -> None:
    index = st.open_alarms.pop(kind, None)
    if index is not None:
        st.alarms[index] = replace(st.alarms[index], cleared_at=at)


def offline_alarm(
    last_reading_ts: datetime | None,
    expected_interval: timedelta,
    now: datetime,
    *,
    missed_intervals: int = DEFAULT_RULES.offline_missed_intervals,
) -> Alarm | None:
    """An `offline` alarm if no reading for `missed_intervals` expected intervals; raised when that began."""
    if last_reading_ts is None or expected_interval <= timedelta(0):
        return None
    silent_from = last_reading_ts + expected_interval * missed_intervals
    if now <= silent_from:
        return None
    return Alarm(
        "offline",
        silent_from,
        None,
        f"no reading since {time_text(last_reading_ts)} ({missed_intervals} expected intervals of "
        f"{duration_text(expected_interval)} missed)",
    )
