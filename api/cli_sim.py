"""`xborder simulate`: a fleet of simulated trackers that speaks only the wire contract (HTTP API + MQTT).

    xborder simulate --api URL --key KEY [--mqtt URL] [--trackers N] [--book N] [--to LIST]
                     [--interval-minutes M] [--phase-minutes P] [--faults LIST] [--fault-rate X] [--seed S]
                     [--fault-seed S] [--until-delivered] [--duration SECONDS] [--waybill NO ...]
                     [--devices-file PATH]

Prints one JSON summary on stdout when it stops; exit 2 on bad arguments, 1 when the API or the MQTT broker
cannot be reached. The API key comes from XB_SIM_KEY (or --key, which `ps` shows to every user). Without
--mqtt or XB_MQTT_URL the simulator asks the service which broker it uses (GET /v1/broker).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from api.cli import EXTENSIONS, command
from api.lifecycle import PARENT_PID_ENV, watch_parent
from iot_sim.api import ApiError, XborderApi
from iot_sim.devices import DeviceStore
from iot_sim.faults import FAULTS, parse_fault_rates
from iot_sim.fleet import DESTINATIONS, SimConfig, Simulation
from iot_sim.mqtt import BrokerUrl, MqttFleet

log = logging.getLogger("xborder.simulate")


def _add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="run simulated trackers along booked itineraries (MQTT telemetry on the service clock)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--api", help="base URL of the xborder API (default http://XB_HOST:XB_PORT)")
    p.add_argument(
        "--key", default=os.environ.get("XB_SIM_KEY"), help="API key (forwarder or admin; or XB_SIM_KEY)"
    )
    p.add_argument(
        "--mqtt",
        help="broker URL: mqtt://host:port (MQTT 5) or mqtt311://host:port (MQTT 3.1.1); "
        "default XB_MQTT_URL, else the broker the service at --api uses (GET /v1/broker); "
        "exit 1 when no broker answers there",
    )
    p.add_argument("--trackers", type=int, metavar="N", help="simulate at most N trackers (default: all)")
    p.add_argument("--book", type=int, default=0, metavar="N", help="first book N shipments out of Yibin")
    p.add_argument(
        "--to",
        default="",
        metavar="LIST",
        help=f"--book destinations, tried in turn (default {','.join(DESTINATIONS)})",
    )
    p.add_argument(
        "--interval-minutes", type=float, default=30.0, metavar="M", help="service minutes per reading"
    )
    p.add_argument(
        "--phase-minutes",
        type=float,
        metavar="P",
        help="every device reports P minutes into the interval (default: each device its own phase)",
    )
    p.add_argument(
        "--faults",
        default="",
        metavar="LIST",
        help=f"comma list or 'all' of {','.join(FAULTS)}; NAME=P sets that fault's chance per reading",
    )
    p.add_argument("--fault-rate", type=float, default=1.0, metavar="X", help="scale every fault's rate by X")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fault-seed",
        type=int,
        metavar="S",
        help="seed the fault chains with S alone: the same faults for every device, whatever its id "
        "(default: --seed and each device's id)",
    )
    p.add_argument(
        "--until-delivered", action="store_true", help="stop once every simulated waybill is delivered"
    )
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many real seconds")
    p.add_argument(
        "--waybill", action="append", default=[], metavar="NO", help="only this waybill (repeatable)"
    )
    p.add_argument("--devices-file", default="var/sim-devices.json", help="where device credentials are kept")
    p.add_argument(
        "--client-id-prefix", default="", help="prefix of the MQTT client ids (default: the device id)"
    )


EXTENSIONS.append(_add_parser)


def _configured_mqtt(settings: Any) -> str | None:
    url = getattr(settings, "mqtt_url", None) or os.environ.get("XB_MQTT_URL")
    return str(url) if url else None


def probe_broker(host: str, port: int, timeout: float = 5.0) -> str | None:
    """None when an MQTT broker answers a CONNECT at host:port (with any CONNACK, even a refusal of this
    anonymous probe), else why not. Used before the fleet starts, so a wrong broker fails loudly."""
    # MQTT 3.1.1 CONNECT, clean session, keep-alive 10 s, client id "xborder-sim-probe" (every broker we
    # support speaks 3.1.1; an MQTT 5 broker answers it too).
    client_id = b"xborder-sim-probe"
    variable = b"\x00\x04MQTT\x04\x02\x00\x0a"
    payload = len(client_id).to_bytes(2, "big") + client_id
    body = variable + payload
    packet = b"\x10" + bytes([len(body)]) + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(packet)
            answer = sock.recv(4)
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc}"
    if not answer or answer[0] >> 4 != 2:
        return f"{host}:{port} answered, but not as an MQTT broker"
    return None


@command("simulate")
def _simulate(args: argparse.Namespace, settings: Any) -> int:
    def fail(message: str) -> int:
        print(f"xborder simulate: {message}", file=sys.stderr)
        return 2

    if not args.key:
        return fail("--key (or XB_SIM_KEY) is required")
    try:
        asked = parse_fault_rates(args.faults)
        faults = tuple(asked)
        told = args.mqtt or _configured_mqtt(settings)
        broker = BrokerUrl.parse(told) if told else None
    except ValueError as exc:
        return fail(str(exc))
    if args.interval_minutes <= 0 or args.book < 0 or (args.trackers is not None and args.trackers < 0):
        return fail("--interval-minutes must be positive; --book and --trackers not negative")
    if args.phase_minutes is not None and not 0 <= args.phase_minutes < args.interval_minutes:
        return fail("--phase-minutes must be at least 0 and less than --interval-minutes")
    if args.fault_rate < 0 or (args.duration is not None and args.duration < 0):
        return fail("--fault-rate and --duration must not be negative")
    api_url = args.api or f"http://{getattr(settings, 'host', '127.0.0.1')}:{getattr(settings, 'port', 8000)}"
    config = SimConfig(
        interval=timedelta(minutes=args.interval_minutes),
        phase=None if args.phase_minutes is None else timedelta(minutes=args.phase_minutes),
        faults=faults,
        fault_rates={name: rate for name, rate in asked.items() if rate is not None},
        fault_rate=args.fault_rate,
        seed=args.seed,
        fault_seed=args.fault_seed,
        max_trackers=args.trackers,
        waybills=frozenset(args.waybill),
        until_delivered=args.until_delivered,
        duration_s=args.duration,
        destinations=tuple(d.strip() for d in args.to.split(",") if d.strip()) or DESTINATIONS,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    parent = os.environ.get(PARENT_PID_ENV)
    if parent and parent.isdigit():  # started by `xborder demo`: stop when it is gone, however it died
        watch_parent(int(parent), stop.set)
    store = DeviceStore(Path(args.devices_file))
    try:
        with XborderApi(api_url, args.key) as api:
            if broker is None:  # neither --mqtt nor XB_MQTT_URL: the broker the running service uses
                try:
                    asked_url = api.broker_url()
                except (ApiError, OSError) as exc:
                    print(
                        f"xborder simulate: cannot ask the API at {api_url} which broker it uses: {exc}",
                        file=sys.stderr,
                    )
                    return 1
                if asked_url is None:
                    return fail(f"the service at {api_url} uses no MQTT broker; name one with --mqtt")
                broker = BrokerUrl.parse(asked_url)
            # The demo hands over the broker it runs itself; any other broker is probed first.
            why = None if parent else probe_broker(broker.host, broker.port)
            if why is not None:
                print(f"xborder simulate: no MQTT broker: {why} (--mqtt, XB_MQTT_URL)", file=sys.stderr)
                return 1
            fleet = MqttFleet(broker, client_id_prefix=args.client_id_prefix)
            sim = Simulation(api, fleet, store, config)
            try:
                sim.sync_clock()
                if args.book:
                    sim.book(args.book)
            except (ApiError, OSError) as exc:
                print(f"xborder simulate: the API at {api_url} failed: {exc}", file=sys.stderr)
                fleet.close(timeout=0)
                return 1
            log.info(
                "simulating on %s:%d (MQTT %s), service clock %s at %gx, faults: %s",
                broker.host,
                broker.port,
                "5" if broker.protocol == 5 else "3.1.1",
                sim.clock.now().isoformat(timespec="seconds"),
                sim.clock.speed,
                ",".join(faults) or "none",
            )
            summary = sim.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(
        json.dumps(
            {
                "reason": summary.reason,
                "broker": f"{broker.host}:{broker.port}",
                "booked": summary.booked,
                "trackers": summary.trackers,
                "readings": summary.readings,
                "publishes": summary.publishes,
                "faults": summary.faults,
                "mqtt": {
                    "sent": fleet.stats.sent,
                    "acked": fleet.stats.acked,
                    "refused": fleet.stats.refused,
                    "connect_failures": fleet.stats.connect_failures,
                },
            }
        )
    )
    if fleet.stats.acked == 0 and fleet.stats.connect_failures > 0:
        print(
            f"xborder simulate: no tracker could publish to {broker.host}:{broker.port} "
            f"({fleet.stats.connect_failures} refused or failed connections)",
            file=sys.stderr,
        )
        return 1
    return 0
