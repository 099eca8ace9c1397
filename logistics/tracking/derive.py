"""From readings to a trustworthy track: milestones, status, position and condition alarms.

`derive(plan, readings)` is the reference. It is a pure function of the *set* of readings: it sorts them by
(event time, device, seq), keeps one copy per (device, seq), screens each against the same device's previous
good reading, and folds the good ones through the geofence and status machine. Nothing reads a wall clock:
dwell, hysteresis and alarm durations are measured in event time, so a replay or a backlog uploaded
newest-first gives exactly the live result.

The fold is exposed for the hot path: `advance(state, plan, new_readings)` continues from a `TrackState`
(JSON-serialisable with `to_json` / `from_json`) and equals `derive` on all readings as long as every new
reading is later than the state's last one; an earlier one raises `LateReading`, and the caller re-derives.

Geofences: a stop is *entered* at the first good reading within `radius_km` and *left* only when the tracker
has stayed beyond `exit_factor * radius_km` for `exit_dwell` of event time over at least two readings, or
shows up inside a later stop's fence. Only stops ahead of the last one reached are considered, so progress
(and with it the status) never moves backwards within a derivation; across derivations (a late reading
re-derived) the caller passes the stored status and `Track.progress` as the floor.

Stops passed with no reading inside their fence (a gap) get *inferred* milestones, timed by interpolating
between the readings either side in proportion to the distance along the planned stops.

    role         arrival (status)                         departure (status)
    origin       - (BOOKED stays)                         GTOT (PICKED_UP) DEPA (IN_TRANSIT)
    hub          ARRI [+DISC at a mode change] (AT_HUB)   [LOAD at a mode change] DEPA (IN_TRANSIT)
    border       CUSS* (AT_BORDER; CUSTOMS_HOLD after     CUSR* CROS (IN_TRANSIT)
                 the planned dwell + 6 h, else 24 h)
    destination  ARRI [+DROP after a warehouse] (ARRIVED,  DEPA (ARRIVED stays)
                 DELIVERED after a warehouse)
    warehouse    GTIN (AT_WAREHOUSE)                      GTOT (OUT_FOR_DELIVERY)
    * where the stop clears customs (`Stop.customs`; by default at border crossings only)

The status follows the milestones in event-time order and nothing else: a reading, or arriving at the origin's
fence, shows where the tracker is but is no milestone, so the waybill stays BOOKED until the gate-out (GTOT)
makes it PICKED_UP; the origin's DEPA at the same moment then makes it IN_TRANSIT. EXCEPTION and CANCELLED are
people's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from logistics.tracking.plan import Stop, TrackPlan
from logistics.tracking.readings import (
    DEFAULT_SCREENING,
    GPS_ROLLOVER,
    GPS_WEEK_ROLLOVER,
    IMPOSSIBLE_SPEED,
    OUT_OF_SEQUENCE,
    POSITION_REASONS,
    TOO_OLD,
    Reading,
    ScreeningRules,
    distance_km,
    screen,
)

STATUSES = (
    "BOOKED", "PICKED_UP", "IN_TRANSIT", "AT_HUB", "AT_BORDER", "CUSTOMS_HOLD", "ARRIVED", "AT_WAREHOUSE",
    "OUT_FOR_DELIVERY", "DELIVERED", "EXCEPTION", "CANCELLED",
)  # fmt: skip
# Coarse order of the status machine. The journey statuses share a rank: between them, `progress` decides.
# EXCEPTION and CANCELLED are set by people; readings never move a waybill out of them.
STATUS_RANK = {
    "BOOKED": 0, "PICKED_UP": 1, "IN_TRANSIT": 2, "AT_HUB": 2, "AT_BORDER": 2, "CUSTOMS_HOLD": 2,
    "ARRIVED": 3, "AT_WAREHOUSE": 4, "OUT_FOR_DELIVERY": 5, "DELIVERED": 6, "EXCEPTION": 9, "CANCELLED": 9,
}  # fmt: skip
MILESTONE_CODES = ("GTOT", "DEPA", "ARRI", "LOAD", "DISC", "CROS", "CUSS", "CUSI", "CUSR", "GTIN", "DROP")
ALARM_KINDS = ("temperature", "shock", "door", "battery", "offline", "delay")

STATE_FORMAT = 3  # TrackState.to_json layout; a stored state of another layout is re-derived

# Consecutive mutually consistent fixes, all impossible from the last good one, that move the reference.
REANCHOR_AFTER = 3
_REANCHORED = (IMPOSSIBLE_SPEED, OUT_OF_SEQUENCE)

# Progress: 0 booked, 1 first good reading, then three steps per stop: arrived, held (customs), departed.
PROGRESS_STARTED = 1


def stop_progress(index: int, phase: int) -> int:
    return 10 + 3 * index + phase


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


@dataclass(frozen=True, slots=True)
class Milestone:
    code: str  # DCSA: GTOT DEPA ARRI LOAD DISC CROS CUSS CUSI CUSR GTIN DROP
    classifier: str  # ACT | EST | PLN
    node_id: str
    event_time: datetime
    inferred: bool = False
    seq: int | None = None  # the reading that showed it (None when inferred or estimated)
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Alarm:
    kind: str  # temperature | shock | door | battery | offline | delay
    raised_at: datetime
    cleared_at: datetime | None
    detail: str


@dataclass(frozen=True, slots=True)
class Track:
    milestones: tuple[Milestone, ...]  # ACT (some inferred), in event-time order
    status: str
    position: Reading | None  # the newest good reading by event time
    last_good_ts: datetime | None
    alarms: tuple[Alarm, ...]  # raised in event-time order; open ones have cleared_at None
    quarantined: tuple[tuple[int, str], ...]  # (seq, reason)
    progress: int = 0  # store it beside the status and pass it back as `initial_progress`
    stop_index: int = -1  # the last stop reached (-1: none yet)
    at_stop: bool = False  # inside that stop's fence (not yet departed)
    arrived_at: datetime | None = None  # at stops[stop_index]
    departed_at: datetime | None = None  # from stops[stop_index], when not at_stop
    # Each status change: (status, event time of the milestone or reading that caused it, progress then).
    status_changes: tuple[tuple[str, datetime, int], ...] = ()


class LateReading(ValueError):
    """`advance` got a reading no later than the state's last one: re-derive from all readings instead."""


