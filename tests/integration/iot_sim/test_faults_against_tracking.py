"""The end-to-end clean-versus-faulty simulator test without a server, over many fault seeds.

The same itinerary as tests/e2e/test_simulator.py (Yibin to Vientiane, the fastest option: Kunming, then the
twin border posts Mohan and Boten 3 km apart), two trackers reporting at the same instants: one clean, one
through the simulator's fault chain with every fault the e2e test switches on. Each stream goes over the
wire format (`to_wire` -> `parse_message`, received when published) into the fold as the ingest drives it
(`FoldLog.add` per publish, re-folding late readings), with the e2e server's rules (a 30,000x clock). Their
actual milestones must agree as the e2e test demands; the e2e test pins one seed, this covers a range.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iot_sim.faults import DEFAULT_RATES, Emission, build_chain, feed_chain, flush_chain, parse_fault_rates
from iot_sim.fleet import FLEET_STREAM
from iot_sim.motion import Stop as SimStop
from iot_sim.motion import build_stops
from iot_sim.readings import TrackerModel, first_due
from logistics.itinerary import build_itinerary, option_json
from logistics.tracking.foldlog import FoldLog
from logistics.tracking.readings import Reading, parse_message
from logistics.tracking.rules import rules_for_clock_speed
from logistics.tracking.state import LateReading, Milestone, new_state, snapshot
from logistics.tracking_store import track_plan
from routing.network import load_reference_network
from routing.planner import Cargo, QuoteRequest, plan
from routing.timetable import expand

# What tests/e2e/test_simulator.py runs: its server's clock speed, the faulty tracker's --faults, hourly
# readings at minute 17 of the hour, trackers started four days before the shipment is ready.
RULES = rules_for_clock_speed(30_000)
FAULTS = parse_fault_rates("dup,reorder,gap=0.03,skew,jump,zero,battery,door,shock")
INTERVAL = timedelta(minutes=60)
PHASE = timedelta(minutes=17)
START = datetime(2027, 3, 1, 0, 7, tzinfo=UTC)
TOLERANCE = timedelta(minutes=180)  # three reporting intervals, as in the e2e test
E2E_FAULT_SEED = 11  # its --fault-seed

Milestones = list[Milestone]


@pytest.fixture(scope="module")
def itinerary() -> dict[str, Any]:
    network = load_reference_network()
    request = QuoteRequest("CNYIB", "LAVTE", START + timedelta(days=4), None, Cargo(8000, 30, "20GP"), "9810")
    options = plan(network, expand(network, START, 6), request)
    return build_itinerary(network, option_json(min(options, key=lambda o: o.transit_hours)))


def test_the_itinerary_crosses_the_twin_border_posts(itinerary: dict[str, Any]) -> None:
    assert [s["node_id"] for s in itinerary["stops"]] == ["YIB", "KMG", "MOHAN", "BOTEN", "VTE"]


@pytest.mark.parametrize("seed", range(60))
def test_faults_switched_on_give_the_same_milestones_as_a_clean_run(
    itinerary: dict[str, Any], seed: int
) -> None:
    clean, faulty = (_track(itinerary, seed, faults) for faults in ({}, FAULTS))
    _assert_same_milestones(clean, faulty)


def test_the_seeds_cover_a_border_crossing_seen_only_through_a_lost_fix(itinerary: dict[str, Any]) -> None:
    # The range above exercises the case the fold once got 12.5 h wrong (seeds 37, 43 and 50 of the range: the
    # one fix inside the Mohan/Boten fences a GPS jump): the clean tracker observes the crossing, the faulty
    # one has to infer it.
    clean, faulty = (_track(itinerary, 37, faults) for faults in ({}, FAULTS))
    cuss = [next(m for m in ms if (m.code, m.node_id) == ("CUSS", "MOHAN")) for ms in (clean, faulty)]
    assert [m.inferred for m in cuss] == [False, True]
    _assert_same_milestones(clean, faulty)


def test_the_e2e_tests_fault_seed_holds_wherever_its_faults_land(itinerary: dict[str, Any]) -> None:
    # Where each fault of a stream lands on the trip depends on when the simulator starts, which the e2e test
    # cannot pin (a real second is 8 service hours): its seed, started at every hour from a day early to a
    # day late, so that the crossings meet other faults.
    for hours in range(-24, 25):
        start = START + timedelta(hours=hours)
        _assert_same_milestones(
            *(_track(itinerary, E2E_FAULT_SEED, faults, start) for faults in ({}, FAULTS))
        )


def _assert_same_milestones(clean: Milestones, faulty: Milestones) -> None:
    """What the e2e test asserts of the two waybills' actual milestones."""
    assert [(m.code, m.node_id) for m in clean] == [(m.code, m.node_id) for m in faulty], (clean, faulty)
    for m, n in zip(clean, faulty, strict=True):
        if m.code == "GTOT":  # the first fix (in the e2e test, when each simulator process started)
            continue
        assert abs(m.event_time - n.event_time) <= TOLERANCE, (m, n)
        # Faults only take fixes away: a crossing may be inferred where the clean run observed it, never the
        # reverse.
        assert m.inferred == n.inferred or (n.inferred and not m.inferred), (m, n)


def _track(
    itinerary: dict[str, Any], seed: int, faults: Mapping[str, float | None], start: datetime = START
) -> Milestones:
    """The actual milestones one tracker's stream gives, folded publish by publish as the ingest does."""
    row = {
        "itinerary": itinerary,
        "cargo": None,
        "waybill_no": "XB-SIM",
        "deliver_by": None,
        "customs_mode": "9810",
    }
    tracking = track_plan(row)
    log = FoldLog(tracking, new_state(), rules=RULES)
    stored: list[Reading] = []
    for received_at, emission in _publishes(build_stops(itinerary["stops"]), seed, faults, start):
        new = parse_message(emission.device_id, emission.payload(), received_at=received_at).readings
        stored.extend(new)
        try:
            log.add(new)
        except LateReading:  # older than the kept checkpoints (a GPS week rollover): every reading again
            log = FoldLog.replay(tracking, stored, rules=RULES)
    return [m for m in snapshot(log.state).milestones if m.classifier == "ACT"]


def _publishes(
    stops: Sequence[SimStop], seed: int, faults: Mapping[str, float | None], start: datetime
) -> Iterator[tuple[datetime, Emission]]:
    """What one tracker publishes, and when, from `start` until a day after the planned arrival: the
    simulator's own model and fault chain, seeded as `--fault-seed` seeds it."""
    device = "sim-faulty" if faults else "sim-clean"
    model = TrackerModel(device, stops, random.Random(f"{seed}/{device}/sensor"))
    rates = {**DEFAULT_RATES, **{name: rate for name, rate in faults.items() if rate is not None}}
    chain = build_chain(tuple(faults), FLEET_STREAM, seed, rates=rates)
    due = first_due(start - PHASE, INTERVAL) + PHASE
    while due <= stops[-1].arrival + timedelta(days=1):
        for emission in feed_chain(chain, Emission.single(device, model.reading_at(due))):
            yield due, emission
        due += INTERVAL
    for emission in flush_chain(chain):
        yield due, emission
