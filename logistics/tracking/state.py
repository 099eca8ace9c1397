"""What the fold carries and shows: `TrackState` (JSON-serialisable, to keep and continue), `Track` (its
snapshot), milestones, alarms, and the progress scale that orders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from logistics.tracking.readings import Reading
from logistics.tracking.reconcile import STATUS_RANK

MILESTONE_CODES = ("GTOT", "DEPA", "ARRI", "LOAD", "DISC", "CROS", "CUSS", "CUSI", "CUSR", "GTIN", "DROP")
ALARM_KINDS = ("temperature", "shock", "door", "battery", "offline", "delay")
STATE_FORMAT = 3  # TrackState.to_json layout; a stored state of another layout is re-derived
# Progress: 0 booked, 1 first good reading, then three steps per stop: arrived, held (customs), departed.
PROGRESS_STARTED = 1


def stop_progress(index: int, phase: int) -> int:
    """Progress at stop `index`: phase 0 arrived, 1 held (customs) or picked up, 2 departed."""
    return 10 + 3 * index + phase


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
    """An empty fold from a stored status and progress (the floor)."""
    if initial_status not in STATUS_RANK:
        raise ValueError(f"unknown waybill status {initial_status!r}")
    return TrackState(status=initial_status, progress=initial_progress)


def snapshot(state: TrackState) -> Track:
    """The track a fold state shows."""
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


def time_text(t: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, for alarm texts."""
    return None if t is None else t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def duration_text(d: timedelta) -> str:
    """A duration as hours and minutes (`3h05m`), for alarm texts."""
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