@dataclass(slots=True)
class TrackState:
    """Everything the fold carries from one reading to the next; JSON-serialisable."""

    status: str = "BOOKED"
    progress: int = 0
    stop_index: int = -1
    at_stop: bool = False
    arrived_at: datetime | None = None
    departed_at: datetime | None = None
    exit_candidate: Reading | None = None
    position: Reading | None = None
    last_good_by_device: dict[str, Reading] = field(default_factory=dict)
    last_key: tuple[datetime, str, int] | None = None
    milestones: list[Milestone] = field(default_factory=list)
    quarantined: list[tuple[int, str]] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    open_alarms: dict[str, int] = field(default_factory=dict)  # kind -> index in alarms
    excursion_since: datetime | None = None  # temperature out of range since (event time)
    pass_candidate: Reading | None = None  # first reading seen beyond the next stop, outside its fence
    pass_anchor: Reading | None = None  # the reading before it
    jump_runs: dict[str, list[Reading]] = field(
        default_factory=dict
    )  # device -> consistent 'impossible' fixes
    status_changes: list[tuple[str, datetime, int]] = field(default_factory=list)  # see Track

    def copy(self) -> TrackState:
        return TrackState(
            self.status,
            self.progress,
            self.stop_index,
            self.at_stop,
            self.arrived_at,
            self.departed_at,
            self.exit_candidate,
            self.position,
            dict(self.last_good_by_device),
            self.last_key,
            list(self.milestones),
            list(self.quarantined),
            list(self.alarms),
            dict(self.open_alarms),
            self.excursion_since,
            self.pass_candidate,
            self.pass_anchor,
            {k: list(v) for k, v in self.jump_runs.items()},
            list(self.status_changes),
        )

    def to_json(self) -> dict[str, Any]:
        """Compact JSON-ready form (times as integer microseconds since the epoch; readings as arrays)."""
        return {
            "v": STATE_FORMAT,
            "status": self.status,
            "progress": self.progress,
            "stop": [self.stop_index, self.at_stop, _us(self.arrived_at), _us(self.departed_at)],
            "exit_candidate": _reading_out(self.exit_candidate),
            "position": _reading_out(self.position),
            "last_good": {k: _reading_out(v) for k, v in self.last_good_by_device.items()},
            "last_key": None if self.last_key is None else [_us(self.last_key[0]), *self.last_key[1:]],
            "milestones": [
                [m.code, m.classifier, m.node_id, _us(m.event_time), m.inferred, m.seq, m.detail]
                for m in self.milestones
            ],
            "quarantined": [[seq, reason] for seq, reason in self.quarantined],
            "alarms": [[a.kind, _us(a.raised_at), _us(a.cleared_at), a.detail] for a in self.alarms],
            "open_alarms": dict(self.open_alarms),
            "excursion_since": _us(self.excursion_since),
            "pass": [_reading_out(self.pass_candidate), _reading_out(self.pass_anchor)],
            "jump_runs": {k: [_reading_out(r) for r in v] for k, v in self.jump_runs.items()},
            "statuses": [[s, _us(at), p] for s, at, p in self.status_changes],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TrackState:
        if doc.get("v") != STATE_FORMAT:
            raise ValueError(f"track state format {doc.get('v')!r} is not {STATE_FORMAT}: re-derive instead")
        stop_index, at_stop, arrived_at, departed_at = doc["stop"]
        key = doc["last_key"]
        return cls(
            status=doc["status"],
            progress=doc["progress"],
            stop_index=stop_index,
            at_stop=at_stop,
            arrived_at=_at(arrived_at),
            departed_at=_at(departed_at),
            exit_candidate=_reading_in(doc["exit_candidate"]),
            position=_reading_in(doc["position"]),
            last_good_by_device={k: _reading_req(v) for k, v in doc["last_good"].items()},
            last_key=None if key is None else (_at_req(key[0]), key[1], key[2]),
            milestones=[
                Milestone(code, classifier, node, _at_req(t), inferred, seq, detail)
                for code, classifier, node, t, inferred, seq, detail in doc["milestones"]
            ],
            quarantined=[(seq, reason) for seq, reason in doc["quarantined"]],
            alarms=[
                Alarm(kind, _at_req(raised), _at(cleared), detail)
                for kind, raised, cleared, detail in doc["alarms"]
            ],
            open_alarms=dict(doc["open_alarms"]),
            excursion_since=_at(doc["excursion_since"]),
            pass_candidate=_reading_in(doc["pass"][0]),
            pass_anchor=_reading_in(doc["pass"][1]),
            jump_runs={k: [_reading_req(r) for r in v] for k, v in doc["jump_runs"].items()},
            status_changes=[(s, _at_req(at), p) for s, at, p in doc["statuses"]],
        )


def new_state(initial_status: str = "BOOKED", initial_progress: int = 0) -> TrackState:
    if initial_status not in STATUS_RANK:
        raise ValueError(f"unknown waybill status {initial_status!r}")
    return TrackState(status=initial_status, progress=initial_progress)


def derive(
    plan: TrackPlan,
    readings: Iterable[Reading],
    *,
    initial_status: str = "BOOKED",
    initial_progress: int = 0,
    rules: TrackingRules = DEFAULT_RULES,
) -> Track:
    """The track shown by all of a waybill's readings; the same for any order or repetition of them."""
    state = new_state(initial_status, initial_progress)
    _fold(state, plan, ordered(readings), rules)
    return snapshot(state)


def replay(
    plan: TrackPlan,
    readings: Iterable[Reading],
    *,
    initial_status: str = "BOOKED",
    initial_progress: int = 0,
    rules: TrackingRules = DEFAULT_RULES,
) -> TrackState:
    """`derive`, returning the fold's state (to keep and `advance` later)."""
    state = new_state(initial_status, initial_progress)
    _fold(state, plan, ordered(readings), rules)
    return state


def advance(
    state: TrackState, plan: TrackPlan, readings: Iterable[Reading], *, rules: TrackingRules = DEFAULT_RULES
) -> tuple[TrackState, Track]:
    """Continue `state` with readings all later than its last one; `state` itself is left unchanged."""
    batch = ordered(readings)
    if batch and state.last_key is not None and _key(batch[0]) <= state.last_key:
        first = batch[0]
        raise LateReading(
            f"reading {first.device_id}#{first.seq} at {first.ts.isoformat()} is not after the state"
        )
    nxt = state.copy()
    _fold(nxt, plan, batch, rules)
    return nxt, snapshot(nxt)


def update(
    plan: TrackPlan,
    stored_state: dict[str, Any] | None,
    new_readings: Iterable[Reading],
    all_readings: Callable[[], Iterable[Reading]],
    *,
    status: str = "BOOKED",
    progress: int = 0,
    rules: TrackingRules = DEFAULT_RULES,
) -> tuple[TrackState, Track]:
    """The ingest's step for one waybill: `advance` the stored state with the newly stored readings when they
    all come after it, else re-derive from `all_readings()` (which include the new ones) with the waybill's
    current `status` and `progress` as the floor. Store `state.to_json()` and `track.progress` afterwards.

    Also re-derives when there is no usable stored state, or when the status was changed by someone
    (EXCEPTION, CANCELLED) since the state was stored."""
    new = list(new_readings)
    if stored_state is not None and stored_state.get("v") == STATE_FORMAT:
        state = TrackState.from_json(stored_state)
        if state.status == status:
            try:
                return advance(state, plan, new, rules=rules)
            except LateReading:
                pass
    state = replay(plan, all_readings(), initial_status=status, initial_progress=progress, rules=rules)
    return state, snapshot(state)


def snapshot(state: TrackState) -> Track:
    position = state.position
    return Track(
        # Already in event-time order: the fold emits them so (inferred times are clamped between neighbours).
        milestones=tuple(state.milestones),
        status=state.status,
        position=position,
        last_good_ts=position.ts if position is not None else None,
        alarms=tuple(state.alarms),
        quarantined=tuple(state.quarantined),
        progress=state.progress,
        stop_index=state.stop_index,
        at_stop=state.at_stop,
        arrived_at=state.arrived_at,
        departed_at=state.departed_at,
        status_changes=tuple(state.status_changes),
    )


def ordered(readings: Iterable[Reading]) -> list[Reading]:
    """Event-time order, one copy per (device, seq); of differing copies, the same one wins in any order."""
    if isinstance(readings, list | tuple) and len(readings) <= 1:
        return list(readings)  # the live hot path: one reading at a time
    chosen: dict[tuple[str, int], Reading] = {}
    for r in readings:
        k = (r.device_id, r.seq)
        have = chosen.get(k)
        if have is None or (have != r and _tiebreak(r) < _tiebreak(have)):
            chosen[k] = r
    return sorted(chosen.values(), key=_key)


def _key(r: Reading) -> tuple[datetime, str, int]:
    return (r.ts, r.device_id, r.seq)


def _tiebreak(r: Reading) -> tuple[datetime, str]:
    return (r.ts, repr(r))


# ---------------------------------------------------------------------------------------------------- fold


# Faster than any freight train, truck, barge or ship (China-Europe express freight runs at up to 160 km/h):
# on an itinerary without an air leg, a fix further from the last good one than this allows is a GPS jump.
SURFACE_MAX_SPEED_KMH = 160.0


def screening_for(plan: TrackPlan, rules: TrackingRules) -> ScreeningRules:
    """The screening limits for this itinerary: the speed bound of the modes it actually uses."""
    modes = {m for s in plan.stops for m in (s.mode_in, s.mode_out) if m}
    if not modes or "air" in modes or rules.screening.max_speed_kmh <= SURFACE_MAX_SPEED_KMH:
        return rules.screening
    return replace(rules.screening, max_speed_kmh=SURFACE_MAX_SPEED_KMH)


def _fold(st: TrackState, plan: TrackPlan, readings: list[Reading], rules: TrackingRules) -> None:
    plan_start = plan.planned_start
    screening = screening_for(plan, rules)
    for r in readings:
        st.last_key = _key(r)
        reason = screen(r, st.last_good_by_device.get(r.device_id), r.received_at, screening)
        if reason is None and r.received_at is None and plan_start is not None:
            reason = _too_old_for_plan(r, plan_start, rules.screening)
        if reason in _REANCHORED and _reanchor(st, plan, r, rules):
            _conditions(st, plan, r, rules, position_ok=True)
            continue
        if reason is not None:
            st.quarantined.append((r.seq, reason))
            if reason in POSITION_REASONS:  # the fix is bad, the sensors and the clock are not
                _conditions(st, plan, r, rules, position_ok=False)
            continue
        st.jump_runs.pop(r.device_id, None)
        _good_position(st, plan, r, rules)
        _conditions(st, plan, r, rules, position_ok=True)


def _good_position(st: TrackState, plan: TrackPlan, r: Reading, rules: TrackingRules) -> None:
    st.last_good_by_device[r.device_id] = r
    previous = st.position
    st.position = r
    _geofence(st, plan, r, previous, rules)


def _reanchor(st: TrackState, plan: TrackPlan, r: Reading, rules: TrackingRules) -> bool:
    """After REANCHOR_AFTER consecutive 'impossible' (or out-of-sequence) fixes that agree with each other,
    the outlier was the reference fix (say a device whose very first fix was wrong, or whose seq was reset):
    accept the run and go on from there.

    The run's earlier fixes lose their quarantine flag, but only `r`, the newest, drives the geofence (they
    are older than readings of other trackers already applied). True if `r` completed a run."""
    run = st.jump_runs.get(r.device_id, [])
    if run and screen(r, run[-1], None, screening_for(plan, rules)) is not None:
        run = []
    run = [*run, r]
    if len(run) < REANCHOR_AFTER:
        st.jump_runs[r.device_id] = run
        return False
    del st.jump_runs[r.device_id]
    for q in run[:-1]:  # quarantined when they came; their sensor values have been used already
        for reason in _REANCHORED:
            if (q.seq, reason) in st.quarantined:
                st.quarantined.remove((q.seq, reason))
                break
    _good_position(st, plan, r, rules)
    return True


def _too_old_for_plan(r: Reading, plan_start: datetime, rules: ScreeningRules) -> str | None:
    # Without a receive time, a fix far older than the whole plan is the GPS clock, not a real past.
    age = plan_start - r.ts
    if age <= rules.max_age:
        return None
    return GPS_ROLLOVER if abs(age - GPS_WEEK_ROLLOVER) <= timedelta(days=366) else TOO_OLD


def _exit_radius(stop: Stop, rules: TrackingRules) -> float:
    return max(stop.radius_km * rules.exit_factor, stop.radius_km + rules.exit_margin_km)


def _near(r: Reading, stop: Stop, radius_km: float) -> float | None:
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
        if _near(r, stops[j], stops[j].radius_km) is not None:
            return j
    return None


def _geofence(
    st: TrackState, plan: TrackPlan, r: Reading, previous: Reading | None, rules: TrackingRules
) -> None:
    stops = plan.stops
    _move(st, PROGRESS_STARTED, "BOOKED", r.ts)  # tracking has started; the status waits for a milestone
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
    if d <= _exit_radius(here, rules):
        # Fences overlap (a border's exit and entry posts, a few km apart): inside the next one and out of
        # this one, or inside both and nearer the next. Which of the two a fix lies nearer decides, not which
        # fence the tracker's reporting phase happened to catch it in; progress never goes back, so noise in
        # the shared part cannot flap between them.
        if j is not None and (d > here.radius_km or _nearer(r, stops[j], d)):
            _depart(st, plan, i, _departure_time(st, plan, r, previous, rules), r.seq, False)
            _arrive_via(st, plan, j, r, previous, rules)
            return
        st.exit_candidate = None  # back inside the hysteresis band: no exit
        _check_hold(st, here, r.ts, rules)
        return
    if j is not None:
        candidate = st.exit_candidate
        seq = candidate.seq if candidate is not None else r.seq
        _depart(st, plan, i, _departure_time(st, plan, r, previous, rules), seq, False)
        _arrive_via(st, plan, j, r, previous, rules)
        return
    if st.exit_candidate is None:
        st.exit_candidate = r
    elif r.ts - st.exit_candidate.ts >= rules.exit_dwell:
        candidate = st.exit_candidate
        _depart(st, plan, i, candidate.ts, candidate.seq, False)
        # Out of here and already past the next stops (twin posts), as this reading confirms: crossed by then.
        upto = min(_passed_upto(plan, i, candidate, rules), _passed_upto(plan, i, r, rules))
        if upto > i:
            _infer_between(st, plan, range(i + 1, upto + 1), None, candidate)


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
    while m + 1 < len(stops) - 1 and legs[m + 1] <= _exit_radius(stops[m], rules):
        m += 1
    after = stops[m + 1]
    # Cheapest test first: on the way to the next stop, the stop after it is still farther than from there.
    passed = (
        distance_km(r.lat, r.lon, after.lat, after.lon) < legs[m + 1]
        and distance_km(r.lat, r.lon, last.lat, last.lon) > legs[n]
        and all(distance_km(r.lat, r.lon, s.lat, s.lon) > _exit_radius(s, rules) for s in stops[n : m + 1])
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
    _infer_between(st, plan, range(st.stop_index + 1, upto + 1), st.pass_anchor, candidate)
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
    to_exit = _exit_radius(here, rules) - distance_km(previous.lat, previous.lon, here.lat, here.lon)
    return _between(previous.ts, r.ts, min(1.0, max(0.0, to_exit / total)))


def _arrive_via(
    st: TrackState, plan: TrackPlan, j: int, r: Reading, previous: Reading | None, rules: TrackingRules
) -> None:
    """Arrive at stop j on reading r; stops skipped on the way get inferred arrival and departure."""
    skipped = range(st.stop_index + 1, j)
    if skipped:
        _infer_between(st, plan, skipped, previous, r)
    _arrive(st, plan, j, r.ts, r.seq, False)


def _infer_between(
    st: TrackState, plan: TrackPlan, skipped: range, before: Reading | None, after: Reading
) -> None:
    """Inferred arrival and departure at the skipped stops, timed by distance between two readings."""
    stops = plan.stops
    floor = st.departed_at if st.departed_at is not None and st.stop_index >= 0 else None
    if before is None or before.ts >= after.ts:
        times = [after.ts for _ in skipped]
    else:
        points = [(before.lat, before.lon)] + [(stops[k].lat, stops[k].lon) for k in skipped]
        points.append((after.lat, after.lon))
        legs = [distance_km(a[0], a[1], b[0], b[1]) for a, b in zip(points, points[1:], strict=False)]
        total = sum(legs)
        times = []
        run = 0.0
        for leg in legs[:-1]:
            run += leg
            times.append(_between(before.ts, after.ts, run / total if total > 0 else 1.0))
    for k, t in zip(skipped, times, strict=True):
        when = max(t, floor) if floor is not None else t
        _arrive(st, plan, k, when, None, True)
        _depart(st, plan, k, when, None, True)


def _between(a: datetime, b: datetime, fraction: float) -> datetime:
    """The time `fraction` of the way from a to b, to the whole second, never outside [a, b] (readings 9.5 s
    apart rounded a departure half a second past the reading that showed it)."""
    t = a + timedelta(seconds=round((b - a).total_seconds() * fraction))
    return min(max(t, a), b) if a <= b else t


def arrival_codes(plan: TrackPlan, k: int) -> tuple[str, ...]:
    stop = plan.stops[k]
    codes: list[str] = []
    if stop.role == "hub":
        codes.append("ARRI")
        if stop.mode_change:
            codes.append("DISC")
    elif stop.role == "destination":
        codes.append("ARRI")
        if _after_warehouse(plan, k):
            codes.append("DROP")
    elif stop.role == "warehouse":
        codes.append("GTIN")
    if stop.clears_customs:
        codes.append("CUSS")
    return tuple(codes)


def departure_codes(plan: TrackPlan, k: int) -> tuple[str, ...]:
    stop = plan.stops[k]
    codes: list[str] = []
    if stop.clears_customs:
        codes.append("CUSR")
    if stop.role == "origin":
        codes += ["GTOT", "DEPA"]
    elif stop.role == "hub":
        if stop.mode_change:
            codes.append("LOAD")
        codes.append("DEPA")
    elif stop.role == "border":
        codes.append("CROS")
    elif stop.role == "destination":
        codes.append("DEPA")
    elif stop.role == "warehouse":
        codes.append("GTOT")
    return tuple(codes)


def _after_warehouse(plan: TrackPlan, k: int) -> bool:
    return any(s.role == "warehouse" for s in plan.stops[:k])


_ARRIVAL_STATUS = {
    "origin": "BOOKED", "hub": "AT_HUB", "border": "AT_BORDER", "destination": "ARRIVED",
    "warehouse": "AT_WAREHOUSE",
}  # fmt: skip
_DEPARTURE_STATUS = {
    "origin": "IN_TRANSIT", "hub": "IN_TRANSIT", "border": "IN_TRANSIT", "destination": "ARRIVED",
    "warehouse": "OUT_FOR_DELIVERY",
}  # fmt: skip


def _arrive(st: TrackState, plan: TrackPlan, k: int, at: datetime, seq: int | None, inferred: bool) -> None:
    stop = plan.stops[k]
    for code in arrival_codes(plan, k):
        st.milestones.append(Milestone(code, "ACT", stop.node_id, at, inferred, seq, stop.name))
    st.stop_index = k
    st.at_stop = True
    st.arrived_at = at
    st.departed_at = None
    st.exit_candidate = None
    st.pass_candidate = st.pass_anchor = None
    status = _ARRIVAL_STATUS[stop.role]
    if stop.role == "destination" and _after_warehouse(plan, k):
        status = "DELIVERED"
    _move(st, stop_progress(k, 0), status, at)


def _depart(st: TrackState, plan: TrackPlan, k: int, at: datetime, seq: int | None, inferred: bool) -> None:
    stop = plan.stops[k]
    for code in departure_codes(plan, k):
        st.milestones.append(Milestone(code, "ACT", stop.node_id, at, inferred, seq, stop.name))
        if code == "GTOT" and stop.role == "origin":
            _move(st, stop_progress(k, 1), "PICKED_UP", at)  # the pick-up, then the departure below
    st.at_stop = False
    st.departed_at = at
    st.exit_candidate = None
    _move(st, stop_progress(k, 2), _DEPARTURE_STATUS[stop.role], at)


def _check_hold(st: TrackState, stop: Stop, now: datetime, rules: TrackingRules) -> None:
    if not (stop.role == "border" and stop.clears_customs) or st.arrived_at is None:
        return
    if stop.planned_arrival is not None and stop.planned_departure is not None:
        allowed = stop.planned_departure - stop.planned_arrival + rules.customs_hold_grace
    else:
        allowed = rules.customs_hold_after
    if now - st.arrived_at > allowed:
        _move(st, stop_progress(st.stop_index, 1), "CUSTOMS_HOLD", now)


def _move(st: TrackState, progress: int, status: str, at: datetime) -> None:
    """Forward only: progress must grow, and the status may not drop to a lower rank.

    A change of status is kept with `at`, the event time of what caused it: the status history, which is the
    milestones' own, whatever floor (a stored or people's status) the fold started from."""
    if progress <= st.progress:
        return
    st.progress = progress
    derived = st.status_changes[-1][0] if st.status_changes else "BOOKED"
    if status != derived and STATUS_RANK[status] >= STATUS_RANK[derived]:
        st.status_changes.append((status, at, progress))
    if STATUS_RANK[status] >= STATUS_RANK[st.status]:
        st.status = status


# ------------------------------------------------------------------------------------------------- alarms


def _conditions(
    st: TrackState, plan: TrackPlan, r: Reading, rules: TrackingRules, *, position_ok: bool
) -> None:
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
                    f"{_time_out(st.excursion_since)}",
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
    return any(_near(r, s, _exit_radius(s, rules)) is not None for s in plan.stops)


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
        f"no reading since {_time_out(last_reading_ts)} ({missed_intervals} expected intervals of "
        f"{_duration(expected_interval)} missed)",
    )


# -------------------------------------------------------------------------------------------- ETA and delay

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
            f"ETA {_time_out(eta)} is {_duration(eta - planned)} behind the planned {_time_out(planned)}"
        )
    if deliver_by_at_risk(plan, eta):
        assert plan.deliver_by is not None
        reasons.append(f"ETA {_time_out(eta)} misses deliver-by {_time_out(plan.deliver_by)}")
    if not reasons:
        return None
    return Alarm("delay", now, None, "; ".join(reasons))


