import json
import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iot_sim.faults import (
    FAULTS,
    GPS_WEEK_ROLLOVER,
    Battery,
    Door,
    Duplicate,
    Emission,
    Gap,
    Jump,
    Reefer,
    Reorder,
    Skew,
    Spoof,
    Zero,
    build_chain,
    inject,
    parse_fault_rates,
    parse_faults,
)
from iot_sim.geo import haversine_km
from iot_sim.motion import build_stops
from iot_sim.readings import Reading, TrackerModel

from .test_motion import RAW, T0

STEP = timedelta(minutes=30)


def stream(n: int = 100, device: str = "trk-a", setpoint: float | None = None, start_hours: float = 0):
    m = TrackerModel(device, build_stops(RAW), random.Random(3), reefer_setpoint_c=setpoint)
    t0 = T0 + timedelta(hours=start_hours)
    return [Emission.single(device, m.reading_at(t0 + i * STEP)) for i in range(n)]


def seqs(out: list[Emission], device: str = "trk-a") -> list[int]:
    return [r.seq for e in out if e.device_id == device and not e.spoofed for r in e.readings]


def never(rng_seed: int = 0) -> random.Random:
    return random.Random(rng_seed)


def test_passthrough_without_faults():
    s = stream(20)
    assert inject([], s) == s


def test_duplicate_sends_the_same_seq_twice():
    out = inject([Duplicate(never(), 1.0)], stream(5))
    assert seqs(out) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert out[0].payload() == out[1].payload()


def test_reorder_delivers_a_reading_after_the_next_one():
    out = inject([Reorder(never(), 1.0)], stream(4))
    assert seqs(out) == [2, 1, 4, 3]


def test_reorder_hands_back_what_it_holds_at_the_end():
    out = inject([Reorder(never(), 1.0)], stream(3))
    assert sorted(seqs(out)) == [1, 2, 3] and seqs(out)[-1] == 3


def test_gap_uploads_a_backlog_newest_first_as_a_json_array():
    gap = Gap(random.Random(0), 0.0, hours=6.0)
    s = stream(30)
    out = gap.feed(s[0])
    gap.rate = 1.0  # the gap starts at the second reading
    for e in s[1:]:
        out += gap.feed(e)
        gap.rate = 0.0
    out += gap.flush()
    backlog = [e for e in out if e.batch]
    assert len(backlog) == 1
    payload = json.loads(backlog[0].payload())
    assert isinstance(payload, list)
    assert [r["seq"] for r in payload] == list(range(13, 1, -1))  # 6 h of readings at 30 min, newest first
    assert seqs(out) == [1, *range(13, 1, -1), *range(14, 31)]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    dup=st.floats(0, 1),
    reorder=st.floats(0, 1),
    gap=st.floats(0, 0.3),
)
def test_delivery_faults_lose_nothing(seed, dup, reorder, gap):
    chain = build_chain(
        ["gap", "reorder", "dup"], "trk-a", seed, rates={"gap": gap, "reorder": reorder, "dup": dup}
    )
    out = inject(chain, stream(60))
    assert set(seqs(out)) == set(range(1, 61))
    if dup == 0:
        assert sorted(seqs(out)) == list(range(1, 61))


def test_skew_moves_ts_days_into_the_future_or_back_1024_weeks():
    s = stream(4)
    out = inject([Skew(never(), 1.0)], s)
    shifts = [o.readings[0].ts - i.readings[0].ts for o, i in zip(out, s, strict=False)]
    assert timedelta(days=2) <= shifts[0] <= timedelta(days=30)
    assert shifts[1] == -GPS_WEEK_ROLLOVER
    assert [r.seq for e in out for r in e.readings] == [1, 2, 3, 4]


def test_jump_is_hundreds_of_km_off_with_claimed_accuracy_kept():
    s = stream(10)
    out = inject([Jump(never(), 1.0)], s)
    for o, i in zip(out, s, strict=False):
        a, b = o.readings[0], i.readings[0]
        assert 150 <= haversine_km(a.lat, a.lon, b.lat, b.lon) <= 800
        assert a.accuracy_m == b.accuracy_m


def test_zero_fix():
    out = inject([Zero(never(), 1.0)], stream(2))
    assert all((e.readings[0].lat, e.readings[0].lon) == (0.0, 0.0) for e in out)


