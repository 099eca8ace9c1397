"""`xborder serve | ingest | scheduler | seed | demo | replay`: the long-running processes."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli import EXTENSIONS, command
from kernel.settings import Settings

if TYPE_CHECKING:
    from api.runtime import BrokerChoice

log = logging.getLogger("xborder")


def _add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve", help="HTTP API + dashboard, and (by default) broker, ingest and scheduler"
    )
    serve.add_argument("--no-ingest", action="store_true", help="run the ingest as separate processes")
    serve.add_argument("--no-scheduler", action="store_true", help="run the scheduler as a separate process")
    serve.add_argument("--migrate", action="store_true", help="migrate the database first")
    ingest = sub.add_parser("ingest", help="telemetry ingest worker (any number, sharing the load)")
    ingest.add_argument(
        "--id", default=None, help="stable client id (persistent MQTT session); default ingest-<host>"
    )
    ingest.add_argument("--metrics-port", type=int, default=None, help="expose /metrics on this port")
    sub.add_parser("scheduler", help="scheduled jobs (one leader among any number of schedulers)")
    seed = sub.add_parser("seed", help="create demo tenants, keys, warehouses, sellers and SKUs")
    seed.add_argument("--keys-file", default="var/demo-keys.json")
    demo = sub.add_parser("demo", help="migrate, seed, serve everything and run a simulated tracker fleet")
    demo.add_argument("--keys-file", default="var/demo-keys.json")
    demo.add_argument("--shipments", type=int, default=6, help="shipments the simulator books and tracks")
    demo.add_argument("--no-simulator", action="store_true")
    demo.add_argument(
        "--no-activity",
        action="store_true",
        help="no orders, returns, inbound or disruptions by the demo tenants",
    )
    demo.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the parent process dies (make demo)"
    )
    replay = sub.add_parser("replay", help="re-derive milestones and status of waybills from stored readings")
    replay.add_argument("waybills", nargs="*", help="waybill numbers (default: all with readings)")
    replay.add_argument(
        "--check", action="store_true", help="only compare with what is stored; exit 1 on a difference"
    )


EXTENSIONS.append(_add)


def _container(settings: Settings):  # type: ignore[no-untyped-def]
    from api.bootstrap import build

    return build(settings)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stop.wait(1)


def _terminate_as_interrupt(_sig: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve_all(
    settings: Settings,
    *,
    ingest: bool = True,
    scheduler: bool = True,
    banner: list[str] | None = None,
    broker: BrokerChoice | None = None,
) -> int:
    from api.runtime import Runtime, choose_broker, run_http

    container = _container(settings)
    broker = broker or choose_broker(settings)
    container.mqtt_url = broker.url
    runtime = Runtime(container, broker)
    print(broker.message, flush=True)
    container.network_state.timetable(container.clock.now())  # load and expand before the first quote
    # What is loaded now (network, timetable, app) lives as long as the process: moved out of the cyclic
    # collector's sight, so a full collection no longer walks every departure of a large timetable
    # (hundreds of ms on a ~200k-departure network) in the middle of a request.
    gc.collect()
    gc.freeze()
    try:
        runtime.start_publisher()
        if ingest:
            runtime.start_ingest()
        if scheduler:
            runtime.start_scheduler()
        print(f"HTTP API and dashboard: http://{settings.host}:{settings.port}/  (docs at /docs)", flush=True)
        for line in banner or []:
            print(line, flush=True)
        # uvicorn stops on SIGINT or SIGTERM, then raises the signal again under the handler found before it:
        # SIGTERM's default would end the process on the spot, skipping the clean stop below (ingest, broker,
        # the demo's simulator). Under this handler SIGTERM ends it as Ctrl-C does.
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)
        try:
            run_http(container, settings.host, settings.port)
        except KeyboardInterrupt:
            # uvicorn has shut the HTTP side down and re-raises the Ctrl-C: the rest stops below, quietly.
            print("stopping", flush=True)
    finally:
        # Stopping has begun: a second SIGTERM (the demo's simulator ending during the stop asks for one, as
        # may an impatient supervisor) must not interrupt the clean stop half-way (SIGKILL still ends it).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        runtime.stop()
        container.db.engine.dispose()
    return 0


@command("serve")
def _serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.migrate:
        from api.migrate import upgrade

        upgrade(settings.database_url)
    return serve_all(settings, ingest=not args.no_ingest, scheduler=not args.no_scheduler)


@command("ingest")
def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    import socket

    from api.runtime import Runtime, choose_broker

    if not settings.mqtt_url:
        print("xborder ingest needs XB_MQTT_URL (the broker that `serve` uses)", file=sys.stderr)
        return 2
    container = _container(settings)
    runtime = Runtime(container, choose_broker(settings))
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, registry=container.metrics.registry)
    ingest_id = args.id or f"ingest-{socket.gethostname()}"
    runtime.start_publisher()
    runtime.start_ingest(ingest_id)
    print(f"ingest {ingest_id} consuming telemetry from {settings.mqtt_url}", flush=True)
    try:
        _wait_for_signal()
    finally:
        runtime.stop()
    return 0


@command("scheduler")
def _scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from api.runtime import Runtime, choose_broker

    container = _container(settings)
    runtime = Runtime(container, choose_broker(settings))
    runtime.start_scheduler()
    print("scheduler running (jobs run on the elected leader only)", flush=True)
    try:
        _wait_for_signal()
    finally:
        runtime.stop()
    return 0


@command("seed")
def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from api.seed import seed_demo

    container = _container(settings)
    keys = seed_demo(container.db, container.clock, Path(args.keys_file))
    for name, entry in keys.items():
        print(f"{name:10s} {entry['role']:10s} {entry['key']}")
    return 0


@command("demo")
def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from api.lifecycle import DemoSimulator, stop_self, watch_parent
    from api.migrate import upgrade
    from api.seed import seed_demo

    if args.exit_with_parent:  # under `make demo`: if make is killed outright, the demo goes with it
        watch_parent(os.getppid(), stop_self)
    upgrade(settings.database_url)
    container = _container(settings)
    keys = seed_demo(container.db, container.clock, Path(args.keys_file))
    container.db.engine.dispose()
    base = f"http://{settings.host}:{settings.port}"
    banner = ["", "Demo API keys (also in " + args.keys_file + "):"]
    banner += [f"  {name:10s} {entry['role']:10s} {entry['key']}" for name, entry in keys.items()]
    banner += [
        "",
        f"Dashboard: {base}/   API docs: {base}/docs   Health: {base}/healthz",
        f"Try: curl -H 'Authorization: Bearer {keys['forwarder']['key']}' {base}/v1/waybills",
        "Ctrl-C stops everything.",
    ]
    from api.runtime import choose_broker

    broker = choose_broker(settings)
    simulator = None
    if not args.no_simulator:
        # The key goes in the child's environment (XB_SIM_KEY), never on its command line. A few faults (a
        # reefer excursion, a door opened on the move: about one a service day across the fleet) raise alarms
        # that clear again, so the alarm screens have something to show.
        sim_args = ["--book", str(args.shipments), "--trackers", str(args.shipments), "--mqtt", broker.url]
        sim_args += ["--faults", "reefer=0.003,door=0.002"]
        simulator = DemoSimulator(base, keys["forwarder"]["key"], sim_args).start()
    stop_activity = threading.Event()
    if not args.no_activity:
        threading.Thread(
            target=_demo_activity, args=(base, keys, stop_activity), name="demo-activity", daemon=True
        ).start()
    try:
        return serve_all(settings, banner=banner, broker=broker)
    finally:
        stop_activity.set()
        if simulator is not None:
            simulator.stop()


def _demo_activity(base: str, keys: dict[str, dict[str, str]], stop: threading.Event) -> None:
    """The demo tenants' daily life (orders, shipping, delivery runs, returns, inbound, a disruption)."""
    from datetime import datetime

    import httpx

    from api.demo_driver import DemoDriver, run_driver
    from kernel.clock import parse_time

    with httpx.Client(base_url=base, timeout=30) as http:
        driver = DemoDriver(http, {name: entry["key"] for name, entry in keys.items()})

        def service_now() -> datetime:
            return parse_time(http.get("/healthz").json()["now"])

        run_driver(driver, service_now, stop)


@command("replay")
def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from logistics.replay import replay_waybill
    from logistics.tables import readings
    from logistics.tracking.derive import rules_for_clock_speed

    container = _container(settings)
    with container.db.session() as session:
        numbers = args.waybills or sorted(
            {w for w in session.execute(select(readings.c.waybill_no).distinct()).scalars() if w}
        )
    differences = 0
    for no in numbers:
        with container.db.session() as session:
            report = replay_waybill(
                session,
                no,
                container.clock.now(),
                check_only=args.check,
                rules=rules_for_clock_speed(settings.clock_speed),
            )
        differences += 0 if report["same"] else 1
        print(json.dumps(report))
    return 1 if (args.check and differences) else 0
