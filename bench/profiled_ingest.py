"""`xborder ingest` under a profiler, for `bench_ingest.py --profile`: every thread gets its own cProfile, and
every SQL statement is counted, so that the cost per batch can be read off after a bench run.

    .venv/bin/python bench/profiled_ingest.py OUT.prof --id bench-ingest     (then SIGTERM it)

Writes OUT.prof (pstats, all threads merged) and OUT.prof.sql.json (statements per batch by kind).
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import pstats
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    out = Path(sys.argv[1])
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from logistics.ingest import TelemetryIngest

    statements: Counter[str] = Counter()
    batches = [0, 0]  # batches, messages

    @event.listens_for(Engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, executemany: bool) -> None:
        words = statement.split()
        kind = " ".join(words[:3]) if words else "?"
        statements[kind + (" (executemany)" if executemany else "")] += 1

    original_handle = TelemetryIngest.handle

    def counted_handle(self: TelemetryIngest, batch: list[Any], *args: Any, **kwargs: Any) -> Any:
        batches[0] += 1
        batches[1] += len(batch)
        return original_handle(self, batch, *args, **kwargs)

    TelemetryIngest.handle = counted_handle  # type: ignore[method-assign]

    from api.cli import main as cli_main

    main_profile = cProfile.Profile()
    main_profile.enable()
    try:
        rc = cli_main(["ingest", *sys.argv[2:]])
    finally:
        main_profile.disable()
        stats = pstats.Stats(main_profile)
        for p in profiles:
            with contextlib.suppress(TypeError):  # a thread that never ran a profiled call
                stats.add(p)
        stats.dump_stats(str(out))
        per_batch = {k: round(v / max(1, batches[0]), 2) for k, v in statements.most_common()}
        Path(f"{out}.sql.json").write_text(
            json.dumps(
                {"batches": batches[0], "messages": batches[1], "statements_per_batch": per_batch}, indent=1
            )
        )
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
