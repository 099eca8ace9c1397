"""The waybill status machine (`logistics.tracking.reconcile`): derived statuses against stored ones, people's
statuses, terminal statuses, and the status history's edits (hypothesis stateful and property tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from logistics.tracking.reconcile import (
    EN_ROUTE_RANK,
    JOURNEY,
    PEOPLES,
    STATUS_RANK,
    STATUSES,
    TERMINAL,
    HistoryEdit,
    StatusChange,
    WaybillStatus,
    moves_to,
    reconcile_status,
    status_history_edit,
)

S = WaybillStatus
T0 = datetime(2027, 3, 1, tzinfo=UTC)
ANY_STATUS = st.sampled_from(list(WaybillStatus))
DERIVED = st.sampled_from(sorted(JOURNEY))
EN_ROUTE = frozenset(s for s in WaybillStatus if STATUS_RANK[s] == EN_ROUTE_RANK)


def test_the_enum_is_the_stored_strings() -> None:
    assert STATUSES == (
        "BOOKED", "PICKED_UP", "IN_TRANSIT", "AT_HUB", "AT_BORDER", "CUSTOMS_HOLD", "ARRIVED", "AT_WAREHOUSE",
        "OUT_FOR_DELIVERY", "DELIVERED", "EXCEPTION", "CANCELLED",
    )  # fmt: skip
    assert [str(s) for s in WaybillStatus] == list(STATUSES)
    # Stored strings look up as the members do (the ingest tests a stored status against TERMINAL).
    assert all(s.value in TERMINAL for s in TERMINAL) and "BOOKED" not in TERMINAL
    assert all(STATUS_RANK[s.value] == STATUS_RANK[s] for s in WaybillStatus)
    assert {S.IN_TRANSIT, S.AT_HUB, S.AT_BORDER, S.CUSTOMS_HOLD} == EN_ROUTE


class WaybillStatusMachine(RuleBasedStateMachine):
    """A waybill's stored status under derivations (any journey status, in any order: a late reading, a
    replay, a glitch) and people's actions."""

    def __init__(self) -> None:
        super().__init__()
        self.status: str = S.BOOKED
        self.before: str = S.BOOKED
        self.by_people = False

    @rule(derived=DERIVED)
    def derivation(self, derived: str) -> None:
        self.before, self.by_people = self.status, False
        decision = reconcile_status(self.status, derived)
        assert decision.changed == (decision.status != self.status)
        assert decision.reached_destination == (
            decision.changed and decision.status in ("ARRIVED", "AT_WAREHOUSE")
        )
        assert decision.follows_readings == (self.status not in TERMINAL | PEOPLES)
        assert decision.changed == moves_to(self.status, derived)
        self.status = decision.status

    @precondition(lambda self: self.status not in TERMINAL)
    @rule(status=st.sampled_from(sorted(PEOPLES)))
    def people_set(self, status: str) -> None:
        self.before, self.by_people, self.status = self.status, True, status

    @invariant()
    def a_derivation_never_moves_the_status_backwards(self) -> None:
        if self.by_people:
            return  # the documented exception: people set EXCEPTION or CANCELLED from any open status
        assert STATUS_RANK[self.status] >= STATUS_RANK[self.before]
        if STATUS_RANK[self.status] == STATUS_RANK[self.before] and self.status != self.before:
            assert {self.status, self.before} <= EN_ROUTE  # only en-route statuses share a rank

    @invariant()
    def terminal_and_peoples_statuses_stay(self) -> None:
        if not self.by_people and (self.before in TERMINAL or self.before in PEOPLES):
            assert self.status == self.before

    @invariant()
    def readings_never_set_a_peoples_status(self) -> None:
        if not self.by_people and self.status in PEOPLES:
            assert self.before == self.status


WaybillStatusMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
TestWaybillStatusMachine = WaybillStatusMachine.TestCase


@given(current=ANY_STATUS, derived=ANY_STATUS)
def test_moves_to_is_forward_only_and_never_out_of_terminal_or_peoples(current: str, derived: str) -> None:
    moved = moves_to(current, derived)
    if current in TERMINAL or current in PEOPLES or derived in PEOPLES or derived == current:
        assert not moved
    else:
        rank, now = STATUS_RANK[derived], STATUS_RANK[current]
        assert moved == (rank > now or rank == now == EN_ROUTE_RANK)


def test_an_unknown_stored_status_counts_as_booked() -> None:
    assert reconcile_status("LOST", S.PICKED_UP).status == S.PICKED_UP
    assert not moves_to("LOST", S.BOOKED)  # the same rank, not an en-route one


_HISTORY = st.lists(
    st.tuples(DERIVED, st.integers(0, 20), st.integers(1, 60)).map(
        lambda t: (t[0], T0 + timedelta(hours=t[1]), t[2])
    ),
    max_size=8,
    unique_by=lambda c: (c[0], c[2]),
)


@settings(max_examples=500)
@given(prior=_HISTORY, derived=_HISTORY)
def test_the_history_edit_makes_the_log_the_derivations(
    prior: list[StatusChange], derived: list[StatusChange]
) -> None:
    """Applied to a log holding the prior fold's history as the ingest applies it (appends, then supersede
    by status and event time, sparing the appended entries), the edit leaves exactly the derived one live,
    and an entry is rewritten only when the readings changed it."""
    log: list[list[object]] = [[s, at, None] for s, at, _ in prior]  # (status, time, superseded_by)
    edit = status_history_edit(S.BOOKED, derived, prior)
    new_ids = []
    for status, at, _ in edit.append:
        log.append([status, at, None])
        new_ids.append(len(log) - 1)
    for status, at, link in edit.supersede:
        for i, entry in enumerate(log):
            if entry[2] is None and entry[:2] == [status, at] and i not in new_ids:
                entry[2] = -1 if link is None else new_ids[link]
    live = sorted((e[0], e[1]) for e in log if e[2] is None)
    assert live == sorted((s, at) for s, at, _ in derived)
    if sorted((s, at) for s, at, _ in prior) == live:
        assert edit == HistoryEdit((), ())  # the same history: nothing written


def test_a_step_moved_in_time_is_superseded_by_its_new_entry() -> None:
    prior = [(S.PICKED_UP, T0, 12), (S.IN_TRANSIT, T0 + timedelta(hours=1), 13)]
    derived = [(S.PICKED_UP, T0, 12), (S.IN_TRANSIT, T0 + timedelta(minutes=30), 13)]
    edit = status_history_edit(S.BOOKED, derived, prior)
    assert edit == HistoryEdit(
        ((S.IN_TRANSIT, T0 + timedelta(minutes=30), 13),), ((S.IN_TRANSIT, T0 + timedelta(hours=1), 0),)
    )


@given(stored=ANY_STATUS, derived=_HISTORY)
def test_without_a_prior_fold_only_forward_changes_are_appended(
    stored: str, derived: list[StatusChange]
) -> None:
    edit = status_history_edit(stored, derived, None)
    assert edit.supersede == ()
    current = stored
    for status, _, _ in edit.append:
        assert moves_to(current, status)
        current = status
