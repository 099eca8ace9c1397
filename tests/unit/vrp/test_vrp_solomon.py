from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.vrp import (
    SolomonFormatError,
    VrplibFormatError,
    best_known,
    bundled,
    load,
    load_vrplib,
    parse,
    parse_vrplib,
)
from routing.vrp.solomon import BUNDLED
from tests.unit.vrp.instances import solomon_text

SHARED = Path("/work/shared/data/solomon")

# (name, vehicles, capacity, depot due date, customer 1 as (x, y, demand, ready, due, service))
KNOWN = [
    ("C101", 25, 200, 1236, (45, 68, 10, 912, 967, 90)),
    ("C201", 25, 700, 3390, (52, 75, 10, 311, 471, 90)),
    ("R101", 25, 200, 230, (41, 49, 10, 161, 171, 10)),
    ("R201", 25, 1000, 1000, (41, 49, 10, 707, 848, 10)),
    ("RC101", 25, 200, 240, (25, 85, 20, 145, 175, 10)),
    ("RC201", 25, 1000, 960, (25, 85, 20, 673, 793, 10)),
]


@pytest.mark.parametrize(("name", "vehicles", "capacity", "horizon", "first"), KNOWN)
def test_parses_the_bundled_instances(
    name: str, vehicles: int, capacity: int, horizon: float, first: tuple[float, ...]
) -> None:
    inst = bundled(name)
    assert inst.name == name
    assert (inst.vehicles, inst.capacity) == (vehicles, capacity)
    assert len(inst.customers) == 100
    assert [c.id for c in inst.customers] == list(range(1, 101))
    assert inst.depot.id == 0 and inst.depot.demand == 0 and inst.depot.due == horizon
    c = inst.customers[0]
    assert (c.x, c.y, c.demand, c.ready, c.due, c.service) == first
    assert inst.distance(0, 1) == pytest.approx(
        ((c.x - inst.depot.x) ** 2 + (c.y - inst.depot.y) ** 2) ** 0.5
    )


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared reference data is not on this machine")
@pytest.mark.parametrize("name", BUNDLED)
def test_package_data_is_the_shared_reference_data(name: str) -> None:
    assert load(SHARED / f"{name.lower()}.txt") == bundled(name)


def test_best_known_solutions() -> None:
    bks = best_known()
    assert set(bks) == set(BUNDLED)
    assert (bks["R101"].hier_vehicles, bks["R101"].hier_distance) == (19, 1650.80)
    assert (bks["R201"].dist_vehicles, bks["R201"].dist_distance_dimacs) == (8, 1143.2)


def test_bundled_rejects_unknown_names() -> None:
    with pytest.raises(KeyError, match="C101"):
        bundled("X999")


GOOD = [(35, 35, 0, 0, 230, 0), (41, 49, 10, 161, 171, 10), (35, 17, 7, 50, 60, 10)]


def _good() -> str:
    return solomon_text("GOOD", 2, 50, GOOD)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("JUST A NAME\n", "VEHICLE"),
        (_good().replace("VEHICLE", "FLEET"), "VEHICLE"),
        (_good().replace("  2         50", "  2"), "expected 2 numbers"),
        (_good().replace("  2         50", "  two         50"), "not a number"),
        (_good().replace("  2         50", "  0         50"), "at least 1"),
        (_good().replace("  2         50", "  2.5         50"), "whole number"),
        (_good().replace("CUSTOMER\r\n", ""), "CUSTOMER"),
        (_good().rsplit("\r\n    1", 1)[0], "no customers"),
        (_good().split("    0 ")[0], "no rows"),
        (_good().replace("    2 ", "    3 "), "out of order"),
        (_good().replace("    0 ", "    1 "), "expected the depot"),
        (solomon_text("X", 2, 50, [GOOD[0], (1, 1, 60, 0, 10, 0)]), "more than a vehicle holds"),
        (solomon_text("X", 2, 50, [GOOD[0], (1, 1, -1, 0, 10, 0)]), "negative demand"),
        (solomon_text("X", 2, 50, [GOOD[0], (1, 1, 1, 20, 10, 0)]), "due"),
        (solomon_text("X", 2, 50, [GOOD[0], (1, 1, 1, 0, 10, -5)]), "negative ready or service"),
        (solomon_text("X", 2, 50, [(35, 35, 5, 0, 230, 0), GOOD[1]]), "depot"),
        (_good().replace("   161", "   nan"), "non-finite"),
        (_good() + "    3 1 2 3\r\n", "expected 7 numbers"),
    ],
)
def test_malformed_files_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(SolomonFormatError, match=message):
        parse(text)


def test_line_endings_do_not_matter() -> None:
    text = _good()
    assert parse(text) == parse(text.replace("\r\n", "\n")) == parse(text.replace("\r\n", "\r"))


def test_load_reports_unreadable_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(SolomonFormatError, match="cannot read"):
        load(tmp_path / "missing.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(SolomonFormatError, match="not a text file"):
        load(binary)
    with pytest.raises(SolomonFormatError, match="cannot read"):
        load(tmp_path)


coord = st.integers(0, 100)
rows = st.lists(
    st.tuples(
        coord, coord, st.integers(0, 50), st.integers(0, 500), st.integers(0, 500), st.integers(0, 30)
    ).map(lambda r: (r[0], r[1], r[2], min(r[3], r[4]), max(r[3], r[4]), r[5])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=50, deadline=None)
@given(depot=st.tuples(coord, coord), customers=rows, vehicles=st.integers(1, 30))
def test_round_trip(
    depot: tuple[int, int], customers: list[tuple[int, int, int, int, int, int]], vehicles: int
) -> None:
    all_rows = [(depot[0], depot[1], 0, 0, 1000, 0), *customers]
    inst = parse(solomon_text("RT", vehicles, 50, all_rows))
    assert inst.vehicles == vehicles and inst.capacity == 50
    assert [(c.x, c.y, c.demand, c.ready, c.due, c.service) for c in inst.sites] == all_rows


def test_vrplib_parsing_reads_windows_service_and_fleet() -> None:
    here = Path(__file__).resolve().parent / "data"
    inst = load_vrplib(here / "c101-25.vrp")
    solomon = bundled("C101")
    assert (inst.vehicles, inst.capacity, len(inst.customers)) == (25, 200, 25)
    assert inst.depot == solomon.depot
    assert inst.customers == solomon.customers[:25]
    cvrp = load_vrplib(here / "two-clusters-n9.vrp")
    assert cvrp.vehicles == 8 and cvrp.customers[0].ready == 0 and cvrp.customers[0].service == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NAME : x\nTYPE : CVRP\nDIMENSION : 2\nCAPACITY : 5\nEOF\n", "NODE_COORD"),
        (
            "NAME : x\nDIMENSION : 2\nCAPACITY : 5\nEDGE_WEIGHT_TYPE : EUC_2D\n"
            "NODE_COORD_SECTION\n1 0 0\n2 1 1\n"
            "DEMAND_SECTION\n1 0\n2 9\nDEPOT_SECTION\n1\n-1\nEOF\n",
            "capacity",
        ),
        (
            "NAME : x\nDIMENSION : 2\nCAPACITY : 5\nEDGE_WEIGHT_TYPE : GEO\n"
            "NODE_COORD_SECTION\n1 0 0\n2 1 1\n"
            "DEMAND_SECTION\n1 0\n2 1\nDEPOT_SECTION\n1\n-1\nEOF\n",
            "GEO",
        ),
    ],
)
def test_bad_vrplib_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(VrplibFormatError, match=message):
        parse_vrplib(text)
