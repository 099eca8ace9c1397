"""The `xborder` command line: thin drivers over the same handlers as the HTTP API."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from kernel.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


@command("migrate")
def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from api.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database migrated: {_redact(settings.database_url)}")
    return 0


@command("keys")
def _keys(args: argparse.Namespace, settings: Settings) -> int:
    if args.keys_command == "list":
        return _keys_list(args, settings)
    if args.keys_command == "revoke":
        return _keys_revoke(args, settings)
    from kernel.clock import ScaledClock
    from kernel.db import Database, make_engine
    from kernel.identity import Role, TenantKind, create_tenant, ensure_platform_tenant, issue_key

    db = Database(make_engine(settings.database_url))
    clock = ScaledClock(settings.clock_speed, settings.clock_start)
    role = Role(args.role)
    with db.session() as s:
        tenant_id = args.tenant
        if tenant_id is None:
            if role in (Role.ADMIN, Role.NETWORK_OPERATOR, Role.DEVICE):
                tenant_id = ensure_platform_tenant(s, clock.now())
            else:
                tenant_id = str(
                    create_tenant(
                        s, args.name or f"{role.value} tenant", TenantKind(role.value), clock.now()
                    )["id"]
                )
        key_id, secret = issue_key(s, tenant_id, role, clock.now(), args.warehouse or [], args.label)
    print(f"created {role.value} key {key_id} for tenant {tenant_id}; it is shown once:", file=sys.stderr)
    print(secret)
    return 0


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.db import Database, make_engine
    from kernel.identity import list_keys

    engine = make_engine(settings.database_url)
    try:
        with Database(engine).session() as s:
            rows = list_keys(s, args.tenant)
    finally:
        engine.dispose()
    for row in rows:
        if row["revoked_at"] is not None and not args.all:
            continue
        revoked = f"revoked {row['revoked_at'].isoformat()}" if row["revoked_at"] else "active"
        warehouses = ",".join(row["warehouses"] or []) or "-"
        print(
            f"{row['id']}\t{row['tenant_id']}\t{row['role']}\txb_{row['prefix']}_…\t{warehouses}"
            f"\t{row['label'] or '-'}\t{revoked}"
        )
    return 0


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.clock import ScaledClock
    from kernel.db import Database, make_engine
    from kernel.errors import NotFound
    from kernel.identity import revoke_key

    engine = make_engine(settings.database_url)
    clock = ScaledClock(settings.clock_speed, settings.clock_start)
    try:
        with Database(engine).session() as s:
            revoke_key(s, args.key_id, clock.now())
    except NotFound as exc:
        print(f"xborder: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(
        f"revoked {args.key_id}; running servers refuse it within {settings.auth_cache_seconds:g} s",
        file=sys.stderr,
    )
    return 0


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xborder", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema (Alembic)")
    keys = sub.add_parser("keys", help="API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create an API key; prints it alone on the last line")
    create.add_argument(
        "--role",
        required=True,
        choices=["admin", "network_operator", "operator", "forwarder", "seller", "device"],
    )
    create.add_argument("--tenant", help="tenant id (default: a new tenant, or the platform for admin)")
    create.add_argument("--name", help="name of the new tenant")
    create.add_argument(
        "--warehouse", action="append", help="warehouse code an operator key runs (repeatable)"
    )
    create.add_argument("--label")
    listing = keys_sub.add_parser("list", help="list API keys (id, tenant, role, prefix, warehouses, label)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = keys_sub.add_parser("revoke", help="revoke an API key by its id")
    revoke.add_argument("key_id")
    for extend in EXTENSIONS:
        extend(sub)
    return p


# Other modules add their subcommands here: (subparsers) -> None.
EXTENSIONS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    _load_extensions()
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as exc:  # noqa: BLE001 - a settings error is a user error
        print(f"xborder: bad settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("alembic", "apscheduler", "httpx", "amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return COMMANDS[args.command](args, settings)
    except BrokenPipeError:
        # The reader stopped early (`xborder keys list | head`): what it read is what it wanted. Point stdout
        # at /dev/null so that the interpreter's final flush does not fail again, and end without a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _load_extensions() -> None:
    import importlib

    for name in ("api.cli_run", "api.cli_network", "api.cli_vrp", "api.cli_sim", "api.cli_mqtt"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


if __name__ == "__main__":
    # Run through the imported module, so that `python -m api.cli` shares one command table with the
    # extension modules (which register into `api.cli`, not into `__main__`).
    from api.cli import main as _main

    raise SystemExit(_main())
