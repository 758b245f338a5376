"""The write-behind buffer: hot-path rows waiting for the storage actor to write them.

Arenas hand over accepted placements and tick checksums without waiting
(:meth:`WriteBehind.offer`); the storage actor writes them in batches. The buffer is
bounded: rows offered while it is full are refused and counted (the offer returns False,
so the caller knows they are not stored), never dropped silently. Rows leave the buffer
only once their batch is committed (or refused by the database, counted and logged), so
a database outage or a restart of the storage actor keeps them: the buffer belongs to the
:class:`~tilemud.storage.StorageActor` object, like its mailbox, not to an incarnation.

Rows that carry an acknowledgement (an arena's accepted placements, whose ``place_result``
is held until they are stored) are offered with ``on_durable``: the writer then writes at
once instead of waiting for ``flush_interval``, and the callback runs once they are
settled. While a batch is being written, later rows gather, so the next transaction takes
all of them (group commit): the latency is one commit, the throughput grows with the load.

Everything here runs in the Trio thread, between checkpoints: no lock is needed.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias, assert_never

import attrs
import trio

from tilemud.mailbox import Doorbell, Reply
from tilemud.storage._errors import StorageUnavailable
from tilemud.storage._messages import Answer
from tilemud.storage._records import (
    ArenaEvent,
    ParticipantRecord,
    PlacementRecord,
    PlayerSeen,
    RoundEnd,
    RoundStart,
    Snapshot,
    TickChecksum,
)

#: A row the write-behind path carries.
PendingRow: TypeAlias = (
    PlacementRecord
    | TickChecksum
    | Snapshot
    | ParticipantRecord
    | PlayerSeen
    | RoundStart
    | RoundEnd
    | ArenaEvent
)


@attrs.frozen(kw_only=True)
class StorageStats:
    """The storage actor's counters, read at one instant (all from process start).

    Attributes:
        rows_written: write-behind rows committed.
        batches: write-behind transactions committed.
        backlog: rows in the buffer now, not yet committed.
        largest_backlog: the most rows the buffer ever held.
        rows_refused: rows offered while the buffer was full (not taken; the caller was told).
        rows_rejected: rows the database refused (a constraint failed); logged and gone.
        failures: transactions that failed because the database was unavailable or too
            slow: write-behind batches (retried) and requests (answered with the error).
    """

    rows_written: int
    batches: int
    backlog: int
    largest_backlog: int
    rows_refused: int
    rows_rejected: int
    failures: int


class WriteBehind:
    """The bounded buffer of rows to write, its counters, and who waits for a flush.

    Args:
        capacity: the most rows it holds.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the write-behind buffer must hold at least one row")
        self.capacity = capacity
        self._rows: collections.deque[PendingRow] = collections.deque()
        #: Rung when rows arrive, a flush is asked for, or the actor is stopping.
        self.doorbell = Doorbell()
        #: Trio time at which the oldest buffered row arrived (valid while rows wait).
        self.oldest_at = 0.0
        self._offered = 0  # rows ever taken
        self._settled = 0  # rows ever committed or rejected
        self._waiters: list[tuple[int, Reply[Answer]]] = []
        self._on_durable: list[tuple[int, Callable[[], None]]] = []
        self.rows_written = 0
        self.batches = 0
        self.largest_backlog = 0
        self.rows_refused = 0
        self.rows_rejected = 0
        self.failures = 0
        #: While the database is down: the writer's current pause between retries, which
        #: is also what callers are told to wait (``retry_after``); None while it is up.
        self.outage_backoff: float | None = None

    @property
    def backlog(self) -> int:
        """Rows waiting to be committed."""
        return len(self._rows)

    @property
    def room(self) -> int:
        """Rows the buffer can still take."""
        return self.capacity - len(self._rows)

    @property
    def settled(self) -> int:
        """Rows ever committed (or refused by the database): every :meth:`offer` position
        up to this one is settled."""
        return self._settled

    @property
    def flush_wanted(self) -> bool:
        """Someone waits for the rows buffered so far to be committed."""
        return bool(self._waiters or self._on_durable)

    def offer(
        self, rows: Sequence[PendingRow], *, on_durable: Callable[[], None] | None = None
    ) -> int | None:
        """Take ``rows`` if they all fit; never blocks.

        Args:
            rows: the rows, in the order they must be written.
            on_durable: called (in the storage actor's task, so it must not block) once
                these rows are settled; giving it asks for a write at once.

        Returns:
            The position of the last row taken: once :attr:`settled` reaches it, the rows
            are committed. None when the buffer has no room for all of them: none is
            taken, they are counted in ``rows_refused``, and the caller still holds them.
        """
        if not rows:
            return self._offered
        if len(self._rows) + len(rows) > self.capacity:
            self.rows_refused += len(rows)
            return None
        if not self._rows:
            self.oldest_at = trio.current_time()
        self._rows.extend(rows)
        self._offered += len(rows)
        self.largest_backlog = max(self.largest_backlog, len(self._rows))
        if on_durable is not None:
            self._on_durable.append((self._offered, on_durable))
        self.doorbell.ring()
        return self._offered

    def peek(self, limit: int) -> list[PendingRow]:
        """The oldest ``limit`` rows, left in the buffer until :meth:`settle`."""
        return list(itertools.islice(self._rows, limit))

    def settle(self, count: int, *, written: int, rejected: int = 0) -> None:
        """Drop the oldest ``count`` rows: committed (``written``) or refused by the database.

        Answers the flush waiters whose rows are all settled now.
        """
        for _ in range(count):
            self._rows.popleft()
        self._settled += count
        self.rows_written += written
        self.rows_rejected += rejected
        if written:
            self.batches += 1
        still_waiting = []
        for target, reply in self._waiters:
            if target <= self._settled:
                reply.send(Answer())
            else:
                still_waiting.append((target, reply))
        self._waiters = still_waiting
        # Offered in order, so the settled ones are a prefix.
        done = 0
        for target, callback in self._on_durable:
            if target > self._settled:
                break
            callback()
            done += 1
        del self._on_durable[:done]

    def wait_for_flush(self, reply: Reply[Answer]) -> None:
        """Answer ``reply`` once every row buffered now is settled (at once if none waits)."""
        if self._settled >= self._offered:
            reply.send(Answer())
            return
        self._waiters.append((self._offered, reply))
        self.doorbell.ring()

    def fail_waiters(self, error: StorageUnavailable) -> None:
        """Answer every flush waiter with ``error`` (the database is down, or we stop).

        ``on_durable`` callbacks keep waiting: their rows are retried until written.
        """
        waiters, self._waiters = self._waiters, []
        for _, reply in waiters:
            reply.send(Answer(error=error))

    def stats(self) -> StorageStats:
        """The counters, now."""
        return StorageStats(
            rows_written=self.rows_written,
            batches=self.batches,
            backlog=self.backlog,
            largest_backlog=self.largest_backlog,
            rows_refused=self.rows_refused,
            rows_rejected=self.rows_rejected,
            failures=self.failures,
        )