def deliver_by_at_risk(plan: TrackPlan, eta: datetime | None) -> bool:
    """True when the ETA misses the deliver-by date: time to ask the route planner for alternatives."""
    return plan.deliver_by is not None and eta is not None and eta > plan.deliver_by


# ------------------------------------------------------------------------------------------ serialisation


def _time_out(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _duration(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _us(t: datetime | None) -> int | None:
    return None if t is None else (t - _EPOCH) // _MICROSECOND


def _at(n: int | None) -> datetime | None:
    return None if n is None else _EPOCH + timedelta(microseconds=n)


def _at_req(n: int) -> datetime:
    return _EPOCH + timedelta(microseconds=n)


def _reading_out(r: Reading | None) -> list[Any] | None:
    if r is None:
        return None
    return [
        r.device_id, r.seq, _us(r.ts), r.lat, r.lon, r.speed_kmh, r.accuracy_m, r.temp_c, r.humidity_pct,
        r.shock_g, r.door_open, r.battery_pct, _us(r.received_at),
    ]  # fmt: skip


def _reading_in(a: list[Any] | None) -> Reading | None:
    return None if a is None else _reading_req(a)


def _reading_req(a: list[Any]) -> Reading:
    return Reading(
        a[0], a[1], _at_req(a[2]), a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], _at(a[12])
    )
