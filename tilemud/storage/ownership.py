"""Who owns the live arenas of a database: one running node at a time.

A node brings back every arena its database holds as ``live`` and runs it. Two nodes on
one database would each run every such arena, each writing its own log of it (issue 11).
So a node takes the database's *live-arena lock* before its tree starts and holds it for
as long as the process lives; a second node on the same database finds the lock taken and
refuses to start, with one log line naming the holder and a non-zero exit.

- SQLite: an exclusive ``flock`` on ``<database file>.owner`` (``tilemud.sqlite3.owner`` in
  the data directory by default), held on an open file for the process's life. The kernel
  drops it when the process ends, ``kill -9`` included; the file keeps the holder's pid
  and host for the refusal's message.
- PostgreSQL: the session-level advisory lock :data:`LIVE_ARENAS_LOCK` taken with
  ``pg_try_advisory_lock`` on a dedicated autocommit connection (no transaction stays
  open on it), held until that connection closes. PostgreSQL drops it when the node's
  connection ends, a crash included. TCP keepalives bound how long a vanished node keeps it.

What is locked is "the live arenas of this database", not the database: the future cluster
(many nodes sharing one PostgreSQL, an arena on exactly one node) replaces this one lock
with per-arena (or per-region) leases in the shard directory; :func:`live_arena_lock` is
the one place that changes, and nothing else of the node knows how ownership is held.

All of this is synchronous and blocking (PostgreSQL connects over the network): the CLI
calls :meth:`LiveArenaLock.acquire` in a worker thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
from pathlib import Path
from typing import Final, Protocol

import psycopg
import sqlalchemy as sa

from tilemud.config import DatabaseSettings
from tilemud.storage._database import backend_of, redact
from tilemud.storage._errors import StorageError, StorageUnavailable

log = logging.getLogger("tilemud.storage")

#: The advisory lock key of "the live arenas of this database" (a signed 64-bit number
#: derived from its name, so that it cannot collide with another application's by chance).
LIVE_ARENAS_LOCK: Final = int.from_bytes(
    hashlib.sha256(b"tilemud:live-arenas").digest()[:8], "big", signed=True
)
#: The lock file's suffix, next to the SQLite database file.
OWNER_SUFFIX: Final = ".owner"


class LiveArenasOwned(StorageError):
    """Another running node holds the live arenas of this database: this one may not start."""

    code = "live_arenas_owned"


class LiveArenaLock(Protocol):
    """The lock on a database's live arenas, held by this node for its life."""

    def acquire(self) -> None:
        """Take the lock, or raise :class:`LiveArenasOwned` naming who holds it."""

    def release(self) -> None:
        """Give the lock up (idempotent); ending the process gives it up too."""


def holder_name() -> str:
    """How this node names itself to another that finds the lock taken."""
    return f"tilemud pid {os.getpid()} on {socket.gethostname()}"[:63]


class SqliteOwnerFile:
    """The live-arena lock of an embedded SQLite database: ``flock`` on a file beside it."""

    def __init__(self, database_file: Path) -> None:
        self.path = database_file.with_name(database_file.name + OWNER_SUFFIX)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 256, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise LiveArenasOwned(
                f"the live arenas of {self.path.with_suffix('')} are owned by a running"
                f" node ({holder}, lock {self.path}): stop it first, or give this node"
                " another data directory"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder_name().encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            # Closing the descriptor drops the flock; the file stays for the next node.
            os.close(self._fd)
            self._fd = None


class PostgresAdvisoryLock:
    """The live-arena lock of a PostgreSQL database: a session advisory lock."""

    def __init__(self, url: str, settings: DatabaseSettings) -> None:
        self._conninfo = (
            sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._url = redact(url)
        self._settings = settings
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def acquire(self) -> None:
        try:
            connection = psycopg.connect(
                self._conninfo,
                autocommit=True,  # the lock is the session's: no transaction stays open
                connect_timeout=max(1, round(self._settings.connect_timeout)),
                application_name=holder_name(),
                # A node that vanished without closing gives the lock up within a minute.
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=4,
            )
        except psycopg.OperationalError as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise StorageUnavailable(f"database {self._url} unreachable: {detail}") from exc
        try:
            row = connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (LIVE_ARENAS_LOCK,)
            ).fetchone()
            if row is None or row[0] is not True:
                holder = self._holder(connection)
                raise LiveArenasOwned(
                    f"the live arenas of {self._url} are owned by a running node ({holder},"
                    f" advisory lock {LIVE_ARENAS_LOCK}): stop it first, or give this node"
                    " another database"
                )
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def _holder(self, connection: psycopg.Connection[tuple[object, ...]]) -> str:
        # Advisory locks on a bigint key show as classid (high 32 bits), objid (low 32).
        key = LIVE_ARENAS_LOCK & 0xFFFFFFFFFFFFFFFF
        row = connection.execute(
            "SELECT a.application_name, a.client_addr::text, l.pid"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid::bigint = %s AND l.objid::bigint = %s"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchone()
        if row is None:
            return "another node"
        application, address, pid = row
        return f"{application or 'a session'} from {address or 'a local socket'}, backend {pid}"

    def release(self) -> None:
        if self._connection is not None:
            # Closing the session releases its advisory locks.
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None


def live_arena_lock(url: str, settings: DatabaseSettings) -> LiveArenaLock | None:
    """The lock on the live arenas of the database at ``url`` (as ``resolve_url`` returns
    it); None for an in-memory SQLite database, which no other process can open."""
    if backend_of(url) == "postgresql":
        return PostgresAdvisoryLock(url, settings)
    database = sa.make_url(url).database
    if not database or database == ":memory:":
        return None
    return SqliteOwnerFile(Path(database).resolve())
