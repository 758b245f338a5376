"""Replay janitor: purges the replays of arenas that ended more than the retention ago.

Owns:
    the purge schedule and its counters (:class:`PurgeStats`), across incarnations: the
    counters belong to the :class:`ReplayJanitor` object, not to one ``run``.
Started by:
    a supervisor, after the storage actor (it needs the storage actor's
    :class:`~tilemud.storage.StorageClient`). Restart type ``permanent``. Its shutdown may be
    brutal (``None``): it holds nothing to flush, and a batch cancelled mid-flight still
    commits in its storage thread, where the next run carries on. Put it where a crash
    restarts it alone (a ``one_for_one`` supervisor): under the ``one_for_all`` root, a bug
    in a purge would restart the whole node.
Takes:
    no messages; it has no mailbox. ``ctx.started()`` is called at once, with no value.
Sends:
    ``purge_replays(ended_before=clock() - database.replay_retention, limit=batch)`` asks to
    the storage actor, one after another until one answers 0: each purges a bounded number
    of arenas in its own transaction, so no run holds a long transaction or a table lock.
Timing:
    runs are due every ``database.purge_interval`` seconds of Trio time, on a schedule
    anchored at the start of the incarnation (``start + k * interval``, ``k >= 1``): a slow
    run does not push the next ones later, and a run that overran skips the slots it missed
    rather than running back to back. The first run is one interval after the start, not at
    once: a bug that crashes the janitor then crashes it once per interval, which its
    supervisor's intensity tolerates, instead of a restart loop that escalates. The cutoff
    is read from the wall clock (``clock``), once per run.
Errors:
    :class:`~tilemud.storage.StorageUnavailable` (the database is down or too slow) ends the
    run early and is retried at the next one; the first of a series is logged as a warning,
    the end of the series at info. Any other exception is a bug: it propagates, and the
    supervisor restarts the janitor.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import attrs
import trio

from tilemud.clock import utc_now
from tilemud.config import DatabaseSettings
from tilemud.storage._errors import StorageUnavailable
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.storage")

#: Arenas purged per transaction; the storage actor's other work waits for at most one.
PURGE_BATCH: Final = 100


class ReplayStore(Protocol):
    """What the janitor needs of storage: :class:`~tilemud.storage.StorageClient` is one."""

    async def purge_replays(self, *, ended_before: dt.datetime, limit: int = ...) -> int:
        """Purge the replays of up to ``limit`` arenas ended before ``ended_before``; return
        how many were purged (0 when none is left)."""
        ...


@attrs.frozen(kw_only=True)
class PurgeStats:
    """The janitor's counters at one instant (all from the janitor's creation).

    Attributes:
        runs: purge runs that ended: finished, cut short by an outage or a graceful stop,
            or crashed (a run cancelled with the janitor is not counted).
        failed_runs: runs that did not finish: the database was unavailable (retried at the
            next run) or a bug crashed the janitor (which its supervisor restarted).
        replays_purged: arenas whose replay was purged (their rows stay, with their result).
        last_success: wall-clock time at which the last finished run started (its cutoff
            plus the retention); None until one finished.
    """

    runs: int = 0
    failed_runs: int = 0
    replays_purged: int = 0
    last_success: dt.datetime | None = None


def next_slot(anchor: float, interval: float, after: float) -> float:
    """The first time ``anchor + k * interval`` (``k >= 1``) later than ``after``.

    Computed from the anchor rather than added up run after run, so that neither the time
    a run takes nor float rounding makes the schedule drift.
    """
    slots = max(1, math.floor((after - anchor) / interval) + 1)
    # Float rounding can land one slot short when ``after`` sits right on a slot.
    while anchor + slots * interval <= after:
        slots += 1
    return anchor + slots * interval


async def run_on_schedule(
    ctx: ChildContext, interval: float, run_once: Callable[[], Awaitable[object]]
) -> None:
    """A supervised periodic task: ``run_once()`` at ``start + k * interval`` (``k >= 1``)
    of Trio time, until a graceful stop (``ctx.stopping``) or cancellation.

    ``ctx.started()`` is called at once. The first run is one interval after the start, so
    a bug crashes the task at most once per interval, not in a restart loop; a run that
    overruns skips the slots it missed (:func:`next_slot`).
    """
    anchor = trio.current_time()
    due = anchor + interval
    ctx.started()
    while True:
        with trio.move_on_at(due):
            await ctx.stopping.wait()
        if ctx.stopping.is_set():
            return
        await run_once()
        due = next_slot(anchor, interval, trio.current_time())


class ReplayJanitor:
    """The periodic replay purge; see the module docstring.

    Args:
        store: the storage actor's client (anything with ``purge_replays``).
        settings: the ``[database]`` settings: ``replay_retention`` and ``purge_interval``.
        clock: the wall clock the cutoff is read from (timezone-aware UTC); the storage
            actor's own clock should be the same, since ``ended`` was stamped with it.
        batch: the most arenas purged per transaction.
    """

    def __init__(
        self,
        store: ReplayStore,
        settings: DatabaseSettings,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        batch: int = PURGE_BATCH,
    ) -> None:
        if batch < 1:
            raise ValueError("a purge batch must hold at least one arena")
        self._store = store
        self._retention = dt.timedelta(seconds=settings.replay_retention)
        self._interval = settings.purge_interval
        self._clock = clock
        self._batch = batch
        self._runs = 0
        self._failed_runs = 0
        self._replays_purged = 0
        self._last_success: dt.datetime | None = None
        #: True from a run cut short by an outage until a run finishes: one warning each.
        self._in_outage = False
        #: Set (then replaced) each time a run ends, for :meth:`wait_for_runs`.
        self._run_ended = trio.Event()

    def stats(self) -> PurgeStats:
        """The counters, now (what :meth:`tilemud.metrics.ServerMetrics.watch_janitor`
        reads at every scrape)."""
        return PurgeStats(
            runs=self._runs,
            failed_runs=self._failed_runs,
            replays_purged=self._replays_purged,
            last_success=self._last_success,
        )

    async def wait_for_runs(self, count: int) -> None:
        """Return once ``count`` runs have ended since the janitor was created.

        For tests and tools that must know that a run happened: under a mock clock the
        moment a run ends cannot be told from outside.
        """
        while self._runs < count:
            await self._run_ended.wait()

    async def run(self, ctx: ChildContext) -> None:
        """Purge on schedule until cancelled or ``ctx.stopping`` is set.

        Raises:
            Exception: a bug (anything but :class:`StorageUnavailable`), for the supervisor.
        """
        await run_on_schedule(ctx, self._interval, lambda: self._purge_expired(ctx.stopping))

    async def _purge_expired(self, stopping: trio.Event) -> None:
        """One run: purge batch after batch until none is left, the database fails, or a
        stop begins."""
        started_at = self._clock()
        cutoff = started_at - self._retention
        purged = 0
        try:
            while not stopping.is_set():
                count = await self._store.purge_replays(ended_before=cutoff, limit=self._batch)
                # Counted per batch: each one is committed, whatever becomes of the rest.
                self._replays_purged += count
                purged += count
                if count == 0:
                    self._finished(started_at, cutoff, purged)
                    break
        except StorageUnavailable as exc:
            self._failed_runs += 1
            if not self._in_outage:
                log.warning(
                    "replay purge failed, database unavailable; next try in %g s: %s",
                    self._interval,
                    exc,
                    extra={"purged": purged},
                )
            self._in_outage = True
        except Exception:
            self._failed_runs += 1
            self._run_over()
            raise
        # Not reached when cancelled: a run the janitor's end cuts short is not counted.
        self._run_over()

    def _run_over(self) -> None:
        self._runs += 1
        self._run_ended.set()
        self._run_ended = trio.Event()

    def _finished(self, started_at: dt.datetime, cutoff: dt.datetime, purged: int) -> None:
        self._last_success = started_at
        if self._in_outage:
            log.info("replay purge works again", extra={"purged": purged})
            self._in_outage = False
        if purged:
            log.info(
                "purged the replays of %d arenas ended before %s",
                purged,
                cutoff.isoformat(),
                extra={"purged": purged},
            )
