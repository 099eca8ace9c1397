"""The scheduler driver (APScheduler), run by one leader elected through PostgreSQL.

The jobs themselves live beside their domain (`logistics.scheduled`, `warehouse.scheduled`,
`kernel.scheduled`); the composition root assembles them into `Job`s (`api.wiring.scheduled_jobs`).

Any number of processes may start a scheduler; only the holder of a PostgreSQL advisory lock runs the jobs,
and another takes over when the leader's connection drops. On SQLite (one machine, `make demo`) the single
process is the leader.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, text

from kernel.db import Database

log = logging.getLogger(__name__)
LEADER_LOCK_KEY = 0x5842_5343  # "XBSC"


class Leadership:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def is_leader(self) -> bool:
        if not self.db.is_postgres:
            return True
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    return True
                except Exception:  # lost the connection, and with it the lock
                    self._release()
            conn = self.db.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY}).scalar()
            conn.commit()
            if got:
                self._conn = conn
                log.info("this process is the scheduler leader")
                return True
            conn.close()
            return False

    def _release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def resign(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
                    self._conn.commit()
            self._release()


@dataclass
class Job:
    """A job the leader runs every `seconds` of real time; the list is assembled in `api.wiring`."""

    name: str
    seconds: float
    run: Callable[[], object]


class Scheduler:
    def __init__(self, db: Database, jobs: list[Job]) -> None:
        self.leadership = Leadership(db)
        self.jobs = jobs
        self._scheduler = BackgroundScheduler(timezone="UTC")

    def _guarded(self, job: Job) -> Callable[[], None]:
        def run() -> None:
            if not self.leadership.is_leader():
                return
            try:
                job.run()
            except Exception:
                log.exception("scheduled job %s failed", job.name)

        return run

    def start(self) -> Scheduler:
        for job in self.jobs:
            self._scheduler.add_job(
                self._guarded(job),
                "interval",
                seconds=job.seconds,
                id=job.name,
                max_instances=1,
                coalesce=True,
            )
        self._scheduler.start()
        return self

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        self.leadership.resign()
