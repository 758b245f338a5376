"""Bring a database's schema to the revision this tilemud needs (Alembic, no alembic.ini).

Policy, as ``tilemud serve`` applies it through :func:`check_schema`:

- SQLite (the embedded default, one node, the server owns the file): migrated to head at
  start, by the server itself.
- PostgreSQL (shared by several nodes): never migrated by ``serve``. A database behind
  stops the server with :class:`~tilemud.storage.SchemaOutOfDate` naming the fix,
  ``tilemud migrate``; one ahead (written by a newer tilemud) stops it too.

Every function here blocks: call it before ``trio.run`` or in a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import sqlalchemy.exc as sa_exc
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from tilemud.config import DatabaseSettings, Settings
from tilemud.storage._database import (
    backend_of,
    create_engine,
    database_url,
    first_line,
    redact,
)
from tilemud.storage._errors import SchemaOutOfDate, StorageUnavailable

log = logging.getLogger("tilemud.storage")

#: Where the migration scripts live (shipped as package data).
MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"

# Held for the migration's transaction, so two `tilemud migrate` on one database take turns.
_MIGRATION_LOCK: Final = int.from_bytes(b"tilemud", "big")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # New revisions as v<rev>_<slug>.py: a module name never starts with a digit.
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision this tilemud's schema is at (the newest migration)."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "no migrations are shipped"
    return revision


@contextlib.contextmanager
def _transaction(url: str, settings: DatabaseSettings | None) -> Iterator[Connection]:
    engine = create_engine(url, settings or DatabaseSettings())
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            yield conn
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        raise StorageUnavailable(
            f"database {redact(url)} unavailable: {first_line(exc.orig)}"
        ) from exc
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", *, settings: DatabaseSettings | None = None) -> None:
    """Migrate the database at ``url`` up to ``revision`` (head by default), in one transaction
    on PostgreSQL.

    Raises:
        StorageUnavailable: the database cannot be reached.
        SchemaOutOfDate: the database is at a revision this tilemud does not know.
    """
    with _transaction(url, settings) as conn, _known_revisions(url):
        command.upgrade(_config(conn), revision)


def downgrade(url: str, revision: str, *, settings: DatabaseSettings | None = None) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"``: no tables at all).

    Raises:
        StorageUnavailable: the database cannot be reached.
        SchemaOutOfDate: the database is at a revision this tilemud does not know.
    """
    with _transaction(url, settings) as conn, _known_revisions(url):
        command.downgrade(_config(conn), revision)


def current(url: str, *, settings: DatabaseSettings | None = None) -> str | None:
    """The database's schema revision; None for a database never migrated.

    Raises:
        StorageUnavailable: the database cannot be reached.
    """
    with _transaction(url, settings) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_up_to_date(url: str, *, settings: DatabaseSettings | None = None) -> bool:
    """Whether the database is at :func:`head`.

    Raises:
        StorageUnavailable: the database cannot be reached.
    """
    return current(url, settings=settings) == head()


def check_schema(settings: Settings) -> None:
    """Make sure the server's database has the schema it needs, or say how to get it.

    The embedded SQLite database is migrated to head here; PostgreSQL is only checked.

    Raises:
        SchemaOutOfDate: PostgreSQL is behind (run ``tilemud migrate``), or the database
            is ahead of this tilemud.
        StorageUnavailable: the database cannot be reached.
        ConfigError: ``database.url`` is malformed or of an unsupported backend.
    """
    url = database_url(settings)
    wanted = head()
    if backend_of(url) == "sqlite":
        upgrade(url, settings=settings.database)
        log.info("database schema at %s", wanted, extra={"database": redact(url)})
        return
    found = current(url, settings=settings.database)
    if found == wanted:
        return
    if found is not None and not _is_known(found):
        raise SchemaOutOfDate(
            f"the database {redact(url)} has schema revision {found}, newer than this tilemud"
            f" ({wanted}): run the tilemud version that migrated it"
        )
    raise SchemaOutOfDate(
        f"the database {redact(url)} is at schema revision {found or 'none (empty)'},"
        f" this tilemud needs {wanted}: run `tilemud migrate` with the same"
        " TILEMUD_DATABASE_URL, then start the server again"
    )


def _is_known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except CommandError:
        return False


@contextlib.contextmanager
def _known_revisions(url: str) -> Iterator[None]:
    try:
        yield
    except CommandError as exc:
        raise SchemaOutOfDate(f"cannot migrate {redact(url)}: {exc}") from exc


def new_revision(url: str, message: str) -> None:
    """Write a new migration into ``migrations/versions``, autogenerated from the tables
    against the database at ``url`` (which must be at head). For developers."""
    with _transaction(url, None) as conn:
        command.revision(_config(conn), message=message, autogenerate=True)
