"""Joins take turns: at most so many are worked on at once, the rest wait in line.

A join in flight holds ~3.3 KB of Python objects while it asks the arena directory and
an arena (the ask's coroutines and reply slot, the ``FindArena`` closure, the seat, the
arena's snapshot being built): 1,000 players joining at once held ~5 MB together, and
the pymalloc arenas they filled stayed, mostly free, pinned by the seats and logs made in
the same moment (docs/performance.md, "The join's memory"). A join waiting for its turn
holds only its place in line (~0.5 KB: its place, one parked coroutine; a
:class:`trio.Semaphore` with a cancel scope for the wait's limit held ~3 KB, as much as
the work it spared). The line is first come, first served. A turn given back goes to
the next in line that has not waited longer than ``wait_limit``; those that have are
woken and refused ``overloaded`` with a ``retry_after`` (as a join the directory did
not answer would be). The line is aged only when a turn is given back: every join at
work gives its turn back within its asks' timeouts, so no join waits much beyond the
limit, and no timer per waiter is needed.
"""

from __future__ import annotations

from collections import deque

import trio

from tilemud.actors.session._critical import RETRY_SOON, Refused
from tilemud.protocol import ErrorCode

#: Joins worked on at once by default: a join takes ~10 ms (the arena takes its mail
#: every 10 ms), so 32 at once pass ~3,000 joins a second, ten times the join storm.
JOINS_AT_ONCE = 32
#: Seconds a join may wait for its turn before it is refused (the directory's own ask
#: timeout: a client sees the same wait either way).
TURN_WAIT = 5.0


class _Place:
    """One join's place in line: its task until it is woken, and until when it may wait."""

    __slots__ = ("deadline", "granted", "task")

    def __init__(self, task: trio.lowlevel.Task, deadline: float) -> None:
        self.task: trio.lowlevel.Task | None = task
        self.deadline = deadline
        self.granted = False

    def abort(self, _: object) -> trio.lowlevel.Abort:
        # Cancelled in line (the connection closed): the place stays, skipped when reached.
        self.task = None
        return trio.lowlevel.Abort.SUCCEEDED


class JoinTurns:
    """The line of joins: ``at_once`` worked on, the rest waiting in arrival order.

    Shared by every session of the node (one per :class:`SessionServices`); used as
    ``await turns.take()`` then ``try: ... finally: turns.give_back()``. Its counters are
    for tests and operators: ``working``, ``waiting``, ``most_at_once`` (the most joins
    ever worked on together), ``waited`` (joins that found no free turn) and ``refused``
    (joins that waited too long).
    """

    __slots__ = (
        "_free",
        "_line",
        "at_once",
        "most_at_once",
        "refused",
        "wait_limit",
        "waited",
        "waiting",
    )

    def __init__(self, at_once: int = JOINS_AT_ONCE, *, wait_limit: float = TURN_WAIT) -> None:
        if at_once < 1:
            raise ValueError(f"at least one join at once, got {at_once}")
        self.at_once = at_once
        self.wait_limit = wait_limit
        self._free = at_once
        self._line: deque[_Place] = deque()
        self.waiting = 0
        self.waited = 0
        self.refused = 0
        self.most_at_once = 0

    @property
    def working(self) -> int:
        """Joins holding a turn now."""
        return self.at_once - self._free

    async def take(self) -> None:
        """Take a turn, waiting in line if none is free; give it back with :meth:`give_back`.

        Raises:
            Refused: ``overloaded``, with ``retry_after``: waited ``wait_limit`` seconds or
                more when a turn came.
        """
        if self._free and not self._line:
            # No pass of the scheduler when a turn is free (the usual case); still a
            # cancel point, as any await is.
            await trio.lowlevel.checkpoint_if_cancelled()
            self._free -= 1
            self.most_at_once = max(self.most_at_once, self.working)
            return
        place = _Place(trio.lowlevel.current_task(), trio.current_time() + self.wait_limit)
        self._line.append(place)
        self.waiting += 1
        self.waited += 1
        try:
            await trio.lowlevel.wait_task_rescheduled(place.abort)
        finally:
            self.waiting -= 1
        if not place.granted:
            self.refused += 1
            raise Refused(
                ErrorCode.OVERLOADED,
                f"too many players are joining; waited {self.wait_limit:g} s for a turn",
                retry_after=RETRY_SOON,
            )
        self.most_at_once = max(self.most_at_once, self.working)

    def give_back(self) -> None:
        """Give a turn back: to the next in line still in time, or to the free turns."""
        line = self._line
        now = trio.current_time()
        while line:
            place = line.popleft()
            task = place.task
            if task is None:
                continue  # cancelled while it waited
            place.task = None
            if place.deadline >= now:
                place.granted = True
                trio.lowlevel.reschedule(task)
                return  # the turn passes on: still one at work
            trio.lowlevel.reschedule(task)  # too late: refused, and the next one looked at
        self._free += 1
