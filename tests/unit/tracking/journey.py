"""A compact test corridor near Khorgos and a tracker that drives it, in event time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from logistics.tracking.plan import Stop, TrackPlan
from logistics.tracking.readings import Reading, distance_km

T0 = datetime(2027, 3, 1, tzinfo=UTC)
LAT = 44.2
STEP_DEG = 1.3  # ~104 km between stops at this latitude


def stop_lon(k: int) -> float:
    return 80.0 + STEP_DEG * k


def corridor(*, temperature: tuple[float, float] | None = None, planned: bool = True) -> TrackPlan:
    """origin -> hub (road to rail) -> border -> destination -> warehouse, 5 km fences, ~104 km apart."""
    roles = [("ORIG", "Yining rail terminal", "origin", None, "road"),
             ("HUB1", "Khorgos gateway hub", "hub", "road", "rail"),
             ("BORD", "Altynkol border crossing", "border", "rail", "rail"),
             ("DEST", "Zharkent terminal", "destination", "rail", "road"),
             ("WH01", "Zharkent overseas warehouse", "warehouse", "road", None)]  # fmt: skip
    stops = []
    for k, (node, name, role, mode_in, mode_out) in enumerate(roles):
        arrival = T0 + timedelta(hours=3 * k) if planned and k > 0 else None
        departure = T0 + timedelta(hours=3 * k + 1) if planned and k < len(roles) - 1 else None
        stops.append(Stop(node, name, LAT, stop_lon(k), role, 5.0, arrival, departure, mode_in, mode_out))
    return TrackPlan("XB-TEST-1", tuple(stops), deliver_by=T0 + timedelta(days=2), temperature=temperature)


def drive(
    plan: TrackPlan,
    *,
    device: str = "trk-1",
    start: datetime = T0,
    interval: timedelta = timedelta(minutes=10),
    speed_kmh: float = 60.0,
    dwell: timedelta = timedelta(hours=1),
    first_seq: int = 0,
) -> list[Reading]:
    """Readings every `interval` along the stops (straight lines), dwelling at each stop but the last."""
    readings: list[Reading] = []
    seq = first_seq
    t = start
    stops = plan.stops
    for k in range(len(stops)):
        here = stops[k]
        stay_until = t + (dwell if k < len(stops) - 1 else timedelta(hours=1))
        while t < stay_until:
            readings.append(Reading(device, seq, t, here.lat, here.lon, speed_kmh=0.0, accuracy_m=8.0))
            seq += 1
            t += interval
        if k == len(stops) - 1:
            break
        ahead = stops[k + 1]
        leg_km = distance_km(here.lat, here.lon, ahead.lat, ahead.lon)
        leg_time = timedelta(hours=leg_km / speed_kmh)
        leg_start = t
        while t < leg_start + leg_time:
            f = (t - leg_start) / leg_time
            lat = here.lat + (ahead.lat - here.lat) * f
            lon = here.lon + (ahead.lon - here.lon) * f
            readings.append(Reading(device, seq, t, lat, lon, speed_kmh=speed_kmh, accuracy_m=8.0))
            seq += 1
            t += interval
    return readings


def with_received(readings: list[Reading], delay: timedelta = timedelta(seconds=2)) -> list[Reading]:
    return [replace(r, received_at=r.ts + delay) for r in readings]


def codes(track_milestones: tuple[object, ...]) -> list[tuple[str, str]]:
    return [(m.code, m.node_id) for m in track_milestones]  # type: ignore[attr-defined]
