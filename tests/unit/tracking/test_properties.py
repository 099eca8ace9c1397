"""Invariants of the derivation, by hypothesis: the input is a set, and the incremental fold equals it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistics.tracking.derive import advance, derive, replay
from logistics.tracking.readings import Reading
from logistics.tracking.reconcile import STATUS_RANK
from tests.unit.tracking.journey import corridor, drive

PLAN = corridor(temperature=(2.0, 8.0))
BASE = drive(PLAN, interval=timedelta(minutes=15))
SECOND = drive(PLAN, device="trk-2", interval=timedelta(minutes=20), first_seq=5, speed_kmh=55.0)


@st.composite
def noisy_readings(draw: st.DrawFn) -> list[Reading]:
    """A journey by one or two trackers with gaps, GPS noise, 0,0 fixes, excursions and door openings."""
    source = BASE + (SECOND if draw(st.booleans()) else [])
    keep = draw(st.lists(st.booleans(), min_size=len(source), max_size=len(source)))
    readings = [r for r, k in zip(source, keep, strict=True) if k or r.seq % 7 == 0]
    out: list[Reading] = []
    for r in readings:
        kind = draw(st.sampled_from(["plain"] * 6 + ["jitter", "null", "jump", "warm", "door", "shock"]))
        if kind == "jitter":
            r = replace(r, lat=r.lat + draw(st.floats(-0.06, 0.06)), lon=r.lon + draw(st.floats(-0.06, 0.06)))
        elif kind == "null":
            r = replace(r, lat=0.0, lon=0.0)
        elif kind == "jump":
            r = replace(r, lat=r.lat - 3.0)
        elif kind == "warm":
            r = replace(r, temp_c=draw(st.sampled_from([4.0, 9.5, 12.0])))
        elif kind == "door":
            r = replace(r, door_open=draw(st.booleans()))
        elif kind == "shock":
            r = replace(r, shock_g=draw(st.sampled_from([0.5, 6.0])))
        out.append(r)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(readings=noisy_readings(), data=st.data())
def test_derive_is_invariant_under_permutation_and_duplication(
    readings: list[Reading], data: st.DataObject
) -> None:
    reference = derive(PLAN, readings)
    shuffled = data.draw(st.permutations(readings))
    extra = data.draw(st.lists(st.sampled_from(readings), max_size=20)) if readings else []
    duplicated = shuffled + extra
    assert derive(PLAN, duplicated) == reference


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(readings=noisy_readings(), cuts=st.lists(st.integers(0, 200), max_size=4))
def test_advance_over_batches_equals_derive_on_all(readings: list[Reading], cuts: list[int]) -> None:
    ordered = sorted(readings, key=lambda r: (r.ts, r.device_id, r.seq))
    bounds = sorted({min(c, len(ordered)) for c in cuts} | {0, len(ordered)})
    state = replay(PLAN, [])
    seen = [(0, 0)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        state, track = advance(state, PLAN, list(reversed(ordered[a:b])))
        seen.append((STATUS_RANK[track.status], track.progress))
    expected = derive(PLAN, readings)
    times = [m.event_time for m in expected.milestones]
    assert times == sorted(times)
    assert replay(PLAN, readings).to_json() == state.to_json()
    if len(bounds) > 1:
        assert track == expected
    assert seen == sorted(seen)  # live status only ever moves forward
