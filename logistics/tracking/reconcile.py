"""The waybill status machine, in one place: which status a derivation may set, and what to write for it.

    BOOKED -> PICKED_UP -> IN_TRANSIT | AT_HUB | AT_BORDER | CUSTOMS_HOLD -> ARRIVED -> AT_WAREHOUSE
           -> OUT_FOR_DELIVERY -> DELIVERED

Rules (the fold applies them between milestones, the service between the stored and the derived status):
- forward only: a status replaces another only if its rank is higher; the en-route statuses (IN_TRANSIT,
  AT_HUB, AT_BORDER, CUSTOMS_HOLD) share one rank and follow each other in any order (the milestones' own
  progress orders them);
- DELIVERED and CANCELLED are terminal: nothing moves a waybill out of them;
- EXCEPTION and CANCELLED are people's: readings never set them and never move a waybill out of them.
A stored status the machine does not know counts as BOOKED (rank 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final


class WaybillStatus(StrEnum):
    """A waybill's status; the stored and published strings are the members' values."""

    BOOKED = "BOOKED"
    PICKED_UP = "PICKED_UP"
    IN_TRANSIT = "IN_TRANSIT"
    AT_HUB = "AT_HUB"
    AT_BORDER = "AT_BORDER"
    CUSTOMS_HOLD = "CUSTOMS_HOLD"
    ARRIVED = "ARRIVED"
    AT_WAREHOUSE = "AT_WAREHOUSE"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    CANCELLED = "CANCELLED"


S = WaybillStatus
STATUSES: Final = tuple(s.value for s in WaybillStatus)
EN_ROUTE_RANK: Final = 2
# Coarse order of the machine; plain-string keys, so a stored string and a member look up alike. The
# people's statuses rank above every journey status, so that no derived status replaces them.
_RANKS = (
    (S.BOOKED, 0), (S.PICKED_UP, 1), (S.IN_TRANSIT, 2), (S.AT_HUB, 2), (S.AT_BORDER, 2), (S.CUSTOMS_HOLD, 2),
    (S.ARRIVED, 3), (S.AT_WAREHOUSE, 4), (S.OUT_FOR_DELIVERY, 5), (S.DELIVERED, 6), (S.EXCEPTION, 9),
    (S.CANCELLED, 9),
)  # fmt: skip
STATUS_RANK: Final[dict[str, int]] = {s.value: rank for s, rank in _RANKS}
PEOPLES: Final = frozenset({S.EXCEPTION, S.CANCELLED})
TERMINAL: Final = frozenset({S.DELIVERED, S.CANCELLED})
# Derived from milestones: every status but the people's.
JOURNEY: Final = frozenset(set(WaybillStatus) - PEOPLES)
# Where the shipment has reached its destination (the warehouse side is told).
AT_DESTINATION: Final = frozenset({S.ARRIVED, S.AT_WAREHOUSE})


def moves_to(current: str, derived: str) -> bool:
    """True if `derived` replaces `current`: forward only, en-route statuses among themselves, never out of
    a terminal or people's status, and never into a people's one."""
    if derived == current or current in PEOPLES or current in TERMINAL or derived not in JOURNEY:
        return False
    new, now = STATUS_RANK[derived], STATUS_RANK.get(current, 0)
    return new > now or new == now == EN_ROUTE_RANK


# (status, event time of what caused it, the fold's progress then): the derivation's status history.
StatusChange = tuple[str, datetime, int]


@dataclass(frozen=True, slots=True)
class StatusDecision:
    """What to write for a waybill's status after a derivation."""

    status: str  # to store (the stored one when the derived one does not replace it)
    changed: bool
    follows_readings: bool  # False for a terminal or people's status: its history is not the readings'
    reached_destination: bool  # changed to ARRIVED or AT_WAREHOUSE


def reconcile_status(stored: str, derived: str) -> StatusDecision:
    """The status to store given the stored one and the one derived from all readings."""
    follows = stored not in TERMINAL and stored not in PEOPLES and derived in JOURNEY
    changed = follows and moves_to(stored, derived)
    status = derived if changed else stored
    return StatusDecision(status, changed, follows, changed and status in AT_DESTINATION)


@dataclass(frozen=True, slots=True)
class HistoryEdit:
    """Edits that make the stored status history equal to the derivation's (the log is append-only).

    Apply the appends first, then supersede: every live entry with the (status, event time) of a
    `supersede` item, other than those just appended, is superseded by the appended entry at its index
    (None: retracted, no longer supported by the readings). The log tells entries apart by status and event
    time only, so a key whose count changes is rewritten as a whole."""

    append: tuple[StatusChange, ...]
    supersede: tuple[tuple[str, datetime, int | None], ...]


def status_history_edit(
    stored: str, derived: Sequence[StatusChange], prior: Sequence[StatusChange] | None
) -> HistoryEdit:
    """Entries to append and supersede so that the log's live history is the derivation's `derived`.

    `prior`: the history the fold before had recorded (the log's live entries). A change it had made is
    kept; one it did not make is appended; one a late reading moved in time is appended anew and supersedes
    the old; one no longer derived is retracted. Without a prior fold (none stored, or of an older layout),
    only changes that move the `stored` status forward are taken as new.
    """
    if prior is None:
        appended: list[StatusChange] = []
        current = stored
        for change in derived:
            if moves_to(current, change[0]):
                appended.append(change)
                current = change[0]
        return HistoryEdit(tuple(appended), ())
    had = Counter((s, at) for s, at, _ in prior)
    want = Counter((s, at) for s, at, _ in derived)
    append = tuple(c for c in derived if had[(c[0], c[1])] != want[(c[0], c[1])])
    old_time = {(s, p): at for s, at, p in prior}
    supersede: dict[tuple[str, datetime], int | None] = {}
    for s, at, _ in prior:
        if had[(s, at)] != want[(s, at)] and (s, at) not in supersede:
            # Moved in time: the appended entry of the same step (status and progress) supersedes it.
            supersede[(s, at)] = next(
                (i for i, c in enumerate(append) if c[0] == s and old_time.get((s, c[2])) == at), None
            )
    return HistoryEdit(append, tuple((s, at, link) for (s, at), link in supersede.items()))
