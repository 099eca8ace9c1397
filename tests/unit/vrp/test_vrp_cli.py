"""`xborder vrp solve`, run as a user runs it: a separate process, JSON on stdout, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from routing.vrp import bundled, check, route_distance

DATA = Path(__file__).resolve().parents[3] / "routing" / "vrp" / "data"


def _xborder(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("name", "objective"), [("C101", "vehicles"), ("R201", "distance")])
def test_prints_one_feasible_json_object(name: str, objective: str) -> None:
    done = _xborder(
        "vrp",
        "solve",
        str(DATA / f"{name.lower()}.txt"),
        "--format",
        "solomon",
        "--time-limit",
        "1",
        "--objective",
        objective,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # exactly one JSON document: json.loads rejects trailing output
    assert set(out) == {"instance", "vehicles", "distance", "feasible", "routes"}
    inst = bundled(name)
    assert out["instance"] == name and out["feasible"] is True
    assert out["vehicles"] == len(out["routes"])
    assert check(inst, out["routes"]) == []
    assert out["distance"] == pytest.approx(route_distance(inst, out["routes"]), abs=1e-5)


def test_objective_defaults_to_distance() -> None:
    done = _xborder("vrp", "solve", str(DATA / "c201.txt"), "--time-limit", "0.5")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["instance"] == "C201"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (
            b"C101\n\nVEHICLE\nNUMBER CAPACITY\n 25 200\n\nCUSTOMER\nCUST NO.\n 0 1 2 3\n",
            "expected 7 numbers",
        ),
        (b"\x00\xff\xfe binary", "not a text file"),
    ],
)
def test_bad_files_exit_2_with_a_message(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    done = _xborder("vrp", "solve", str(bad), "--format", "solomon", "--time-limit", "1")
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr and "not a valid Solomon instance" in done.stderr


def test_missing_file_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    missing = _xborder("vrp", "solve", str(tmp_path / "nope.txt"), "--time-limit", "1")
    assert missing.returncode == 2 and "cannot read" in missing.stderr and missing.stdout == ""
    zero = _xborder("vrp", "solve", str(DATA / "c101.txt"), "--time-limit", "0")
    assert zero.returncode == 2 and "--time-limit" in zero.stderr
    fmt = _xborder("vrp", "solve", str(DATA / "c101.txt"), "--time-limit", "1", "--format", "tsplib")
    assert fmt.returncode == 2 and "invalid choice" in fmt.stderr


def test_no_feasible_solution_exits_1(tmp_path: Path) -> None:
    f = tmp_path / "unreachable.txt"
    f.write_text(
        "U1\n\nVEHICLE\nNUMBER CAPACITY\n 2 10\n\nCUSTOMER\nCUST NO.\n 0 0 0 0 0 200 0\n 1 50 0 1 0 20 0\n"
    )
    done = _xborder("vrp", "solve", str(f), "--time-limit", "0.5")
    assert done.returncode == 1 and done.stdout == "" and "no feasible solution" in done.stderr
