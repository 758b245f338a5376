"""The rule that tells a slow client from a busy one: "full for too long".

A queue (a session's outbox, the unsent part of its numbered stream) reports its level
after every change. It becomes *full* when the level reaches the high-water mark and
counts as full until it drains to the low-water mark; in between it keeps whatever state
it had. The gap between the two marks (hysteresis) keeps a client that reads one frame now
and then, while fan-out refills its queue, from resetting the clock forever.

:meth:`StallWatch.wait_stalled` returns once the queue has been full *continuously* for
``slow_after`` seconds of Trio time; the connection then closes the client (4008) and the
player may resume.
"""

from __future__ import annotations

import trio


class StallWatch:
    """Tracks how long a queue has been full, with high- and low-water marks.

    Every method is synchronous and cheap except :meth:`wait_stalled`, so the owner may
    call :meth:`update` on every frame of its hot path.

    Args:
        high_water: the level at which the queue becomes full (at least 1).
        low_water: the level it must drain to before it stops counting as full
            (``0 <= low_water < high_water``).
        slow_after: how many seconds of Trio time the queue may stay full before it is
            stalled.

    Raises:
        ValueError: the marks or the delay are out of range.
    """

    def __init__(self, *, high_water: int, low_water: int, slow_after: float) -> None:
        if high_water < 1:
            raise ValueError("high_water must be at least 1")
        if not 0 <= low_water < high_water:
            raise ValueError("low_water must be at least 0 and below high_water")
        if slow_after < 0:
            raise ValueError("slow_after must not be negative")
        self._high_water = high_water
        self._low_water = low_water
        self._slow_after = slow_after
        self._full_since: float | None = None
        # Bumped every time the queue becomes full, so that a waiter can tell "still full
        # since then" from "drained and filled up again" even within one instant.
        self._episode = 0
        # Made only for a waiter (wait_stalled): the gateway polls `stalled` instead, and
        # an Event per queue per player is memory for nothing.
        self._became_full: trio.Event | None = None

    @property
    def full(self) -> bool:
        """Whether the queue currently counts as full."""
        return self._full_since is not None

    @property
    def full_since(self) -> float | None:
        """The Trio time at which the queue last became full, or None when it is not full."""
        return self._full_since

    def update(self, level: int) -> None:
        """Report the queue's level after a change.

        Args:
            level: how many items are waiting now.
        """
        if level >= self._high_water:
            if self._full_since is None:
                self._full_since = trio.current_time()
                self._episode += 1
                if self._became_full is not None:
                    self._became_full.set()
        elif level <= self._low_water and self._full_since is not None:
            self.clear()

    def stalled(self, now: float) -> bool:
        """Whether the queue has been full without a break for ``slow_after`` seconds."""
        return self._full_since is not None and now - self._full_since >= self._slow_after

    def clear(self) -> None:
        """Forget the current full period (the queue drained, or a new connection began)."""
        if self._full_since is not None:
            self._full_since = None
            self._became_full = None

    async def wait_stalled(self) -> None:
        """Return once the queue has stayed full for ``slow_after`` seconds without a break."""
        while True:
            if self._full_since is None:
                if self._became_full is None:
                    self._became_full = trio.Event()
                await self._became_full.wait()
            full_since = self._full_since
            if full_since is None:
                # Drained between the wake-up and now: the event has been replaced by a
                # fresh one, so the next wait blocks until the queue fills up again.
                continue
            episode = self._episode
            await trio.sleep_until(full_since + self._slow_after)
            if self._episode == episode and self._full_since is not None:
                return
