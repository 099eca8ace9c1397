"""Shipments without tracking data: what their plan says now that time has passed.

A booking with no tracker attached has planned (PLN) milestones and, until someone confirms one, no actual
(ACT) ones. It must not look on time just because nothing reports it late:

- The earliest planned milestone whose time has passed without an ACT milestone of the same code and place
  is overdue; everything planned from it on slips by how far it is overdue (`now - its planned time`): its
  EST milestones are the planned ones moved by that slip, and the ETA is the planned arrival moved by it.
  So the ETA is never before now while the arrival is unconfirmed, and is later than the planned arrival
  once that has passed.
- A `no_tracking_data` alarm is raised once the first planned departure (GTOT or DEPA) has passed with no
  ACT milestone at all; it clears when one comes.

Pure: the scheduler's check (`logistics.monitoring.check_untracked`) loads the milestones and writes the
result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEPARTURE_CODES = ("GTOT", "DEPA")
ALARM_KIND = "no_tracking_data"


@dataclass(frozen=True)
class PlannedMilestone:
    code: str
    node_id: str | None
    time: datetime


@dataclass(frozen=True)
class Assessment:
    slip: timedelta  # how far the plan has slipped (0: nothing overdue)
    estimates: tuple[PlannedMilestone, ...]  # EST milestones: the planned ones from the overdue one on, moved
    eta: datetime | None  # the planned arrival moved by the slip (None: no planned arrival)
    no_tracking_alarm: str | None  # the alarm's detail when it must be open, else None


def assess(
    planned: Sequence[PlannedMilestone],
    actual: Sequence[PlannedMilestone],
    planned_arrival: datetime | None,
    now: datetime,
) -> Assessment:
    """The slip, EST milestones, ETA and the no-tracking-data alarm of an untracked shipment at `now`."""
    confirmed = {(m.code, m.node_id) for m in actual}
    ordered = sorted(planned, key=lambda m: m.time)  # stable: the plan's own order within one instant
    overdue = next((m for m in ordered if m.time < now and (m.code, m.node_id) not in confirmed), None)
    slip = now - overdue.time if overdue is not None else timedelta(0)
    estimates: tuple[PlannedMilestone, ...] = ()
    if overdue is not None:
        estimates = tuple(
            PlannedMilestone(m.code, m.node_id, m.time + slip)
            for m in ordered
            if m.time >= overdue.time and (m.code, m.node_id) not in confirmed
        )
    eta = planned_arrival + slip if planned_arrival is not None else None
    alarm = None
    first_departure = next((m for m in ordered if m.code in DEPARTURE_CODES), None)
    if not actual and first_departure is not None and first_departure.time < now:
        where = f" from {first_departure.node_id}" if first_departure.node_id else ""
        alarm = (
            f"no tracking data: the planned departure{where} at {first_departure.time:%Y-%m-%dT%H:%MZ} has "
            "passed with no tracker and no confirmed milestone; the arrival is unconfirmed"
            + (f", estimated {eta:%Y-%m-%dT%H:%MZ} at the earliest" if eta is not None else "")
        )
    return Assessment(slip, estimates, eta, alarm)
