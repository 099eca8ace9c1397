"""The tracking rules: fence hysteresis, customs holds, alarm thresholds, and the screening per itinerary."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from logistics.tracking.plan import TrackPlan
from logistics.tracking.readings import DEFAULT_SCREENING, ScreeningRules


@dataclass(frozen=True, slots=True)
class TrackingRules:
    screening: ScreeningRules = DEFAULT_SCREENING
    exit_factor: float = 1.5  # exit radius = max(radius * factor, radius + exit_margin_km)
    exit_margin_km: float = 0.5
    exit_dwell: timedelta = timedelta(minutes=5)
    customs_hold_after: timedelta = timedelta(hours=24)  # dwell at a customs stop with no planned times
    customs_hold_grace: timedelta = timedelta(hours=6)  # beyond the planned dwell
    temperature_min_duration: timedelta = timedelta(minutes=30)
    shock_g: float = 4.0
    low_battery_pct: float = 15.0
    battery_clear_pct: float = 20.0
    delay_threshold: timedelta = timedelta(hours=12)
    offline_missed_intervals: int = 3


DEFAULT_RULES = TrackingRules()


def rules_for_clock_speed(speed: float, real_skew_seconds: float = 3.0) -> TrackingRules:
    """Rules for a service clock running `speed` times real time (XB_CLOCK_SPEED).

    At 1000x, a tracker whose clock is one real second ahead reports fixes 17 service minutes "in the future";
    the skew allowance grows with the speed so that this is not quarantined.
    """
    skew = max(DEFAULT_SCREENING.max_clock_skew, timedelta(seconds=speed * real_skew_seconds))
    return replace(DEFAULT_RULES, screening=replace(DEFAULT_SCREENING, max_clock_skew=skew))


# Faster than any freight train, truck, barge or ship (China-Europe express freight runs at up to 160 km/h):
# on an itinerary without an air leg, a fix further from the last good one than this allows is a GPS jump.
SURFACE_MAX_SPEED_KMH = 160.0


def screening_for(plan: TrackPlan, rules: TrackingRules) -> ScreeningRules:
    """The screening limits for this itinerary: the speed bound of the modes it actually uses."""
    modes = {m for s in plan.stops for m in (s.mode_in, s.mode_out) if m}
    if not modes or "air" in modes or rules.screening.max_speed_kmh <= SURFACE_MAX_SPEED_KMH:
        return rules.screening
    return replace(rules.screening, max_speed_kmh=SURFACE_MAX_SPEED_KMH)
