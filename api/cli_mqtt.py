"""`xborder mqtt-config`: write Mosquitto `passwords` and `acl` files so each device publishes only as itself.

    xborder mqtt-config --out DIR [--device ID:PASSWORD ...] [--from-database]
                        [--service-user NAME] [--service-password PASSWORD]

`--from-database` adds every registered device with its stored `$7$` hash (no plaintext needed), through
`logistics.devices.mqtt_credentials(session) -> Iterable[(device_id, secret_hash)]`. Point
`deploy/mosquitto/mosquitto.conf`'s `password_file` and `acl_file` at the written files and send the broker
SIGHUP to reload them. Exit 2 on bad input. The rules are `logistics.mqtt_acl.DEVICE_RULES` and
`SERVICE_RULES`: the embedded broker (`xborder serve` without XB_MQTT_URL) enforces the same ones in-process.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from api.cli import EXTENSIONS, command
from kernel.errors import InvalidInput
from kernel.settings import Settings
from logistics.mqtt_acl import Credential, write_config


def _add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mqtt-config",
        help="write Mosquitto password and ACL files for the registered devices and the service user",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="directory for `passwords` and `acl`"
    )
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="ID:PASSWORD",
        help="a device and its password (repeatable)",
    )
    p.add_argument("--from-database", action="store_true", help="add every registered device (stored hashes)")
    p.add_argument(
        "--service-user",
        default=os.environ.get("XB_MQTT_SERVICE_USER", "xborder-service"),
        help="broker user of the ingest and the API (default: XB_MQTT_SERVICE_USER, else xborder-service)",
    )
    p.add_argument(
        "--service-password",
        default=os.environ.get("XB_MQTT_SERVICE_PASSWORD"),
        help="its password (default: XB_MQTT_SERVICE_PASSWORD)",
    )


@command("mqtt-config")
def _mqtt_config(args: argparse.Namespace, settings: Settings) -> int:
    if not args.service_password:
        print(
            "xborder mqtt-config: --service-password (or XB_MQTT_SERVICE_PASSWORD) is required",
            file=sys.stderr,
        )
        return 2
    devices: list[Credential] = []
    for spec in args.device:
        device_id, sep, password = spec.partition(":")
        if not sep or not password:
            print(f"xborder mqtt-config: --device wants ID:PASSWORD, got {spec!r}", file=sys.stderr)
            return 2
        devices.append(Credential(device_id, password=password))
    if args.from_database:
        devices += _stored_devices(settings)
    try:
        passwords, acl = write_config(
            args.out, devices, Credential(args.service_user, password=args.service_password)
        )
    except InvalidInput as exc:
        problems = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors or [])
        print(f"xborder mqtt-config: {exc.detail}: {problems}", file=sys.stderr)
        return 2
    print(f"wrote {passwords} ({len(devices)} devices), {passwords.parent / 'service-passwords'} and {acl}")
    return 0


def _stored_devices(settings: Settings) -> list[Credential]:
    from kernel.db import Database, make_engine
    from logistics import devices as registry

    source = getattr(registry, "mqtt_credentials", None)
    if source is None:
        raise SystemExit(
            "xborder mqtt-config: this build cannot list devices (logistics.devices.mqtt_credentials)"
        )
    db = Database(make_engine(settings.database_url))
    with db.session() as session:
        return [
            Credential(device_id, password_hash=secret_hash) for device_id, secret_hash in source(session)
        ]


EXTENSIONS.append(_add_parser)
