"""Storage actor: the one owner of the database, its threads and the write-behind buffer.

Owns:
    the engine (:class:`~tilemud.storage._database.Database`, one per incarnation), the
    ``CapacityLimiter`` of its worker threads, and, across incarnations, its mailbox and
    the write-behind buffer (:class:`~tilemud.storage._write_behind.WriteBehind`) with the
    counters (:class:`StorageStats`).
Started by:
    the root supervisor, first (docs/architecture.md: what depends on storage restarts
    when it dies). Restart type ``permanent``; give it a graceful ``shutdown`` so the final
    flush can finish. ``ctx.started`` hands over its :class:`StorageClient`.
Takes (:data:`StorageMessage`):
    ``Transact`` (ask): run one operation (a repository call) in one transaction on a
    worker thread; answered after the commit, or with the error. ``FlushWriteBehind``
    (ask): answered once every row buffered before it is committed. Callers use the
    :class:`StorageClient` methods, which build these.
Sends:
    only answers, with ``Reply.send`` (never blocks on a caller).
Mailbox:
    ``database.mailbox`` requests (default 256), :attr:`Overflow.BLOCK`: callers wait for
    room, within their own timeouts. Write-behind rows do not go through the mailbox: they
    go into the bounded buffer, which refuses (and counts) rows when full.

Threads. psycopg's async API is asyncio-only, so all database work is synchronous, in
``trio.to_thread.run_sync`` with the actor's ``CapacityLimiter``: ``database.threads`` on
PostgreSQL (also the pool size), 1 on SQLite (one writer at a time). A thread cannot be
cancelled from Trio: a caller that gives up stops waiting, but its transaction runs on to
its end, bounded on PostgreSQL by ``SET LOCAL statement_timeout`` at the start of every
transaction (:class:`StatementTimeout`).

Write-behind. Rows are written when ``database.flush_rows`` are waiting, when the oldest
has waited ``database.flush_interval`` seconds, or at once when someone asks for a flush;
at most ``flush_rows`` rows per transaction. While the database is down a batch is
retried with a backoff in Trio time (0.1 s doubling up to ``database.retry_max``), rows
stay buffered, and requests fail at once with :class:`StorageUnavailable` whose
``retry_after`` is the current backoff. A batch the database refuses (a constraint: rows
of an unknown arena) is written again arena by arena; the rows of an arena still refused
are counted in ``rows_rejected`` and logged. Any other database error is a bug (bad SQL):
it crashes the actor, and the supervisor's intensity decides. A graceful stop flushes the
buffer first; rows still buffered when the process ends (the database down at shutdown,
a crash of the process) are lost; a stop with the database down logs how many.

Requests always try the database: against a refused port they fail in milliseconds, against
a host that does not answer within ``database.connect_timeout``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, assert_never

import trio
from sqlalchemy.engine import Connection

from tilemud.clock import utc_now
from tilemud.config import DatabaseSettings
from tilemud.mailbox import Mailbox, Overflow, open_mailbox
from tilemud.storage._client import StorageClient
from tilemud.storage._database import Database, resolve_url
from tilemud.storage._errors import RecordRejected, StorageUnavailable
from tilemud.storage._messages import Answer, FlushWriteBehind, StorageMessage, Transact
from tilemud.storage._records import PlayerSeen
from tilemud.storage._repo_log import (
    append_placements,
    record_events,
    record_participants,
    record_tick_checksums,
    save_snapshot,
)
from tilemud.storage._repo_rounds import start_round
from tilemud.storage._repo_world import end_arena, upsert_players
from tilemud.storage._write_behind import PendingRow, StorageStats, WriteBehind, split_rows
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.storage")

#: First pause before a failed write-behind batch is retried, seconds of Trio time.
FIRST_RETRY: Final = 0.1
#: How long closing the pool may take when the actor ends, seconds.
_DISPOSE_GRACE: Final = 5.0


class StorageActor:
    """The storage actor; see the module docstring.

    Args:
        settings: the ``[database]`` settings.
        data_dir: where the embedded SQLite file lives when ``settings.url`` is unset.
        clock: the wall clock timestamps are read from (timezone-aware UTC).

    Raises:
        ConfigError: ``settings.url`` is malformed or of an unsupported backend.
    """

    def __init__(
        self,
        settings: DatabaseSettings,
        *,
        data_dir: Path,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self._url = resolve_url(settings.url, data_dir)
        self._mailbox: Mailbox[StorageMessage] = open_mailbox(
            "storage", settings.mailbox, Overflow.BLOCK
        )
        self._buffer = WriteBehind(settings.buffer_rows)
        self._clock = clock
        self.client = StorageClient(self._mailbox.ref, self._buffer, clock)

    def stats(self) -> StorageStats:
        """The counters, now."""
        return self._buffer.stats()

    async def run(self, ctx: ChildContext) -> None:
        """Serve requests and write buffered rows until a graceful stop, then flush."""
        db = Database(self._url, self.settings)
        limiter = trio.CapacityLimiter(db.threads)
        log.debug("storage starting", extra={"database": db.url, "threads": db.threads})
        try:
            async with trio.open_nursery() as nursery:
                for _ in range(db.threads):
                    nursery.start_soon(self._serve_requests, db, limiter)
                nursery.start_soon(self._ring_when_stopping, ctx.stopping)
                ctx.started(self.client)
                await self._write_behind(db, limiter, ctx.stopping)
                nursery.cancel_scope.cancel()
        finally:
            self._buffer.fail_waiters(StorageUnavailable("the storage actor stopped"))
            with trio.move_on_after(_DISPOSE_GRACE, shield=True):
                await trio.to_thread.run_sync(db.dispose)

    async def _ring_when_stopping(self, stopping: trio.Event) -> None:
        await stopping.wait()
        self._buffer.doorbell.ring()

    async def _serve_requests(self, db: Database, limiter: trio.CapacityLimiter) -> None:
        while True:
            message = await self._mailbox.inbox.receive()
            match message:
                case Transact():
                    await self._transact(db, limiter, message)
                case FlushWriteBehind():
                    self._buffer.wait_for_flush(message.reply)
                case _:
                    assert_never(message)

    async def _transact(self, db: Database, limiter: trio.CapacityLimiter, msg: Transact) -> None:
        try:
            value = await trio.to_thread.run_sync(db.run, msg.operation, limiter=limiter)
        except StorageUnavailable as exc:
            self._buffer.failures += 1
            if self._buffer.outage_backoff is not None:
                exc.retry_after = max(exc.retry_after, self._buffer.outage_backoff)
            msg.reply.send(Answer(error=exc))
        except Exception as exc:
            # The operation's own error (or a refused row): the caller's to handle.
            msg.reply.send(Answer(error=exc))
        else:
            msg.reply.send(Answer(value=value))

    async def _wait_for_batch(self, stopping: trio.Event) -> None:
        """Return when rows should be written now, or when stopping."""
        buffer, settings = self._buffer, self.settings
        while not buffer.backlog and not stopping.is_set():
            await buffer.doorbell.wait()
        with trio.move_on_at(buffer.oldest_at + settings.flush_interval):
            while (
                buffer.backlog < settings.flush_rows
                and not buffer.flush_wanted
                and not stopping.is_set()
            ):
                await buffer.doorbell.wait()

    async def _write_behind(
        self, db: Database, limiter: trio.CapacityLimiter, stopping: trio.Event
    ) -> None:
        """Write buffered rows in batches until stopping and the buffer is empty."""
        buffer = self._buffer
        backoff = FIRST_RETRY
        while True:
            await self._wait_for_batch(stopping)
            if not buffer.backlog:
                if stopping.is_set():
                    return
                continue
            batch = buffer.peek(self.settings.flush_rows)
            try:
                await self._write_batch(db, limiter, batch)
            except StorageUnavailable as exc:
                buffer.failures += 1
                buffer.fail_waiters(StorageUnavailable(str(exc), retry_after=backoff))
                if stopping.is_set():
                    log.error(
                        "storage stopping with %d rows not written: %s",
                        buffer.backlog,
                        exc,
                        extra={"backlog": buffer.backlog},
                    )
                    return
                if self._buffer.outage_backoff is None:
                    log.warning(
                        "database unavailable; %d rows buffered, retrying: %s",
                        buffer.backlog,
                        exc,
                        extra={"backlog": buffer.backlog},
                    )
                self._buffer.outage_backoff = backoff
                with trio.move_on_after(backoff):
                    await stopping.wait()
                backoff = min(backoff * 2, self.settings.retry_max)
                continue
            if self._buffer.outage_backoff is not None:
                log.info("database available again", extra={"backlog": buffer.backlog})
            self._buffer.outage_backoff = None
            backoff = FIRST_RETRY

    async def _write_batch(
        self, db: Database, limiter: trio.CapacityLimiter, batch: Sequence[PendingRow]
    ) -> None:
        """Commit ``batch`` and settle it; arena by arena if the database refuses it whole.

        Raises:
            StorageUnavailable: the database is down; nothing was settled.
        """
        try:
            write = functools.partial(_write_rows, batch, self._clock())
            await trio.to_thread.run_sync(db.run, write, limiter=limiter)
        except RecordRejected:
            pass
        else:
            self._buffer.settle(len(batch), written=len(batch))
            return
        by_arena: dict[str, list[PendingRow]] = {}
        for row in batch:
            # Player rows belong to no arena: they go in a group of their own.
            by_arena.setdefault("" if isinstance(row, PlayerSeen) else row.arena_id, []).append(row)
        written = rejected = 0
        for arena_id, rows in by_arena.items():
            try:
                await trio.to_thread.run_sync(
                    db.run, functools.partial(_write_rows, rows, self._clock()), limiter=limiter
                )
            except RecordRejected as exc:
                rejected += len(rows)
                log.error(
                    "database refused %d rows of arena %s; they are not stored: %s",
                    len(rows),
                    arena_id,
                    exc,
                    extra={"arena_id": arena_id},
                )
            else:
                written += len(rows)
        self._buffer.settle(len(batch), written=written, rejected=rejected)


def _write_rows(rows: Sequence[PendingRow], at: dt.datetime, conn: Connection) -> int:
    """Write one batch in one transaction; parents first (players, then the arena's log)."""
    batch = split_rows(rows)
    # A round's row first (its log refers to it), its end last (after its last ticks).
    for start in batch.round_starts:
        start_round(conn, start, at=at)
    for snapshot in batch.snapshots:
        save_snapshot(conn, snapshot, at=at)
    written = (
        upsert_players(conn, batch.players)
        + record_participants(conn, batch.participants)
        + append_placements(conn, batch.placements)
        + record_tick_checksums(conn, batch.checksums)
        + record_events(conn, batch.events)
        + len(batch.snapshots)
    )
    for end in batch.round_ends:
        end_arena(conn, arena_id=end.arena_id, at=at, result=end.result)
    return written + len(batch.round_starts) + len(batch.round_ends)
