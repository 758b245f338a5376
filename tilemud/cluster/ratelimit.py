"""Rate limits: at most ``limit`` accepted events per key in any window of ``window`` seconds.

The rule is a *sliding window log*: every accepted event is remembered with its time and
counts for exactly ``window`` seconds (an event at ``t`` counts on ``[t, t + window)``). An
event is accepted when fewer than ``limit`` remembered events are still in the window;
otherwise it is refused, not remembered, and told how long until the oldest one leaves the
window (``retry_after``). Unlike fixed windows, this never lets ``2 * limit`` events through
around a window boundary.

Keys name what is limited, e.g. ``"place:{player_id}"`` or ``"login:{ip}"``.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections import OrderedDict
from typing import Protocol

import trio


class RateLimiter(Protocol):
    """Counts events per key in a sliding window.

    An implementation must be safe for many concurrent callers, including (for a shared
    implementation) callers on other nodes: checking the count and recording the event are
    one atomic step, so two callers can never both take the last slot. A Redis
    implementation keeps one sorted set per key, members unique per event, scored by the
    event's time taken from the Redis server (``TIME``; the nodes' clocks do not agree),
    and runs in one Lua script: ``ZREMRANGEBYSCORE key -inf now-window``, ``ZCARD``; if
    below ``limit``, ``ZADD`` the event and ``PEXPIRE key window`` (so idle keys vanish);
    otherwise read the oldest score (``ZRANGE key 0 0 WITHSCORES``) and answer
    ``oldest + window - now``.
    """

    async def acquire(self, key: str, *, at: float | None = None) -> float | None:
        """Count one event for ``key`` if the limit allows it.

        Args:
            key: what is being limited.
            at: when the event happened, in Trio time (a frame is judged by when it was
                read, not by when a busy server got to it); now when None. An
                implementation whose clock is elsewhere (Redis) may ignore it.

        Returns:
            None when the event was allowed (and counted); otherwise the seconds until a
            slot frees (``retry_after``, positive), and the event was not counted.
        """
        ...


class InProcessRateLimiter:
    """A sliding window log per key, on Trio time, for one node.

    Memory stays bounded by the active keys: a key whose last accepted event has left the
    window is forgotten, lazily and in amortised O(1) per call.

    Compact and cheap (issue 13): each key's log is an ``array`` of float times (8 bytes
    an event, ~0.3 KB for a player placing twice a second against a limit of 60 in 10 s,
    where a deque of float objects was ~1.1 KB), the expired ones cut off the front with
    one binary search; idle keys are looked for only once the oldest key's last event
    can have left the window, not at every call; and a call does not yield to the
    scheduler (it is a cancel point only).

    Args:
        limit: accepted events allowed in any window (at least 1).
        window: the window's length in seconds (positive).

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(self, *, limit: int, window: float) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0:
            raise ValueError("window must be positive")
        self._limit = limit
        self._window = window
        # Each key's accepted event times, oldest first; keys ordered by their last
        # accepted event, so that the idle ones are at the front.
        self._logs: OrderedDict[str, array[float]] = OrderedDict()
        # When the front key's last event leaves the window (no key is idle before).
        self._forget_at = math.inf

    @property
    def keys(self) -> int:
        """How many keys are remembered (idle ones may linger until the next call)."""
        return len(self._logs)

    async def acquire(self, key: str, *, at: float | None = None) -> float | None:
        """Count one event for ``key`` if fewer than ``limit`` are in the window.

        Args:
            key: what is being limited.
            at: when the event happened (Trio time, not in the future); now when None.

        Returns:
            None when allowed and counted; otherwise seconds until the oldest counted
            event leaves the window.
        """
        # A cancel point, not a schedule point: a trip through the scheduler was ~3 us of
        # the ~4.5 us a call cost (issue 13). Callers yield elsewhere: a connection's reader
        # whenever its socket has nothing more, and at least every 16 reads.
        await trio.lowlevel.checkpoint_if_cancelled()
        return self.acquire_now(key, at=at)

    def acquire_now(self, key: str, *, at: float | None = None) -> float | None:
        """:meth:`acquire` without its cancel point, for a caller that may not wait."""
        now = trio.current_time()
        return self._acquire_now(key, now if at is None else min(at, now))

    def _acquire_now(self, key: str, now: float) -> float | None:
        if now >= self._forget_at:
            self._forget_idle(now)
        logs = self._logs
        log = logs.get(key)
        if log is None:
            logs[key] = array("d", (now,))
            if len(logs) == 1:
                self._forget_at = now + self._window
            return None
        horizon = now - self._window
        if log[0] <= horizon:
            del log[: bisect_right(log, horizon)]
        if len(log) >= self._limit:
            return log[0] + self._window - now
        # Kept in order even if an event read earlier is judged after a later one.
        log.append(now if not log or now >= log[-1] else log[-1])
        logs.move_to_end(key)
        return None

    def _forget_idle(self, now: float) -> None:
        horizon = now - self._window
        logs = self._logs
        while logs:
            front = next(iter(logs.values()))
            if front and front[-1] > horizon:
                self._forget_at = front[-1] + self._window
                return
            logs.popitem(last=False)
        self._forget_at = math.inf
