"""The database a server uses: which URL, the engine, and one transaction per request.

``database.url`` unset means the embedded SQLite file ``<data_dir>/tilemud.sqlite3`` (WAL
journal, foreign keys on, one connection at a time: SQLite has one writer anyway).
``postgresql://`` and ``postgres://`` URLs go through psycopg 3 (``postgresql+psycopg``);
other backends are refused.

All of this is synchronous and blocking: the storage actor calls it in worker threads
(``trio.to_thread.run_sync`` with a ``CapacityLimiter``), never in the Trio thread.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from psycopg import errors as pg_errors
from sqlalchemy.engine import Connection, Engine

from tilemud.config import DatabaseSettings, Settings
from tilemud.errors import ConfigError
from tilemud.storage._errors import RecordRejected, StatementTimeout, StorageUnavailable

log = logging.getLogger("tilemud.storage")

T = TypeVar("T")
Backend: TypeAlias = Literal["sqlite", "postgresql"]

#: Words of SQLite errors that are about the file's state (worth a retry), not a bug.
_SQLITE_TRANSIENT: Final = ("locked", "busy", "disk i/o", "unable to open", "readonly", "full")

#: The embedded database's file name inside ``server.data_dir``.
SQLITE_FILE: Final = "tilemud.sqlite3"


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL of the server's database (the embedded SQLite file by default)."""
    return resolve_url(settings.database.url, settings.server.data_dir)


def resolve_url(url: str | None, data_dir: Path) -> str:
    """Normalise ``url``; None means ``sqlite:///<data_dir>/tilemud.sqlite3``.

    Raises:
        ConfigError: the URL is malformed or names a backend tilemud does not support.
    """
    if url is None:
        return f"sqlite:///{data_dir / SQLITE_FILE}"
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError as exc:
        raise ConfigError(f"database.url is not a database URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return url
    raise ConfigError(
        f"database.url: unsupported backend {parsed.drivername!r}"
        " (use postgresql+psycopg://... or sqlite:///...)"
    )


def backend_of(url: str) -> Backend:
    """Which backend a URL (as :func:`resolve_url` returns it) names."""
    return "postgresql" if sa.make_url(url).get_backend_name() == "postgresql" else "sqlite"


def redact(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return sa.make_url(url).render_as_string(hide_password=True)


def create_engine(url: str, settings: DatabaseSettings, *, pool_size: int = 1) -> Engine:
    """An engine for ``url`` with tilemud's connection settings.

    SQLite: the file's directory is created; every connection gets foreign keys on, the
    WAL journal and a busy timeout, and transactions really begin at ``BEGIN`` (pysqlite's
    own transaction handling would leave reads outside them). PostgreSQL: psycopg 3, a
    pool of ``pool_size`` connections checked before use, ``connect_timeout``.
    """
    if backend_of(url) == "postgresql":
        return sa.create_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_pre_ping=True,
            pool_timeout=settings.connect_timeout,
            connect_args={"connect_timeout": max(1, math.ceil(settings.connect_timeout))},
        )
    database = sa.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=0)
    busy_ms = settings.statement_timeout_ms

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # autocommit: BEGIN is ours (see "begin")
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


class Database:
    """An engine and the way every request uses it: one transaction, errors made typed.

    Args:
        url: a URL as :func:`resolve_url` returns it.
        settings: the ``[database]`` settings.
    """

    def __init__(self, url: str, settings: DatabaseSettings) -> None:
        self.backend: Backend = backend_of(url)
        #: Queries that may run at once: SQLite allows one writer, so one.
        self.threads = settings.threads if self.backend == "postgresql" else 1
        self.settings = settings
        self.url = redact(url)
        self.engine = create_engine(url, settings, pool_size=self.threads)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success, rolled back on error.

        On PostgreSQL it starts with ``SET LOCAL statement_timeout``: a query stuck in a
        worker thread cannot be cancelled from Trio, but the server cancels it.
        """
        with self.engine.begin() as conn:
            if self.backend == "postgresql":
                timeout = int(self.settings.statement_timeout_ms)
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout}")
            yield conn

    def run(self, operation: Callable[[Connection], T]) -> T:
        """Run ``operation`` in one transaction; blocking (call it in a worker thread).

        Raises:
            StatementTimeout: a statement ran over ``statement_timeout_ms``.
            StorageUnavailable: the database cannot be reached or the connection broke.
            RecordRejected: a constraint failed or a value does not fit its column.
            Exception: whatever ``operation`` raised itself.
        """
        try:
            with self.transaction() as conn:
                return operation(conn)
        except sa_exc.DBAPIError as exc:
            typed = self.typed_error(exc)
            if typed is exc:
                raise
            raise typed from exc
        except sa_exc.TimeoutError as exc:  # no pooled connection came free in time
            raise StorageUnavailable(f"database {self.url}: {exc}") from exc

    def typed_error(self, exc: sa_exc.DBAPIError) -> Exception:
        """The storage error a database error means (or ``exc`` itself: a bug)."""
        if isinstance(exc.orig, pg_errors.QueryCanceled):
            ms = self.settings.statement_timeout_ms
            return StatementTimeout(f"a statement ran over {ms} ms and was cancelled")
        if isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError):
            return RecordRejected(f"the database refused the rows: {first_line(exc.orig)}")
        transient = isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
        if transient and self.backend == "sqlite":
            # SQLite raises OperationalError for bad SQL too: only these are the file's state.
            transient = any(word in str(exc.orig).lower() for word in _SQLITE_TRANSIENT)
        if transient or exc.connection_invalidated:
            return StorageUnavailable(f"database {self.url} unavailable: {first_line(exc.orig)}")
        return exc

    def dispose(self) -> None:
        """Close every pooled connection; blocking."""
        self.engine.dispose()


def first_line(exc: BaseException | None) -> str:
    """The first line of an error's message (psycopg's run over several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
