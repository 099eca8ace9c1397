"""`xborder vrp solve FILE --format solomon|vrplib --time-limit SECONDS [--objective distance|vehicles]
[--seed N] [--max-iterations N]`.

Prints exactly one JSON object on stdout: `{"instance", "vehicles", "distance", "feasible", "routes"}`, the
distance in the instance's units with exact Euclidean arcs. Exit 2 on a bad file or bad arguments, exit 1
when no feasible solution was found within the time limit. The same seed and a binding `--max-iterations`
repeat a run exactly (a run cut by the time limit depends on the CPU it got).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from api.cli import EXTENSIONS, command
from kernel.settings import Settings
from routing.vrp import OBJECTIVES, SolomonFormatError, check, load, load_vrplib, solve


def _add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    vrp = sub.add_parser("vrp", help="vehicle routing with time windows (PyVRP)")
    vrp_sub = vrp.add_subparsers(dest="vrp_command", required=True)
    s = vrp_sub.add_parser("solve", help="solve an instance file; prints one JSON object")
    s.add_argument("file", metavar="FILE", help="instance file")
    s.add_argument(
        "--format",
        dest="fmt",
        choices=["solomon", "vrplib"],
        default="solomon",
        help="file format (default solomon; vrplib: CVRPLIB / Homberger instances in VRPLIB form)",
    )
    s.add_argument(
        "--time-limit", type=float, required=True, metavar="SECONDS", help="wall-clock search budget"
    )
    s.add_argument(
        "--objective",
        choices=list(OBJECTIVES),
        default="distance",
        help="distance: shortest total distance; vehicles: fewest vehicles, then distance",
    )
    s.add_argument("--seed", type=int, default=0, metavar="N", help="random seed of the search (default 0)")
    s.add_argument(
        "--max-iterations",
        type=int,
        default=None,
        metavar="N",
        help="stop after N iterations if the time limit has not struck first (a repeatable run)",
    )


EXTENSIONS.append(_add_parser)


@command("vrp")
def _vrp(args: argparse.Namespace, settings: Settings) -> int:
    if not math.isfinite(args.time_limit) or args.time_limit <= 0:
        print(
            f"xborder vrp solve: --time-limit must be a positive number of seconds, got {args.time_limit:g}",
            file=sys.stderr,
        )
        return 2
    if args.max_iterations is not None and args.max_iterations < 1:
        print("xborder vrp solve: --max-iterations must be at least 1", file=sys.stderr)
        return 2
    if not 0 <= args.seed < 2**32:
        print("xborder vrp solve: --seed must be 0 to 4294967295", file=sys.stderr)
        return 2
    reader, what = (load_vrplib, "VRPLIB") if args.fmt == "vrplib" else (load, "Solomon")
    try:
        instance = reader(args.file)
    except SolomonFormatError as exc:
        print(f"xborder vrp solve: {args.file}: not a valid {what} instance: {exc}", file=sys.stderr)
        return 2
    solution = solve(
        instance, args.time_limit, args.objective, seed=args.seed, max_iterations=args.max_iterations
    )
    if not solution.feasible:
        problems = check(instance, solution.routes) if solution.routes else ["no solution found"]
        print(
            f"xborder vrp solve: no feasible solution for {instance.name} within {args.time_limit:g} s "
            f"({'; '.join(problems[:3])})",
            file=sys.stderr,
        )
        return 1
    print(
        json.dumps(
            {
                "instance": instance.name,
                "vehicles": solution.vehicles,
                "distance": round(solution.distance, 6),
                "feasible": True,
                "routes": solution.routes,
            }
        )
    )
    return 0