@attrs.define
class RowsByKind:
    """A batch of buffered rows sorted by table, each list in buffer order."""

    placements: list[PlacementRecord] = attrs.field(factory=list)
    checksums: list[TickChecksum] = attrs.field(factory=list)
    snapshots: list[Snapshot] = attrs.field(factory=list)
    participants: list[ParticipantRecord] = attrs.field(factory=list)
    players: list[PlayerSeen] = attrs.field(factory=list)
    round_starts: list[RoundStart] = attrs.field(factory=list)
    round_ends: list[RoundEnd] = attrs.field(factory=list)
    events: list[ArenaEvent] = attrs.field(factory=list)


def split_rows(rows: Iterable[PendingRow]) -> RowsByKind:
    """The rows of a batch by table, each in buffer order."""
    by_kind = RowsByKind()
    for row in rows:
        match row:
            case PlacementRecord():
                by_kind.placements.append(row)
            case TickChecksum():
                by_kind.checksums.append(row)
            case Snapshot():
                by_kind.snapshots.append(row)
            case ParticipantRecord():
                by_kind.participants.append(row)
            case PlayerSeen():
                by_kind.players.append(row)
            case RoundStart():
                by_kind.round_starts.append(row)
            case RoundEnd():
                by_kind.round_ends.append(row)
            case ArenaEvent():
                by_kind.events.append(row)
            case _:
                assert_never(row)
    return by_kind
