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

    A plain list, made only when the first frame waits, and a parking lot for replies
    that wait for room, made only when one does: most of the time a player's outbox is
    empty (the connection writes replies at once), and a memory channel per player was
    about 1.7 KB for nothing.

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
        self._capacity = capacity
        self._frames: list[str] | None = None
        self._room: trio.lowlevel.ParkingLot | None = None
        self._arrived: trio.lowlevel.ParkingLot | None = None
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
        return 0 if self._frames is None else len(self._frames)

    @property
    def has_room(self) -> bool:
        """Whether :meth:`offer` would take a frame now."""
        return not self._closed and self.depth < self._capacity

    @property
    def idle(self) -> bool:
        """Open, with nothing waiting (the fan-out's check for its one-step write)."""
        return self._frames is None and not self._closed

    @property
    def at_once(self) -> bool:
        """Idle, and a frame offered then taken at once would leave no trace: nobody waits
        in :meth:`take`, and one frame does not fill the queue (the connection's one-step
        write of a reply: :meth:`Connection.answer_now`)."""
        return (
            self._frames is None
            and not self._closed
            and self._arrived is None
            and self._capacity > 1
        )

    def offer(self, frame: str) -> bool:
        """Queue a fan-out frame without waiting; False (and counted) when it was dropped."""
        if self._closed:
            return False
        if self.depth >= self._capacity:
            self._stall.update(self.depth)
            self.dropped += 1
            if self._on_dropped is not None:
                self._on_dropped()
            return False
        self._append(frame)
        return True

    async def put(self, frame: str) -> None:
        """Queue a reply, waiting for room (backpressure on the player's input).

        Raises:
            trio.ClosedResourceError: the outbox is closed.
        """
        self._stall.update(self.depth)
        await trio.lowlevel.checkpoint_if_cancelled()
        while not self._closed and self.depth >= self._capacity:
            if self._room is None:
                self._room = trio.lowlevel.ParkingLot()
            await self._room.park()
        if self._closed:
            raise trio.ClosedResourceError("the outbox is closed")
        self._append(frame)
        await trio.lowlevel.cancel_shielded_checkpoint()

    def _append(self, frame: str) -> None:
        if self._frames is None:
            self._frames = []
        self._frames.append(frame)
        self._stall.update(len(self._frames))
        if self._arrived is not None:
            self._arrived.unpark()

    async def take(self) -> str:
        """The next frame to write; waits for one (the connection uses
        :meth:`take_nowait`; this is for simple readers).

        Raises:
            trio.EndOfChannel: the outbox is closed.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while (frame := self.take_nowait()) is None:
            if self._closed:
                raise trio.EndOfChannel
            if self._arrived is None:
                self._arrived = trio.lowlevel.ParkingLot()
            await self._arrived.park()
        await trio.lowlevel.cancel_shielded_checkpoint()
        return frame

    def take_nowait(self) -> str | None:
        """The next frame to write, or None when none is waiting (or the queue is closed).

        For a writer that serves several sources and waits on a doorbell between them.
        """
        frames = self._frames
        if not frames or self._closed:
            return None
        # Outboxes are short (replies are written as they come): popping the front of a
        # small list is cheaper than a deque's 600 bytes per player.
        frame = frames.pop(0)
        if not frames:
            self._frames = None
        self._stall.update(self.depth)
        if self._room is not None:
            self._room.unpark()
        return frame

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def stalled(self, now: float) -> bool:
        """Whether the queue has stayed full for longer than ``slow_after`` seconds."""
        return self._stall.stalled(now)

    @property
    def full(self) -> bool:
        """Whether the queue counts as full now (it may become :meth:`stalled` later)."""
        return self._stall.full

    async def wait_stalled(self) -> None:
        """Return once the queue has stayed full for longer than ``slow_after`` seconds."""
        await self._stall.wait_stalled()

    def close(self) -> None:
        """Refuse further frames; pending ones are discarded."""
        self._closed = True
        self._frames = None
        for lot in (self._room, self._arrived):
            if lot is not None:
                lot.unpark_all()
