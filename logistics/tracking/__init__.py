"""Trustworthy tracking, pure: telemetry readings -> screened fixes -> milestones, status, ETA and alarms.

No database, web or MQTT here; the ingest, the scheduler and the HTTP API drive these functions. The modules:
`readings` (parse and screen), `derive` (the fold and its entry points), `geofence`, `milestones`, `alarms`,
`eta`, `state` (`TrackState`, `Track`), `rules`, `reconcile` (the waybill status machine), `foldlog`
(checkpoints for late readings), `plan`.

The derivation's contract, from readings to a trustworthy track (milestones, status, position, alarms):

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
people's. The status machine's rules (`reconcile`) are the same for the fold and for the stored status.
"""

from logistics.tracking.alarms import offline_alarm
from logistics.tracking.derive import advance, derive, replay, update
from logistics.tracking.eta import delay_alarm, deliver_by_at_risk, estimate
from logistics.tracking.plan import Stop, TrackPlan
from logistics.tracking.readings import (
    ParsedPayload,
    PayloadError,
    Reading,
    ScreeningRules,
    parse_message,
    parse_payload,
    screen,
)
from logistics.tracking.reconcile import WaybillStatus
from logistics.tracking.rules import DEFAULT_RULES, TrackingRules, rules_for_clock_speed
from logistics.tracking.state import Alarm, LateReading, Milestone, Track, TrackState, snapshot

__all__ = [
    "DEFAULT_RULES",
    "Alarm",
    "LateReading",
    "Milestone",
    "ParsedPayload",
    "PayloadError",
    "Reading",
    "ScreeningRules",
    "Stop",
    "Track",
    "TrackPlan",
    "TrackState",
    "TrackingRules",
    "WaybillStatus",
    "advance",
    "delay_alarm",
    "deliver_by_at_risk",
    "derive",
    "estimate",
    "offline_alarm",
    "parse_message",
    "parse_payload",
    "replay",
    "rules_for_clock_speed",
    "screen",
    "snapshot",
    "update",
]
