"""Trustworthy tracking, pure: telemetry readings -> screened fixes -> milestones, status, ETA and alarms.

No database, web or MQTT here; the ingest, the scheduler and the HTTP API drive these functions.
"""

from logistics.tracking.derive import (
    DEFAULT_RULES,
    Alarm,
    LateReading,
    Milestone,
    Track,
    TrackingRules,
    TrackState,
    advance,
    delay_alarm,
    deliver_by_at_risk,
    derive,
    estimate,
    offline_alarm,
    replay,
    rules_for_clock_speed,
    snapshot,
    update,
)
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
