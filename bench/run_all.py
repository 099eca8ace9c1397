"""`make bench`: every benchmark in bench/ at a size that finishes in minutes, figures printed as they come.

Each script prints its own figures beside a baseline measured in the same run. Pass `--full` for the full
sizes (tens of minutes). Benchmarks that need PostgreSQL or Mosquitto say so and are skipped when absent.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = {
    "bench_quotes.py": ["--quick"],
    "bench_vrp.py": ["--quick"],  # 6 Solomon instances x 2 solvers x 10 s, then the warehouse day
    "bench_tracking_core.py": ["--devices", "1000", "--derive-devices", "200"],
    "bench_ingest.py": ["--quick"],
    "bench_allocation.py": ["--quick"],
    "bench_floor.py": ["--quick"],
    "bench_simulator.py": ["--quick"],
    "bench_embedded_broker.py": ["--quick"],
    "bench_broker_crash.py": ["--quick"],
    "bench_load.py": ["--quick"],
    "bench_stats.py": ["--quick"],
}


def main() -> int:
    full = "--full" in sys.argv[1:]
    failed = []
    for name, quick_args in QUICK.items():
        script = HERE / name
        if not script.exists():
            continue
        args = [] if full else quick_args
        print(f"\n=== {name} {' '.join(args)}", flush=True)
        started = time.monotonic()
        rc = subprocess.call([sys.executable, str(script), *args], cwd=HERE.parent)
        print(f"=== {name}: exit {rc} after {time.monotonic() - started:.0f} s", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
