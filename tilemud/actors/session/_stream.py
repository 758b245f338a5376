"""A player's numbered stream of high-volume frames, with its bounded resend buffer.

The stream belongs to the player's session state, which outlives WebSocket connections
(the reconnect grace): arenas and channels :meth:`~SessionStream.publish` into it whether
or not the player is connected; each connection calls :meth:`~SessionStream.attach` with
the last seq its client saw and writes what :meth:`~SessionStream.next_frame` hands out.

Sequence numbers start at 1 and grow by one per frame. A body is encoded once for every
recipient (a tick's delta is shared by 300 players) and retained as that same ``str``
object; the per-player ``seq`` is spliced in by ``stamp`` only when the frame is handed
out, so the buffer costs one reference per frame and player, not one copy.

Positions, all sequence numbers:

- ``last_seq``: the last frame published.
- ``cursor``: the read position of the current connection: frames up to it were handed
  out (or skipped by a :meth:`~SessionStream.reset`); the next frame handed out is
  ``cursor + 1``.
- ``acked``: the client's cumulative ack; frames up to it are no longer retained.

Retention holds at most ``capacity`` frames, the unacked ones; publishing beyond that
evicts the oldest. Evicting a frame the current connection handed out is normal (only a
resume from an older position could have needed it, and that resume then gets a snapshot).
Evicting one it has not handed out leaves a *gap*: the frame is lost for this client,
``needs_snapshot`` is set, and ``dropped`` counts it when no connection ever had it. A
snapshot stays the oldest retained frame until it is acked or evicted; meanwhile a resume
from any position before it starts at the snapshot.
While ``needs_snapshot`` is set nothing more is handed out, so the client never sees a gap
except right before a snapshot.

How the owner learns about a gap: :meth:`~SessionStream.publish` never calls out (it runs
inside an arena's fan-out loop); the owner reads ``needs_snapshot`` after publishing, and
:meth:`~SessionStream.attach` returns False, and answers both by asking the arena for a
snapshot and calling :meth:`~SessionStream.reset` with it.

Stall detection (:class:`~tilemud.actors.session._stall.StallWatch`) looks at the unsent frames of
the current connection: full at ``high_water`` (default: ``capacity``), drained at half of
it; while detached nothing is watched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import trio

from tilemud.actors.session._stall import StallWatch
from tilemud.errors import TilemudError


class InvalidAck(TilemudError):
    """A client acked a sequence number it was never sent."""

    code = "invalid_ack"


#: What a stamped frame is: the text (tests), or the wire's bytes with the WebSocket header.
F = TypeVar("F")


class SessionStream(Generic[F]):
    """The numbered, resumable stream of high-volume frames of one player.

    Not thread-safe and not shared between tasks other than by the session's own task
    (which publishes, acks and attaches) and its connection's writer (``next_frame``).

    Args:
        capacity: how many unacked frames are retained for resends (at least 1).
        stamp: makes the frame of a pre-encoded body and a sequence number
            (``tilemud.protocol.stamp``, or that and the WebSocket header in one buffer).
        slow_after: seconds of Trio time the unsent frames may stay at ``high_water``
            before :meth:`wait_stalled` returns.
        high_water: how many unsent frames make the client count as behind; defaults to
            ``capacity`` (at most ``capacity``, since no more are ever retained).
        on_dropped: called once for every frame counted in :attr:`dropped`, as it is
            dropped (the server counts them in ``tilemud_frames_dropped_total``); it must
            not block or call back into the stream.

    Raises:
        ValueError: ``capacity`` or ``high_water`` is out of range.
    """

    def __init__(
        self,
        *,
        capacity: int,
        stamp: Callable[[str, int], F],
        slow_after: float,
        high_water: int | None = None,
        on_dropped: Callable[[], object] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("a stream must retain at least one frame")
        high_water = capacity if high_water is None else high_water
        if not 1 <= high_water <= capacity:
            raise ValueError("high_water must be between 1 and capacity")
        self._capacity = capacity
        self._stamp = stamp
        # publish_now may skip the stall watch only when one unsent frame is not "behind":
        # at high water 1, publish then next_ready would report the queue full for an
        # instant.
        self._at_once = high_water > 1
        self._stall = StallWatch(
            high_water=high_water, low_water=high_water // 2, slow_after=slow_after
        )
        # Retained frames are split at the cursor: `_sent` holds seqs up to the cursor,
        # `_unsent` the ones after it. Together they hold the contiguous seqs
        # `last_seq - retained + 1 .. last_seq`. Lists, not deques: taking from the front
        # moves at most `capacity` pointers (well under a microsecond), and an empty deque
        # is ~600 bytes where a list is 56, twice per player (memory per idle player).
        self._sent: list[str] = []
        self._unsent: list[str] = []
        self._last_seq = 0
        self._cursor = 0
        self._acked = 0
        self._highest_handed_out = 0
        self._snapshot_seq: int | None = None
        self._dropped = 0
        self._on_dropped = on_dropped
        self._needs_snapshot = False
        self._attached = False
        # Bumped by every attach and detach: a waiter from an older connection must not
        # take frames meant for the new one.
        self._connection = 0
        self._wakeup: trio.Event | None = None

    @property
    def last_seq(self) -> int:
        """The sequence number of the last frame published (0 before the first)."""
        return self._last_seq

    @property
    def acked(self) -> int:
        """The client's cumulative ack."""
        return self._acked

    @property
    def cursor(self) -> int:
        """The last frame handed out (or skipped by a reset) on the current connection."""
        return self._cursor

    @property
    def unsent(self) -> int:
        """Retained frames not yet handed out on the current connection."""
        return len(self._unsent)

    @property
    def retained(self) -> int:
        """Frames held for sending or resending (at most ``capacity``)."""
        return len(self._sent) + len(self._unsent)

    @property
    def dropped(self) -> int:
        """Frames evicted before they were ever handed out: lost for good."""
        return self._dropped

    @property
    def needs_snapshot(self) -> bool:
        """Whether the owner must :meth:`reset` the stream with a snapshot.

        Set when an unsent frame is evicted (a gap) or when :meth:`attach` cannot resume;
        cleared by :meth:`reset`.
        """
        return self._needs_snapshot

    @property
    def attached(self) -> bool:
        """Whether a connection is reading the stream."""
        return self._attached

    def publish(self, body: str) -> int:
        """Append a frame; never blocks and never calls out.

        Args:
            body: the frame encoded once for every recipient, without its ``seq``; it is
                retained as is (the same object for every player).

        Returns:
            The frame's sequence number. The owner checks :attr:`needs_snapshot` afterwards:
            this frame may have pushed an unsent one out of the buffer.
        """
        if len(self._sent) + len(self._unsent) >= self._capacity:
            self._evict_oldest()
        self._last_seq += 1
        self._unsent.append(body)
        if self._attached:
            self._stall.update(len(self._unsent))
            self._wake()
        return self._last_seq

    def publish_now(self, body: str) -> F | None:
        """:meth:`publish` then :meth:`next_ready`, in one step, when ``body`` is handed out
        at once: the stream is attached, owes no snapshot, has nothing unsent and no
        :meth:`next_frame` waits. The fan-out's common case (a connected player who is up
        to date), which then costs no stall watch, eviction check or wake-up of its own.

        Returns:
            The stamped frame, the stream then being as :meth:`publish` and
            :meth:`next_ready` would leave it; or None, nothing done, when the frame cannot
            be handed out at once: the caller then publishes it.
        """
        if (
            self._unsent
            or not self._attached
            or self._needs_snapshot
            or self._wakeup is not None
            or not self._at_once
        ):
            return None
        # Nothing is unsent, so the cursor is at the last frame: the frame published is the
        # one handed out, and the stall watch, at level 0, stays where it is.
        sent = self._sent
        if len(sent) >= self._capacity:
            del sent[0]  # a frame handed out: evicting it leaves no gap
        sent.append(body)
        self._last_seq += 1
        self._cursor += 1
        cursor = self._cursor
        if cursor > self._highest_handed_out:
            self._highest_handed_out = cursor
        return self._stamp(body, cursor)

    def invalidate(self) -> None:
        """The frames retained no longer build the client's view (one had no equivalent in
        the client's protocol version, or they were said in another version): hand out
        nothing more until :meth:`reset` brings a snapshot. Nothing is counted as dropped."""
        self._needs_snapshot = True

    def reset(self, snapshot_body: str) -> int:
        """Replace everything retained with a snapshot, the next frame handed out.

        Frames superseded by the snapshot are neither resent nor counted as dropped.

        Args:
            snapshot_body: the snapshot encoded without its ``seq``.

        Returns:
            The snapshot's sequence number.
        """
        self._sent.clear()
        self._unsent.clear()
        self._last_seq += 1
        self._unsent.append(snapshot_body)
        self._snapshot_seq = self._last_seq
        self._cursor = self._last_seq - 1
        self._needs_snapshot = False
        if self._attached:
            self._stall.update(len(self._unsent))
            self._wake()
        return self._last_seq

    def ack(self, seq: int) -> None:
        """The client has every frame up to ``seq``: they need not be kept for a resume.

        Args:
            seq: the client's cumulative ack; one at or below the current ack is ignored.

        Raises:
            InvalidAck: ``seq`` is beyond the cursor (the client was never sent it).
        """
        if seq <= self._acked:
            return
        if seq > self._cursor:
            raise InvalidAck(f"ack {seq} is beyond the last frame sent ({self._cursor})")
        self._acked = seq
        first = self._last_seq - len(self._sent) - len(self._unsent) + 1
        del self._sent[: min(seq - first + 1, len(self._sent))]

    def next_ready(self) -> F | None:
        """Hand out the next stamped frame after the cursor, advancing it.

        Returns:
            The frame, or None when nothing is ready: nothing unsent, no connection, or a
            snapshot is owed.
        """
        if not self._unsent or not self._attached or self._needs_snapshot:
            return None
        body = self._unsent.pop(0)
        self._sent.append(body)
        self._cursor += 1
        if self._cursor > self._highest_handed_out:
            self._highest_handed_out = self._cursor
        self._stall.update(len(self._unsent))
        return self._stamp(body, self._cursor)

    async def next_frame(self) -> F:
        """Wait for the next stamped frame and hand it out.

        Raises:
            trio.ClosedResourceError: the stream is detached, or was detached or attached to
                a new connection while waiting.
        """
        connection = self._connection
        await trio.lowlevel.checkpoint_if_cancelled()
        waited = False
        while True:
            if not self._attached or self._connection != connection:
                raise trio.ClosedResourceError("the stream's connection is gone")
            frame = self.next_ready()
            if frame is not None:
                if not waited:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return frame
            if self._wakeup is None:
                self._wakeup = trio.Event()
            await self._wakeup.wait()
            waited = True

    def attach(self, last_seq: int | None) -> bool:
        """A (re)connection: resume after the last frame the client saw.

        The frames after ``last_seq`` are handed out again, in order; when a snapshot is the
        oldest retained frame and ``last_seq`` is before it, the resume starts at the
        snapshot instead. ``last_seq`` also acks. Any waiter of an older connection is
        woken with ``ClosedResourceError``. A stream on which nothing was published yet
        accepts ``last_seq=0``.

        Args:
            last_seq: the last sequence number the client received, or None when it has
                nothing.

        Returns:
            True when the stream can resume; False when it cannot (None, a ``last_seq``
            beyond ``last_seq``, frames after it no longer retained, or a snapshot already
            owed): :attr:`needs_snapshot` is then set and the owner must :meth:`reset`.
        """
        self._connection += 1
        self._attached = True
        self._stall.clear()
        self._wake()
        resume_from = self._resume_point(last_seq)
        if last_seq is None or resume_from is None:
            self._needs_snapshot = True
            return False
        self._move_cursor(resume_from - 1)
        self.ack(last_seq)
        self._stall.update(len(self._unsent))
        return True

    def detach(self) -> None:
        """The connection is gone: keep retaining frames (up to capacity) for a resume."""
        self._connection += 1
        self._attached = False
        self._stall.clear()
        self._wake()

    def stalled(self, now: float) -> bool:
        """Whether the unsent frames have stayed at high water for ``slow_after`` s."""
        return self._stall.stalled(now)

    async def wait_stalled(self) -> None:
        """Return once the unsent frames have stayed at high water for ``slow_after`` s."""
        await self._stall.wait_stalled()

    def _resume_point(self, last_seq: int | None) -> int | None:
        """The first seq to hand out to a client that has ``last_seq``, or None."""
        if last_seq is None or self._needs_snapshot or not 0 <= last_seq <= self._last_seq:
            return None
        first = self._last_seq - len(self._sent) - len(self._unsent) + 1
        if last_seq + 1 >= first:
            return last_seq + 1
        if self._snapshot_seq == first and first <= self._last_seq:
            return first
        return None

    def _move_cursor(self, cursor: int) -> None:
        """Re-split the retained frames so that the next one handed out is ``cursor + 1``."""
        first = self._last_seq - len(self._sent) - len(self._unsent) + 1
        want_sent = max(0, cursor - first + 1)
        if len(self._sent) > want_sent:
            self._unsent[:0] = self._sent[want_sent:]
            del self._sent[want_sent:]
        elif len(self._sent) < want_sent:
            moved = want_sent - len(self._sent)
            self._sent += self._unsent[:moved]
            del self._unsent[:moved]
        self._cursor = cursor
        # A client claiming frames this connection never sent: trust it, but never count
        # those frames as dropped later.
        self._highest_handed_out = max(self._highest_handed_out, cursor)

    def _evict_oldest(self) -> None:
        if self._sent:
            self._sent.pop(0)
            return
        evicted_seq = self._last_seq - len(self._unsent) + 1
        self._unsent.pop(0)
        self._needs_snapshot = True
        if evicted_seq > self._highest_handed_out:
            self._dropped += 1
            if self._on_dropped is not None:
                self._on_dropped()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None
