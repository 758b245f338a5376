"""What every storage face shares: the storage actor's mailbox, its buffer and its clock.

The storage actor hands out one :class:`~tilemud.storage.StorageClient`, a bundle of one
face per domain (arenas and replays, chat and direct messages, guilds, players) over the
same actor. Each face is a :class:`StorageLink`; callers get only the face they need.

Two paths:

- **Critical** (``await``): each method sends one ``Transact`` ask and returns after the
  transaction committed (or raises). The caller sets the timeout (``trio.fail_after``);
  a caller that gives up does not stop a transaction already running in its thread.
- **Write-behind** (no ``await``): the ``record_*`` methods put rows into the bounded
  buffer and return at once: the rows' position (committed once ``settled`` reaches it),
  or None when the buffer was full and the rows were not taken (counted in
  ``rows_refused``). :meth:`StorageLink.flush` waits until what was buffered is committed.

Errors: :class:`StorageUnavailable` (``code`` ``unavailable``, with ``retry_after``; also
:class:`StatementTimeout`), :class:`RecordNotFound`, :class:`RecordRejected`; a full or
closed mailbox raises :class:`~tilemud.errors.ActorGone` as any ``ask`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar, cast

from sqlalchemy.engine import Connection

from tilemud.mailbox import Ref
from tilemud.storage._messages import Answer, FlushWriteBehind, StorageMessage, Transact
from tilemud.storage._write_behind import WriteBehind

T = TypeVar("T")


def _raise_or_return(answer: Answer) -> object:
    if answer.error is not None:
        raise answer.error
    return answer.value


class StorageLink:
    """One face of the storage actor: transactions, the flush, the clock.

    Args:
        ref: the storage actor's mailbox.
        buffer: its write-behind buffer.
        clock: the wall clock timestamps are read from (timezone-aware UTC).
    """

    def __init__(
        self,
        ref: Ref[StorageMessage],
        buffer: WriteBehind,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._ref = ref
        self._buffer = buffer
        self._clock = clock

    async def transact(self, operation: Callable[[Connection], T]) -> T:
        """Run ``operation(conn)`` in one transaction on a storage thread; after the commit,
        return what it returned.

        ``operation`` must be synchronous and touch nothing but ``conn``: it runs in a
        worker thread. The repository functions of :mod:`tilemud.storage` are such.

        Raises:
            StorageUnavailable: the database is down or too slow; nothing was committed
                (or, rarely, the commit went through but its answer was lost: every
                repository write is idempotent, so retrying is safe).
            RecordRejected: a constraint failed.
            Exception: whatever ``operation`` raised.
        """
        answer: Answer = await self._ref.ask(
            lambda reply: Transact(operation=operation, reply=reply)
        )
        return cast(T, _raise_or_return(answer))

    async def flush(self) -> None:
        """Wait until every write-behind row buffered before this call is committed.

        Raises:
            StorageUnavailable: a write failed meanwhile (the rows stay buffered and are
                retried; call again to wait for them).
        """
        _raise_or_return(await self._ref.ask(lambda reply: FlushWriteBehind(reply=reply)))

    def now(self) -> dt.datetime:
        """The wall clock the storage timestamps come from (timezone-aware UTC)."""
        return self._clock()
