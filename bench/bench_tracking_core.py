"""Tracking core throughput: derive / advance over a 15-day Yibin -> Duisburg rail journey, many trackers.

    .venv/bin/python bench/bench_tracking_core.py [--devices 10000] [--derive-devices 2000]
                                                  [--interval-minutes 60] [--seed 1]

Every tracker reports every `interval` minutes for the whole journey (15 days: 360 readings at 60 minutes,
1,440 at 15), with GPS noise and a reefer temperature. Printed side by side, all measured in this run:

  baseline   sort each tracker's readings by (ts, seq) and touch every one: the floor for any derivation
  derive     `derive(plan, readings)` per tracker from scratch (what replay and a late reading cost)
  advance    the live hot path: all trackers' `TrackState`s held in memory, each reading applied with
             `advance(state, plan, [reading])` in event-time order across the fleet
  json       `TrackState.to_json()` + `json.dumps` per advance, if the state is persisted every reading

plus peak RSS after each phase and the mean JSON size of a tracker's state. No assertion: figures only.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logistics.tracking.derive import advance, derive  # noqa: E402
from logistics.tracking.plan import Stop, TrackPlan  # noqa: E402
from logistics.tracking.readings import Reading  # noqa: E402
from logistics.tracking.state import TrackState, new_state  # noqa: E402

T0 = datetime(2027, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)
# (node, name, lat, lon, role, arrive after, dwell hours, mode in, mode out)
ROUTE = [
    ("CNYIB", "Yibin port rail terminal", 28.77, 104.63, "origin", 0, 6, None, "rail"),
    ("CNCKG", "Chongqing Tuanjiecun", 29.62, 106.35, "hub", 10, 8, "rail", "rail"),
    ("CNXAN", "Xi'an international port", 34.38, 109.03, "hub", 40, 10, "rail", "rail"),
    ("CNAKA", "Alashankou border", 45.17, 82.57, "border", 110, 24, "rail", "rail"),
    ("KZNQZ", "Astana", 51.17, 71.45, "hub", 170, 6, "rail", "rail"),
    ("PLMAL", "Malaszewicze border", 52.05, 23.60, "border", 290, 30, "rail", "rail"),
    ("DEDUI", "Duisburg Gateway terminal", 51.43, 6.76, "destination", 340, 8, "rail", "road"),
    ("DEDTM", "Dortmund overseas warehouse", 51.51, 7.47, "warehouse", 360, 0, "road", None),
]


def journey_plan() -> TrackPlan:
    stops = []
    for node, name, lat, lon, role, after, dwell_h, mode_in, mode_out in ROUTE:
        arrival = T0 + after * H if role != "origin" else None
        departure = T0 + (after + dwell_h) * H if role != "warehouse" else None
        stops.append(Stop(node, name, lat, lon, role, 5.0, arrival, departure, mode_in, mode_out))
    return TrackPlan("XB-BENCH", tuple(stops), deliver_by=T0 + 16 * 24 * H, temperature=(2.0, 8.0))


def readings_for(plan: TrackPlan, device: int, interval: timedelta, seed: int) -> list[Reading]:
    return list(iter_readings(plan, device, interval, seed))


def iter_readings(plan: TrackPlan, device: int, interval: timedelta, seed: int) -> Iterator[Reading]:
    """One tracker's readings over the whole journey, in event-time order, made as they are asked for."""
    rng = random.Random(seed * 100_003 + device)
    device_id = f"trk-{device:05d}"
    stops = plan.stops
    # (time, lat, lon) waypoints: arrive and leave each stop on the timetable
    points: list[tuple[datetime, float, float]] = []
    for s in stops:
        arrive = s.planned_arrival or T0
        leave = s.planned_departure or arrive + 4 * H
        points += [(arrive, s.lat, s.lon), (leave, s.lat, s.lon)]
    t = T0 + timedelta(minutes=rng.uniform(0, interval.total_seconds() / 60))
    k = 0
    seq = 0
    end = points[-1][0]
    while t <= end:
        while points[k + 1][0] < t:
            k += 1
        (ta, la, oa), (tb, lb, ob) = points[k], points[k + 1]
        f = 0.0 if tb == ta else (t - ta) / (tb - ta)
        lat = la + (lb - la) * f + rng.gauss(0, 0.0004)
        lon = oa + (ob - oa) * f + rng.gauss(0, 0.0004)
        moving = la != lb or oa != ob
        yield (
            Reading(
                device_id, seq, t, lat, lon,
                speed_kmh=45.0 if moving else 0.0,
                accuracy_m=abs(rng.gauss(8, 3)),
                temp_c=5.0 + rng.gauss(0, 0.8),
                battery_pct=max(0.0, 100 - seq * 0.01),
                door_open=False,
                received_at=t + timedelta(seconds=2),
            )
        )  # fmt: skip
        seq += 1
        t += interval


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clocks:
    """Wall and CPU seconds side by side: other processes share this machine, CPU time is the fair figure."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self._w = self._c = 0.0

    def __enter__(self) -> Clocks:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c

    def rate(self, n: int) -> str:
        return f"{n / self.cpu:10,.0f} readings/s CPU ({n / self.wall:10,.0f} wall; {self.cpu:.2f} s CPU)"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--interval-minutes", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--derive-devices", type=int, default=2_000, help="trackers in the derive phase")
    args = p.parse_args()
    plan = journey_plan()
    interval = timedelta(minutes=args.interval_minutes)
    per_device = len(readings_for(plan, 0, interval, args.seed))
    derive_devices = args.derive_devices
    print(f"journey: {len(plan.stops)} stops over 15 days, {per_device} readings per tracker (every "
          f"{args.interval_minutes:g} min); derive over {derive_devices:,} trackers, "
          f"live over {args.devices:,} = {per_device * args.devices:,} readings")  # fmt: skip

    # Baseline and derive, tracker by tracker (making the readings is not timed).
    base, full = Clocks(), Clocks()
    n = 0
    statuses: dict[str, int] = {}
    shuffler = random.Random(args.seed)
    for d in range(derive_devices):
        readings = readings_for(plan, d, interval, args.seed)
        shuffler.shuffle(readings)  # as loaded from storage: any order
        touched = 0.0
        with base:
            for r in sorted(readings, key=lambda r: (r.ts, r.device_id, r.seq)):
                touched += r.lat
        with full:
            track = derive(plan, readings)
        n += len(readings)
        statuses[str(track.status)] = statuses.get(str(track.status), 0) + 1
        assert not math.isnan(touched)
    print(f"baseline  sort + iterate       {base.rate(n)}")
    print(f"derive    from scratch         {full.rate(n)}  = {full.cpu / base.cpu:.1f}x the baseline's CPU")
    print(f"          final statuses {statuses}")
    print(f"          peak RSS so far {peak_rss_mb():.0f} MB")

    # Live: every tracker's state in memory, readings applied one at a time in fleet-wide event order.
    gc.collect()
    rss_before = peak_rss_mb()
    streams = [iter_readings(plan, d, interval, args.seed) for d in range(args.devices)]
    states = [new_state() for _ in range(args.devices)]
    live, dump = Clocks(), Clocks()
    m = sampled = json_bytes = 0
    active = list(range(args.devices))
    while active:
        still = []
        for d in active:
            r = next(streams[d], None)
            if r is None:
                continue
            still.append(d)
            with live:
                states[d], _ = advance(states[d], plan, [r])
            m += 1
            if d % 100 == 0:  # sample the cost of persisting the state after every reading
                with dump:
                    text = json.dumps(states[d].to_json())
                sampled += 1
                json_bytes += len(text)
        active = still
    print(f"advance   live, one reading    {live.rate(m)}  = {live.cpu / m * 1e6:.1f} us CPU per reading, "
          f"{args.devices:,} states held")  # fmt: skip
    print(f"state     to_json + dumps      {sampled / dump.cpu:10,.0f} states/s CPU, "
          f"mean {json_bytes / sampled:,.0f} bytes")  # fmt: skip
    final = [str(s.status) for s in states]
    print(f"          final statuses { ({s: final.count(s) for s in sorted(set(final))}) }")
    # Memory of the states themselves: rebuild a sample under tracemalloc.
    sample = [s.to_json() for s in states[:200]]
    gc.collect()
    tracemalloc.start()
    base_mem = tracemalloc.get_traced_memory()[0]
    rebuilt = [TrackState.from_json(doc) for doc in sample]
    per_state = (tracemalloc.get_traced_memory()[0] - base_mem) / len(rebuilt)
    tracemalloc.stop()
    print(f"memory    {per_state:,.0f} bytes per tracker state -> {per_state * args.devices / 2**20:,.1f} MB "
          f"for {args.devices:,} trackers; peak RSS {peak_rss_mb():.0f} MB "
          f"(+{peak_rss_mb() - rss_before:.0f} MB in the live phase, generators included)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
