"""`xborder migrate`: Alembic, programmatically, over every package's migration branch."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from kernel.db import normalise_url

ROOT = Path(__file__).resolve().parent.parent
VERSION_DIRS = [
    ROOT / "kernel" / "migrations" / "versions",
    ROOT / "logistics" / "migrations" / "versions",
    ROOT / "warehouse" / "migrations" / "versions",
]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    cfg.set_main_option("version_locations", " ".join(str(p) for p in VERSION_DIRS if p.exists()))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, engine: Engine | None = None) -> None:
    cfg = alembic_config(url)
    if engine is not None:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "heads")
    else:
        command.upgrade(cfg, "heads")


def revision(url: str, message: str, branch: str, autogenerate: bool = True) -> None:
    """Developer helper: a new migration on one package's branch (`kernel`, `logistics`, `warehouse`)."""
    cfg = alembic_config(url)
    command.revision(cfg, message=message, autogenerate=autogenerate, head=f"{branch}@head")
