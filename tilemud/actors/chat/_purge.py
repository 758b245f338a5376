"""Chat purge: deletes channel and direct messages older than their type's retention.

Owns:
    its schedule and counters (:class:`ChatPurgeStats`), across incarnations.
Started by:
    the chat supervisor, last. Restart type ``permanent``; its shutdown may be brutal: a
    purge cancelled mid-flight still commits in its storage thread, and the next one
    carries on.
Takes:
    no messages; it has no mailbox. ``ctx.started()`` at once, with no value.
Sends:
    one ``purge_chat`` to storage per run, with each channel type's cut-off (``now -
    retention``, :class:`~tilemud.social.chat_retention.RetentionPolicy`) and the direct
    messages' one. A message sent exactly at its cut-off is kept.
Timing:
    as the replay janitor (``tilemud.storage.janitor``): due every ``social.purge_interval``
    seconds of Trio time on a schedule anchored at the start of the incarnation, the first
    one interval after the start; the cut-offs are read from the wall clock once per run.
Errors:
    :class:`~tilemud.storage.StorageUnavailable` ends the run (counted, logged once per
    outage) and is retried at the next one; anything else is a bug, for the supervisor.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

import attrs
import trio

from tilemud.clock import utc_now
from tilemud.social.chat_retention import RetentionPolicy
from tilemud.storage import ChatPurge, StorageUnavailable
from tilemud.storage.janitor import run_on_schedule
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.chat")


class ChatPurgeStore(Protocol):
    """What the purge needs of storage (:class:`~tilemud.storage.ChatStorage` is one)."""

    async def purge_chat(
        self, *, before: Mapping[str, dt.datetime], direct_before: dt.datetime | None
    ) -> ChatPurge:
        """Delete what is older than its cut-off."""
        ...


@attrs.frozen(kw_only=True)
class ChatPurgeStats:
    """The purge's counters (from its creation).

    Attributes:
        runs: runs that ended (finished or cut short by an outage).
        failed_runs: runs cut short by an outage.
        chat_messages: channel messages deleted.
        direct_messages: direct messages deleted.
        last_success: wall-clock time of the last finished run.
    """

    runs: int = 0
    failed_runs: int = 0
    chat_messages: int = 0
    direct_messages: int = 0
    last_success: dt.datetime | None = None


class ChatJanitor:
    """The periodic chat purge; see the module docstring.

    Args:
        store: the storage client.
        retention: how long each channel type is kept.
        interval: seconds between runs.
        clock: the wall clock the cut-offs are read from (the one messages are stamped with).
    """

    def __init__(
        self,
        store: ChatPurgeStore,
        retention: RetentionPolicy,
        *,
        interval: float,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if interval <= 0:
            raise ValueError("the purge interval must be positive")
        self._store = store
        self._retention = retention
        self._interval = interval
        self._clock = clock
        self._stats = ChatPurgeStats()
        self._in_outage = False
        self._run_ended = trio.Event()

    def stats(self) -> ChatPurgeStats:
        """The counters, now."""
        return self._stats

    async def wait_for_runs(self, count: int) -> None:
        """Return once ``count`` runs have ended (for tests: a run's end is not visible)."""
        while self._stats.runs < count:
            await self._run_ended.wait()

    async def run(self, ctx: ChildContext) -> None:
        """Purge on schedule until cancelled or stopped."""
        await run_on_schedule(ctx, self._interval, self.purge_once)

    async def purge_once(self) -> ChatPurge | None:
        """One run now; None when the database was unavailable."""
        now = self._clock()
        stats = self._stats
        try:
            purged = await self._store.purge_chat(
                before=self._retention.channel_cutoffs(now),
                direct_before=self._retention.cutoff("direct", now),
            )
        except StorageUnavailable as exc:
            if not self._in_outage:
                log.warning("chat purge failed, database unavailable: %s", exc)
            self._in_outage = True
            self._ended(attrs.evolve(stats, runs=stats.runs + 1, failed_runs=stats.failed_runs + 1))
            return None
        if self._in_outage:
            log.info("chat purge works again")
            self._in_outage = False
        if purged.chat_messages or purged.direct_messages:
            log.info(
                "chat purge: %d channel and %d direct messages deleted",
                purged.chat_messages,
                purged.direct_messages,
            )
        self._ended(
            attrs.evolve(
                stats,
                runs=stats.runs + 1,
                chat_messages=stats.chat_messages + purged.chat_messages,
                direct_messages=stats.direct_messages + purged.direct_messages,
                last_success=now,
            )
        )
        return purged

    def _ended(self, stats: ChatPurgeStats) -> None:
        self._stats = stats
        self._run_ended.set()
        self._run_ended = trio.Event()
