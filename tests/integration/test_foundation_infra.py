"""Migrations, the CLI, the dependency rules and the deployment file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from api.migrate import upgrade
from api.schema import target_metadata
from kernel.db import Database, make_engine

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_create_every_table_of_every_package(database: Database) -> None:
    tables = set(inspect(database.engine).get_table_names())
    expected = {t.name for t in target_metadata.sorted_tables}
    assert expected <= tables, expected - tables


def _heads(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as c:
        heads = {r[0] for r in c.exec_driver_sql("SELECT version_num FROM alembic_version")}
    engine.dispose()
    return heads


def test_migrations_are_idempotent(database_url: str) -> None:
    from alembic.script import ScriptDirectory

    from api.migrate import alembic_config

    before = _heads(database_url)
    upgrade(database_url)  # already at heads: nothing to do, nothing fails
    assert _heads(database_url) == before
    script_heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    assert before and before <= script_heads  # every package branch is at its head


def test_migrations_run_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    engine = make_engine(url)
    assert "waybills" in inspect(engine).get_table_names()
    engine.dispose()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_migrate_and_keys_create_prints_the_key_last(tmp_path: Path) -> None:
    env = {**os.environ, "XB_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    assert _cli("migrate", env=env).returncode == 0
    out = _cli("keys", "create", "--role", "admin", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1].startswith("xb_")
    bad = _cli("keys", "create", "--role", "pirate", env=env)
    assert bad.returncode != 0


def test_cli_refuses_bad_settings(tmp_path: Path) -> None:
    env = {**os.environ, "XB_CLOCK_SPEED": "zero"}
    out = _cli("migrate", env=env)
    assert out.returncode == 2
    assert out.stderr.startswith("xborder: bad settings:")
    assert "clock_speed" in out.stderr


@pytest.mark.parametrize("phase", ["60", "-1"])
def test_simulate_refuses_a_phase_outside_the_interval(tmp_path: Path, phase: str) -> None:
    env = {**os.environ, "XB_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    out = _cli("simulate", "--key", "k", "--interval-minutes", "60", "--phase-minutes", phase, env=env)
    assert out.returncode == 2
    assert "--phase-minutes" in out.stderr


def test_dependency_rules_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a dev dependency"
    out = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed"
)
def test_docker_compose_file_is_valid() -> None:
    env = {**os.environ, "XB_SECRET_KEY": "x" * 48, "XB_SERVICE_MQTT_PASSWORD": "pw", "XB_SIM_API_KEY": "k"}
    out = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    names = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "--services"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert {"postgres", "mosquitto", "api", "ingest", "scheduler"} <= set(names)
