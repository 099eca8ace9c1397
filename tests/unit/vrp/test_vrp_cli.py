"""`xborder vrp solve`, run as a user runs it: a separate process, JSON on stdout, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from routing.vrp import bundled, check, load_vrplib, route_distance

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


def test_bad_file_exits_2_with_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"")
    done = _xborder("vrp", "solve", str(bad), "--format", "solomon", "--time-limit", "1")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "not a valid Solomon instance" in done.stderr and "empty file" in done.stderr


# The rest in-process (same entry point, without paying for a new interpreter each time).


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_objective_defaults_to_distance(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(capsys, "vrp", "solve", str(DATA / "c201.txt"), "--time-limit", "0.5")
    assert code == 0, err
    assert json.loads(out)["instance"] == "C201"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"C101\n\nVEHICLE\nNUMBER CAPACITY\n 25 200\n\nCUSTOMER\nCUST NO.\n 0 1 2 3\n",
            "expected 7 numbers",
        ),
        (b"\x00\xff\xfe binary", "not a text file"),
        (
            b"R1\n\nVEHICLE\nNUMBER CAPACITY\n 2 10\n\nCUSTOMER\nCUST NO.\n 0 0 0 0 0 9 0\n 1 1 1 11 0 9 0\n",
            "holds",
        ),
    ],
)
def test_bad_files_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    code, out, err = _main(capsys, "vrp", "solve", str(bad), "--format", "solomon", "--time-limit", "1")
    assert code == 2 and out == ""
    assert message in err and "not a valid Solomon instance" in err


def test_missing_file_and_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _main(capsys, "vrp", "solve", str(tmp_path / "nope.txt"), "--time-limit", "1")
    assert code == 2 and "cannot read" in err and out == ""
    code, out, err = _main(capsys, "vrp", "solve", str(DATA / "c101.txt"), "--time-limit", "0")
    assert code == 2 and "--time-limit" in err and out == ""
    code, out, err = _main(
        capsys, "vrp", "solve", str(DATA / "c101.txt"), "--time-limit", "1", "--format", "tsplib"
    )
    assert code == 2 and "invalid choice" in err and out == ""


def test_no_feasible_solution_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "unreachable.txt"
    f.write_text(
        "U1\n\nVEHICLE\nNUMBER CAPACITY\n 2 10\n\nCUSTOMER\nCUST NO.\n 0 0 0 0 0 200 0\n 1 50 0 1 0 20 0\n"
    )
    code, out, err = _main(capsys, "vrp", "solve", str(f), "--time-limit", "0.5")
    assert code == 1 and out == "" and "no feasible solution" in err


VRPLIB = Path(__file__).resolve().parent / "data"


def test_vrplib_vrptw_instance_is_solved_and_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(
        capsys, "vrp", "solve", str(VRPLIB / "c101-25.vrp"), "--format", "vrplib", "--time-limit", "1"
    )
    assert code == 0, err
    got = json.loads(out)
    inst = load_vrplib(VRPLIB / "c101-25.vrp")
    assert got["instance"] == "C101-25" and got["feasible"] is True
    assert check(inst, got["routes"]) == []
    assert got["distance"] == pytest.approx(route_distance(inst, got["routes"]), abs=1e-5)


def test_vrplib_cvrp_two_clusters_take_one_vehicle_each(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(
        capsys,
        "vrp",
        "solve",
        str(VRPLIB / "two-clusters-n9.vrp"),
        "--format",
        "vrplib",
        "--time-limit",
        "0.5",
    )
    assert code == 0, err
    routes = json.loads(out)["routes"]
    assert sorted(sorted(r) for r in routes) == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_a_solomon_file_is_not_vrplib(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(
        capsys, "vrp", "solve", str(DATA / "c101.txt"), "--format", "vrplib", "--time-limit", "1"
    )
    assert code == 2 and out == "" and "not a valid VRPLIB instance" in err


def test_the_same_seed_repeats_an_iteration_limited_run(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("vrp", "solve", str(DATA / "rc101.txt"), "--time-limit", "120", "--seed", "3")
    runs = [_main(capsys, *args, "--max-iterations", "200") for _ in range(2)]
    assert runs[0][0] == 0 and runs[0][1] == runs[1][1]
    code, out, err = _main(capsys, *args, "--max-iterations", "0")
    assert code == 2 and "--max-iterations" in err
