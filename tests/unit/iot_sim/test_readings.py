import json
import random
from datetime import UTC, datetime, timedelta

from iot_sim.geo import haversine_km
from iot_sim.motion import build_stops, position_at
from iot_sim.readings import Reading, TrackerModel, first_due

from .test_motion import RAW, T0


def model(seed: int = 1, setpoint: float | None = None, next_seq: int = 1) -> TrackerModel:
    return TrackerModel(
        "trk-1", build_stops(RAW), random.Random(seed), reefer_setpoint_c=setpoint, next_seq=next_seq
    )


def run(m: TrackerModel, n: int = 48 * 16, step: timedelta = timedelta(minutes=30)) -> list[Reading]:
    return [m.reading_at(T0 + i * step) for i in range(n)]


def test_seq_rises_by_one_and_ts_is_the_fix_time():
    readings = run(model(next_seq=41), n=10)
    assert [r.seq for r in readings] == list(range(41, 51))
    assert [r.ts for r in readings] == [T0 + i * timedelta(minutes=30) for i in range(10)]


def test_wire_payload_has_the_contract_fields():
    r = run(model(setpoint=5.0), n=1)[0]
    wire = json.loads(json.dumps(r.to_wire()))
    assert wire["ts"] == "2027-03-01T00:00:00Z"
    assert {
        "seq",
        "ts",
        "lat",
        "lon",
        "speed_kmh",
        "accuracy_m",
        "temp_c",
        "humidity_pct",
        "shock_g",
        "door_open",
        "battery_pct",
    } == set(wire)
    assert wire["door_open"] is False


def test_noise_is_small_and_the_track_follows_the_plan():
    m = model()
    errors = []
    for r in run(m):
        fix = position_at(m.stops, r.ts)
        errors.append(haversine_km(fix.lat, fix.lon, r.lat, r.lon) * 1000)
        assert r.accuracy_m is not None and 3 <= r.accuracy_m <= 15
    assert max(errors) < 60  # metres: a few sigma of accuracy/2
    assert sum(errors) / len(errors) < 10


def test_parked_readings_report_zero_speed_and_moving_ones_near_plan_speed():
    readings = run(model(), n=40)
    assert readings[0].speed_kmh == 0.0  # at origin, before departure at T0+10h
    moving = [r for r in readings if T0 + timedelta(hours=10) < r.ts < T0 + timedelta(hours=20)]
    assert moving and all(10 < (r.speed_kmh or 0) < 40 for r in moving)  # ~22.7 km/h planned


def test_battery_drains_and_never_rises():
    readings = run(model())
    levels = [r.battery_pct for r in readings if r.battery_pct is not None]
    assert len(levels) == len(readings)  # every reading reports its battery
    assert levels[0] == 100 and levels[-1] < 80
    assert all(b <= a for a, b in zip(levels, levels[1:], strict=False))


def test_temperature_only_for_reefers_near_setpoint():
    assert all(r.temp_c is None for r in run(model(), n=20))
    temps = [r.temp_c for r in run(model(setpoint=5.0), n=200)]
    assert all(t is not None and 3.5 < t < 6.5 for t in temps)


def test_same_seed_same_stream_other_seed_other_stream():
    assert run(model(seed=7), n=50) == run(model(seed=7), n=50)
    assert run(model(seed=7), n=50) != run(model(seed=8), n=50)


def test_first_due_is_on_the_interval_grid():
    now = datetime(2027, 3, 1, 10, 7, 13, tzinfo=UTC)
    assert first_due(now, timedelta(minutes=30)) == datetime(2027, 3, 1, 10, 30, tzinfo=UTC)
    on_grid = datetime(2027, 3, 1, 10, 30, tzinfo=UTC)
    assert first_due(on_grid, timedelta(minutes=30)) == on_grid
