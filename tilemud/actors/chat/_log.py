"""Chat log: writes channel messages to storage behind the conversation (write-behind).

Owns:
    the bounded buffer of channel messages not yet stored, and its counters
    (:class:`ChatLogStats`), across incarnations (they belong to the :class:`ChatLog`
    object, like a mailbox).
Started by:
    the chat supervisor, before the channels (they offer to it). Restart type
    ``permanent``; graceful shutdown: it writes what it holds, for at most the grace.
Takes:
    :meth:`ChatLog.offer`, synchronous and never blocking, from channel actors' tasks: a
    full buffer refuses the message (counted in ``refused``). The message was still
    delivered: only its place in the history is lost. No mailbox besides the buffer.
Sends:
    ``record_chat_messages`` to storage, one batch at a time (group commit: what arrives
    while a batch is written goes in the next). A database outage keeps the batch and
    retries it after ``retry_after`` seconds.
"""

from __future__ import annotations

import collections
import itertools
import logging
from collections.abc import Sequence
from typing import Final, Protocol

import attrs
import trio

from tilemud.mailbox import Doorbell
from tilemud.storage import ChatMessageRecord, StorageUnavailable
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.chat")

#: Messages written per transaction.
LOG_BATCH: Final = 500
#: Seconds before a batch refused by an outage is written again.
RETRY_AFTER: Final = 1.0
#: Seconds a graceful stop spends writing what is left.
FINAL_FLUSH: Final = 5.0
#: Seconds between two looks at ``ctx.stopping`` while idle.
STOP_CHECK: Final = 0.5


class ChatWriter(Protocol):
    """Where channel messages go (a :class:`~tilemud.actors.chat._store.ChatStore`)."""

    async def record_chat_messages(self, messages: Sequence[ChatMessageRecord]) -> int:
        """Store messages (known ids skipped)."""
        ...


@attrs.frozen(kw_only=True)
class ChatLogStats:
    """The chat log's counters (from its creation).

    Attributes:
        written: messages committed.
        backlog: messages waiting now.
        refused: messages offered while the buffer was full (delivered, not stored).
        failures: batches that failed on an outage (retried).
    """

    written: int
    backlog: int
    refused: int
    failures: int


class ChatLog:
    """The write-behind buffer of channel messages; see the module docstring.

    Args:
        writer: the store.
        capacity: the most messages waiting.
        batch: the most messages per transaction.
    """

    def __init__(
        self, writer: ChatWriter, *, capacity: int = 10_000, batch: int = LOG_BATCH
    ) -> None:
        if capacity < 1 or batch < 1:
            raise ValueError("the chat log must hold and write at least one message")
        self._writer = writer
        self._capacity = capacity
        self._batch = batch
        self._pending: collections.deque[ChatMessageRecord] = collections.deque()
        self._bell = Doorbell()
        self._written = 0
        self._refused = 0
        self._failures = 0
        self._settled = trio.Event()

    def offer(self, message: ChatMessageRecord) -> bool:
        """Buffer a message to store; never blocks. False when the buffer is full."""
        if len(self._pending) >= self._capacity:
            self._refused += 1
            return False
        self._pending.append(message)
        self._bell.ring()
        return True

    def stats(self) -> ChatLogStats:
        """The counters, now."""
        return ChatLogStats(
            written=self._written,
            backlog=len(self._pending),
            refused=self._refused,
            failures=self._failures,
        )

    async def wait_settled(self) -> None:
        """Return once nothing is waiting (for tests and a final flush)."""
        while self._pending:
            await self._settled.wait()

    async def run(self, ctx: ChildContext) -> None:
        """Write batches until stopped; on a graceful stop, write what is left first."""
        ctx.started()
        while not ctx.stopping.is_set():
            await self._write_all(ctx.stopping)
            # Wakes for new messages, and now and then to see whether a stop began.
            with trio.move_on_after(STOP_CHECK):
                await self._bell.wait()
        with trio.move_on_after(FINAL_FLUSH):
            await self._write_all(ctx.stopping)

    async def _write_all(self, stopping: trio.Event) -> None:
        while self._pending:
            batch = list(itertools.islice(self._pending, self._batch))
            try:
                await self._writer.record_chat_messages(batch)
            except StorageUnavailable as exc:
                self._failures += 1
                if stopping.is_set():
                    log.warning("chat log: %d messages not stored: %s", len(self._pending), exc)
                    return
                await trio.sleep(RETRY_AFTER)
                continue
            for _ in batch:
                self._pending.popleft()
            self._written += len(batch)
        self._settled.set()
        self._settled = trio.Event()
