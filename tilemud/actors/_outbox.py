"""A session's outbound queue and the rule that tells a slow client from a busy one.

Two kinds of writers feed it:

- the session's own replies to its player (``put``): they wait for room, which stops the
  session reading its socket: the player's input is backpressured, never dropped;
- fan-out from arenas and channels (``offer``): it never waits; a frame that finds the
  queue full is dropped and counted (high-volume frames can be resent from the stream's
  resend buffer when the player resumes).

The queue is *stalled* when it filled up and has not drained below half its capacity for
``slow_after`` seconds of Trio time; the session then disconnects the client with close
code 4008. The half-way mark keeps a client that reads one frame now and then from
resetting the clock forever.
"""

from __future__ import annotations

import trio


class Outbox:
    """A bounded queue of encoded frames for one client, with stall detection."""

    def __init__(self, capacity: int, slow_after: float) -> None:
        self._send, self._receive = trio.open_memory_channel[str](capacity)
        self._capacity = capacity
        self._low_water = capacity // 2
        self._slow_after = slow_after
        self._full_since: float | None = None
        self._became_full = trio.Event()
        #: Fan-out frames dropped because the queue was full.
        self.dropped = 0

    @property
    def depth(self) -> int:
        """Frames waiting to be written."""
        return self._send.statistics().current_buffer_used

    def offer(self, frame: str) -> bool:
        """Queue a fan-out frame without waiting; False (and counted) when it was dropped."""
        try:
            self._send.send_nowait(frame)
        except trio.WouldBlock:
            self._mark_full()
            self.dropped += 1
            return False
        except trio.ClosedResourceError:
            return False
        if self.depth >= self._capacity:
            self._mark_full()
        return True

    async def put(self, frame: str) -> None:
        """Queue a reply, waiting for room (backpressure on the player's input)."""
        if self.depth >= self._capacity:
            self._mark_full()
        await self._send.send(frame)

    async def take(self) -> str:
        """The next frame to write; waits for one."""
        frame = await self._receive.receive()
        if self._full_since is not None and self.depth <= self._low_water:
            self._full_since = None
            self._became_full = trio.Event()
        return frame

    async def wait_stalled(self) -> None:
        """Return once the queue has stayed full for longer than ``slow_after`` seconds."""
        while True:
            await self._became_full.wait()
            full_since = self._full_since
            if full_since is None:  # drained while we were waking up
                await trio.lowlevel.checkpoint()
                continue
            await trio.sleep_until(full_since + self._slow_after)
            if self._full_since == full_since:
                return

    def close(self) -> None:
        """Refuse further frames; pending ones are discarded."""
        self._send.close()
        self._receive.close()

    def _mark_full(self) -> None:
        if self._full_since is None:
            self._full_since = trio.current_time()
            self._became_full.set()
