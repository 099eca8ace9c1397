"""`xborder network validate|export|import`: check and move the route network as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from api.cli import EXTENSIONS, command
from kernel.settings import Settings
from routing.errors import NetworkInvalid
from routing.network import Network, load_network, load_reference_network

IMPORT_TARGET = Path("var") / "network.json"


def _subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    net = sub.add_parser("network", help="validate, export or import the route network (JSON)")
    net_sub = net.add_subparsers(dest="network_command", required=True)
    validate = net_sub.add_parser(
        "validate", help="check a network file (default: the shipped reference network)"
    )
    validate.add_argument("file", nargs="?", help="network.json to check")
    export = net_sub.add_parser("export", help="write the network (with planning defaults) as JSON")
    export.add_argument("file", nargs="?", help="output file (default: stdout)")
    export.add_argument("--source", help="network file to export instead of the shipped one")
    imp = net_sub.add_parser("import", help=f"validate a network file and store it as {IMPORT_TARGET}")
    imp.add_argument("file", help="network.json to import")


EXTENSIONS.append(_subcommands)


def _read(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SystemExit(_fail(f"cannot read {path}: {exc.strerror or exc}")) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(
            _fail(f"{path} is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}")
        ) from None
    if not isinstance(data, dict):
        raise SystemExit(_fail(f"{path} must hold a JSON object with 'nodes' and 'legs'"))
    return data


def _fail(message: str) -> int:
    print(f"xborder network: {message}", file=sys.stderr)
    return 1


def _load(path: str | None) -> Network:
    return load_reference_network() if path is None else load_network(_read(path))


def _summary(net: Network) -> str:
    published = sum(1 for s in net.services.values() if s.basis == "published")
    return (
        f"{len(net.nodes)} nodes, {len(net.services)} services "
        f"({published} wholly published, {len(net.services) - published} with estimates)"
    )


def _invalid(where: str, exc: NetworkInvalid) -> int:
    print(f"xborder network: {where} is invalid ({len(exc.problems)} problem(s)):", file=sys.stderr)
    for p in exc.problems:
        print(f"  - {p}", file=sys.stderr)
    return 1


@command("network")
def _network(args: argparse.Namespace, settings: Settings) -> int:
    where = getattr(args, "file", None) or "the reference network"
    try:
        if args.network_command == "validate":
            net = _load(args.file)
            print(f"{where}: valid; {_summary(net)}")
            return 0
        if args.network_command == "export":
            net = _load(args.source)
            text = json.dumps(net.export(), ensure_ascii=False, indent=1) + "\n"
            if args.file:
                Path(args.file).write_text(text, encoding="utf-8")
                print(f"wrote {args.file}: {_summary(net)}", file=sys.stderr)
            else:
                sys.stdout.write(text)
            return 0
        if args.network_command == "import":
            net = _load(args.file)
            IMPORT_TARGET.parent.mkdir(parents=True, exist_ok=True)
            IMPORT_TARGET.write_text(
                json.dumps(net.export(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
            print(
                f"{args.file}: valid; {_summary(net)}; stored as {IMPORT_TARGET}. "
                f"Serve it with XB_NETWORK_FILE={IMPORT_TARGET} (every serve and ingest process)."
            )
            return 0
    except NetworkInvalid as exc:
        return _invalid(where if args.network_command != "export" else (args.source or where), exc)
    return _fail(f"unknown subcommand {args.network_command!r}")
