"""Stops passed without a good fix inside their fence: the crossing is inferred where it was passed, not when
the tracker next reaches a fence."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from logistics.tracking.derive import derive
from logistics.tracking.plan import Stop, TrackPlan
from logistics.tracking.readings import NULL_ISLAND, Reading, distance_km
from logistics.tracking.state import Milestone
from tests.unit.tracking.journey import T0

# An exit post and an entry post 3 km apart with 15 km fences (Mohan / Boten), 370 km before the destination.
TWIN_POSTS = TrackPlan(
    "XB-TWIN-PASS",
    (
        Stop("ORIG", "origin", 22.5, 101.7, "origin", 5.0),
        Stop("MOHAN", "exit post", 21.18, 101.69, "border", 15.0),
        Stop("BOTEN", "entry post", 21.1667, 101.6667, "border", 15.0),
        Stop("DEST", "destination", 18.0, 102.55, "destination", 8.0),
    ),
)


def ride(plan: TrackPlan, start: datetime, speed_kmh: float, interval: timedelta) -> list[Reading]:
    """Fixes every `interval` of a train leaving the origin at `start` and running through every stop."""
    stops = plan.stops
    legs = [distance_km(a.lat, a.lon, b.lat, b.lon) for a, b in zip(stops, stops[1:], strict=False)]
    readings: list[Reading] = []
    seq, t = 0, start
    while True:
        km = speed_kmh * (t - start).total_seconds() / 3600.0
        k = 0
        while k < len(legs) and km > legs[k]:
            km -= legs[k]
            k += 1
        if k == len(legs):
            return readings
        a, b, f = stops[k], stops[k + 1], km / legs[k]
        lat, lon = a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f
        readings.append(Reading("trk-1", seq, t, lat, lon, speed_kmh=speed_kmh, accuracy_m=8.0))
        seq, t = seq + 1, t + interval


def test_twin_posts_passed_with_their_only_fix_lost_are_inferred_at_the_crossing() -> None:
    # A train at 30 km/h with hourly fixes puts one fix, at most, inside the posts' fences; when that one is a
    # 0,0 fix the crossing is inferred. It happened between the fixes either side of the posts, some 12 h
    # before the train reaches the destination's fence (the fold used to infer it there, 12 h late: its test
    # "nearer the stop after the next one than that is" never holds when those two are 3 km apart).
    checked = 0
    for phase, readings, lost in _single_fix_at_the_posts():
        readings[lost] = replace(readings[lost], lat=0.0, lon=0.0)
        before, after = readings[lost - 1], readings[lost + 1]
        track = derive(TWIN_POSTS, readings)
        assert (readings[lost].seq, NULL_ISLAND) in track.quarantined
        at_posts = _at_posts(track.milestones)
        assert all(m.inferred for m in at_posts), (phase, at_posts)
        assert all(before.ts <= m.event_time <= after.ts for m in at_posts), (phase, before, after, at_posts)
        checked += 1
    assert checked >= 6  # most phases put a single fix inside the fences


def test_twin_posts_left_together_the_second_is_crossed_by_the_first_fix_past_both() -> None:
    # The fix inside the fences reaches one post; the next one, outside both exit radii, leaves it and is
    # past the other: that one was crossed by then (it used to wait for a later fix, inferred hours late).
    checked = 0
    for phase, readings, inside in _single_fix_at_the_posts():
        before, after = readings[inside - 1], readings[inside + 1]
        at_posts = _at_posts(derive(TWIN_POSTS, readings).milestones)
        assert [m.inferred for m in at_posts].count(False) == 3, (phase, at_posts)  # one post reached
        assert all(before.ts <= m.event_time <= after.ts for m in at_posts), (phase, before, after, at_posts)
        checked += 1
    assert checked >= 6


def _single_fix_at_the_posts() -> Iterator[tuple[int, list[Reading], int]]:
    """(phase, readings, index of the one fix inside the posts' fences) for the phases that have one."""
    posts = TWIN_POSTS.stops[1:3]
    for phase in range(0, 60, 5):
        readings = ride(TWIN_POSTS, T0 + timedelta(minutes=phase), 30.0, timedelta(hours=1))
        inside = [
            i for i, r in enumerate(readings)
            if any(distance_km(r.lat, r.lon, s.lat, s.lon) <= s.radius_km for s in posts)
        ]  # fmt: skip
        if len(inside) == 1:
            yield phase, readings, inside[0]


def _at_posts(milestones: tuple[Milestone, ...]) -> list[Milestone]:
    at_posts = [m for m in milestones if m.node_id in ("MOHAN", "BOTEN")]
    assert [(m.code, m.node_id) for m in at_posts] == [
        ("CUSS", "MOHAN"), ("CUSR", "MOHAN"), ("CROS", "MOHAN"),
        ("CUSS", "BOTEN"), ("CUSR", "BOTEN"), ("CROS", "BOTEN"),
    ], milestones  # fmt: skip
    return at_posts