def test_spoof_publishes_a_copy_under_another_device_with_own_client():
    spoof = Spoof(never(), 1.0, victims=lambda: ["trk-a", "trk-b"])
    out = inject([spoof], stream(3))
    assert seqs(out) == [1, 2, 3]
    spoofed = [e for e in out if e.spoofed]
    assert len(spoofed) == 3
    assert all(e.device_id == "trk-b" and e.publisher == "trk-a" for e in spoofed)
    assert spoofed[0].topic == "xborder/v1/devices/trk-b/telemetry"


def test_spoof_needs_another_device():
    assert inject([Spoof(never(), 1.0, victims=lambda: ["trk-a"])], stream(3)) == stream(3)


def test_battery_fault_stays_low_and_sinks():
    battery = Battery(random.Random(0), 0.0)
    s = stream(60)
    out = battery.feed(s[0])
    battery.rate = 1.0
    for e in s[1:]:
        out += battery.feed(e)
    levels = [e.readings[0].battery_pct for e in out]
    assert levels[0] == 100
    drained = [level for level in levels[1:] if level is not None]
    assert len(drained) == len(levels) - 1 and all(level < 10 for level in drained)
    assert all(b <= a for a, b in zip(drained, drained[1:], strict=False))


def test_reefer_excursion_lasts_its_hours_and_only_touches_reefers():
    reefer = Reefer(random.Random(0), 1.0, hours=3.0)
    s = stream(20, setpoint=5.0)
    out = [reefer.feed(e)[0] for e in s]
    hot = [e.readings[0].ts for e in out if (e.readings[0].temp_c or 0) > 9]
    assert hot[0] == T0 and T0 + timedelta(hours=2, minutes=30) in hot
    dry = stream(5)
    assert inject([Reefer(random.Random(0), 1.0)], dry) == dry


def test_door_opens_only_on_the_move():
    s = stream(48)  # parked until T0+10h, then moving
    out = inject([Door(never(), 1.0)], s)
    departure = T0 + timedelta(hours=10)
    opened = [e.readings[0] for e in out if e.readings[0].door_open]
    assert opened and all(r.ts > departure for r in opened)
    assert all(r.door_open is False for e in out for r in e.readings if r.ts <= departure)


def test_chain_is_deterministic_for_a_seed():
    names = parse_faults("all")
    a = inject(build_chain(names, "trk-a", 5, rate_scale=5, victims=lambda: ["trk-b"]), stream(200))
    b = inject(build_chain(names, "trk-a", 5, rate_scale=5, victims=lambda: ["trk-b"]), stream(200))
    c = inject(build_chain(names, "trk-a", 6, rate_scale=5, victims=lambda: ["trk-b"]), stream(200))
    assert [e.payload() for e in a] == [e.payload() for e in b]
    assert [e.payload() for e in a] != [e.payload() for e in c]


def test_parse_faults():
    assert parse_faults("dup, gap") == ("gap", "dup")
    assert parse_faults("") == ()
    assert parse_faults("all") == tuple(FAULTS)
    with pytest.raises(ValueError, match="teleport"):
        parse_faults("dup,teleport")


def test_parse_fault_rates():
    assert parse_fault_rates("dup,gap=0.05") == {"gap": 0.05, "dup": None}
    assert parse_fault_rates("all,gap=0.5")["gap"] == 0.5  # later items override
    assert set(parse_fault_rates("all")) == set(FAULTS)
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_fault_rates("gap=2")
    with pytest.raises(ValueError, match="not a number"):
        parse_fault_rates("gap=often")


def test_an_explicit_rate_replaces_the_default():
    chain = build_chain(["dup"], "trk-a", 1, rates={"dup": 1.0})
    assert len(inject(chain, stream(10))) == 20
    assert len(inject(build_chain(["dup"], "trk-a", 1, rates={"dup": 0.0}), stream(10))) == 10


def test_every_fault_in_the_cli_list_exists():
    assert set(FAULTS) >= {
        "dup",
        "reorder",
        "gap",
        "skew",
        "jump",
        "zero",
        "spoof",
        "battery",
        "reefer",
        "door",
    }


def test_reading_equality_is_by_value():
    r = Reading(1, T0, 1.0, 2.0)
    assert r.with_(lat=1.0) == r
