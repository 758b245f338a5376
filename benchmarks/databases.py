"""Where a benchmarked server keeps its state: ``sqlite`` (the default), ``postgres`` (a
database of its own on the local PostgreSQL, created, migrated and dropped around the run)
or ``none`` (``database.durable`` off: nothing stored, the baseline)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import psycopg
import sqlalchemy as sa
from psycopg import sql

from tilemud.storage import migrate

STORAGE_CHOICES: Final = ("sqlite", "postgres", "none")

#: The maintenance database the throwaway benchmark database is created from.
ADMIN_URL: Final = os.environ.get(
    "TILEMUD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def server_storage(choice: str) -> Iterator[dict[str, str]]:
    """The ``TILEMUD_*`` settings for ``choice``, with its database ready for the run."""
    if choice == "sqlite":
        yield {}
    elif choice == "none":
        yield {"TILEMUD_DATABASE_DURABLE": "false"}
    elif choice == "postgres":
        with throwaway_database(ADMIN_URL, prefix="tilemud_bench") as url:
            yield {"TILEMUD_DATABASE_URL": url}
    else:
        raise ValueError(f"storage must be one of {STORAGE_CHOICES}, not {choice!r}")


@contextmanager
def throwaway_database(admin_url: str, *, prefix: str, migrated: bool = True) -> Iterator[str]:
    """A new database on the server of ``admin_url``, migrated to head (or left empty);
    dropped after.

    Yields:
        Its SQLAlchemy URL (psycopg 3).
    """
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = (
        sa.make_url(admin_url)
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )
    try:
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
