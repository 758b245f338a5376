"""A session's outbound queue and the rule that tells a slow client from a busy one.

Two kinds of writers feed it:

- the session's own replies to its player (``put``): they wait for room, which stops the
  session reading its socket: the player's input is backpressured, never dropped;
- fan-out from arenas and channels (``offer``): it never waits; a frame that finds the
  queue full is dropped and counted (high-volume frames can be resent from the stream's
  resend buffer when the player resumes).

The queue is *stalled* when it filled up and has not drained to half its capacity for
``slow_after`` seconds of Trio time (:class:`~tilemud.actors.session._stall.StallWatch`, high water
at capacity, low water at half); the session then disconnects the client with close code
4008. The half-way mark keeps a client that reads one frame now and then from resetting the
clock forever.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from tilemud.actors.session._stall import StallWatch


class Outbox:
    """A bounded queue of encoded frames for one client, with stall detection.

    Args:
        capacity: frames that may wait.
        slow_after: seconds of Trio time the queue may stay full before it is stalled.
        on_dropped: called once for every frame :meth:`offer` drops (the server counts them
            in ``tilemud_frames_dropped_total``); it must not block.
    """

    def __init__(
        self,
        capacity: int,
        slow_after: float,
        *,
        on_dropped: Callable[[], object] | None = None,
    ) -> None:
        self._send, self._receive = trio.open_memory_channel[str](capacity)
        self._stall = StallWatch(
            high_water=capacity, low_water=capacity // 2, slow_after=slow_after
        )
        self._closed = False
        #: Fan-out frames dropped because the queue was full.
        self.dropped = 0
        self._on_dropped = on_dropped

    @property
    def depth(self) -> int:
        """Frames waiting to be written."""
        return self._send.statistics().current_buffer_used

    def offer(self, frame: str) -> bool:
        """Queue a fan-out frame without waiting; False (and counted) when it was dropped."""
        try:
            self._send.send_nowait(frame)
        except trio.WouldBlock:
            self._stall.update(self.depth)
            self.dropped += 1
            if self._on_dropped is not None:
                self._on_dropped()
            return False
        except trio.ClosedResourceError:
            return False
        self._stall.update(self.depth)
        return True

    async def put(self, frame: str) -> None:
        """Queue a reply, waiting for room (backpressure on the player's input)."""
        self._stall.update(self.depth)
        await self._send.send(frame)

    async def take(self) -> str:
        """The next frame to write; waits for one."""
        frame = await self._receive.receive()
        self._stall.update(self.depth)
        return frame

    def take_nowait(self) -> str | None:
        """The next frame to write, or None when none is waiting (or the queue is closed).

        For a writer that serves several sources and waits on a doorbell between them.
        """
        try:
            frame = self._receive.receive_nowait()
        except (trio.WouldBlock, trio.ClosedResourceError):
            return None
        self._stall.update(self.depth)
        return frame

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def stalled(self, now: float) -> bool:
        """Whether the queue has stayed full for longer than ``slow_after`` seconds."""
        return self._stall.stalled(now)

    async def wait_stalled(self) -> None:
        """Return once the queue has stayed full for longer than ``slow_after`` seconds."""
        await self._stall.wait_stalled()

    def close(self) -> None:
        """Refuse further frames; pending ones are discarded."""
        self._closed = True
        self._send.close()
        self._receive.close()
