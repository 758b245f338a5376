"""Connection actor: one per player WebSocket, attached to the player's session.

Owns:
    the WebSocket (``tilemud.wire``) and its outbox of replies.
Started by:
    the gateway, in its handler nursery, once the handshake succeeded. Restart type:
    temporary: when the connection ends the session waits for the player to come back.
Takes:
    the player's frames, read by its own reader task, decoded, and handed to the session one
    at a time. The reader waits while the outbox is full, so a player who floods is
    backpressured at the socket. Every frame counts against the connection's frame budget
    (``gateway.frame_rate`` / ``frame_burst``): the first frame of a run over it is answered
    ``rate_limited`` with ``retry_after``; a longer run closes 1008 (the wire layer).
    ``request_close`` (from the gateway or the session keeper).
Sends:
    replies first (the outbox), then the session's stream frames, each stamped with its
    seq. While the connection is idle (nothing queued, no send in progress), a stream frame
    is written by the fan-out itself (:meth:`Connection.write_now`, a non-blocking write
    to the socket: no task switch per player; a connected player who is up to date gets
    the frame published and written in one step, :meth:`Connection.deliver_now`); the
    writer task is woken only when the kernel's buffer is full or something is queued,
    and then writes everything queued in one send.
Mailbox:
    the outbox, ``gateway.outbound_queue`` replies. An outbox or a stream whose backlog
    stays full for ``gateway.slow_client_timeout`` seconds closes the connection with 4008
    (slow client; the gateway looks at every connection a few times a second); the
    session keeps its frames for a resume. A close, once begun, ends within
    ``gateway.close_timeout``: the writer's last frame, the close frame and the client's
    answer share that deadline; a client that never answers is dropped then.

Why one module of over 400 lines: the reader, the writer, the fast path from the fan-out
and the close share the connection's few flags (writing, closing, reading stopped), whose
order of changes is the correctness of the send path: they are kept in one place.
"""

from __future__ import annotations

import contextlib
import logging
import math

import attrs
import trio

from tilemud.actors.session._critical import NotNow
from tilemud.actors.session._outbox import Outbox
from tilemud.actors.session._session import Session
from tilemud.actors.session._stream import SessionStream
from tilemud.config import GatewaySettings
from tilemud.errors import ProtocolError
from tilemud.metrics import ConnectionMeter
from tilemud.protocol import (
    CloseCode,
    ErrorCode,
    ErrorFrame,
    Hello,
    binary_frame_error,
    decode_client,
    decode_common_client,
    encode_server,
    error_reply,
)
from tilemud.wire import ConnectionClosed, ReadHub, Refused, WebSocket, encode_text

log = logging.getLogger("tilemud.connection")

#: Bytes the writer gathers into one send (at least one frame, whatever its size).
SEND_BATCH_BYTES = 256 * 1024

#: Not a close code on the wire: marks a connection whose client closed or vanished first.
CLIENT_LEFT = -1


@attrs.frozen
class CloseRequest:
    """Why a connection is being closed: the WebSocket close code and reason.

    The reason is the error code that names the cause (docs/protocol.md, close codes).
    ``farewell``, when given, is an encoded ``error`` frame written just before the close
    frame (a ban's ``banned`` with ``until``): the last thing the client reads.
    """

    code: int
    reason: str
    farewell: str | None = None


def rate_limited_reply(data: str | bytes | None, retry_after: float) -> str:
    """The ``rate_limited`` error that answers a frame over the budget.

    Echoes the frame's ``rid`` when it can be read; ``retry_after`` is rounded up to the
    millisecond so that a positive wait never reads as 0.
    """
    rid = None
    if isinstance(data, str):
        try:
            rid = getattr(decode_client(data), "rid", None)
        except ProtocolError as exc:
            rid = exc.rid
    return encode_server(
        ErrorFrame(
            code=ErrorCode.RATE_LIMITED,
            message="too many frames on this connection; wait for retry_after",
            rid=rid,
            retry_after=math.ceil(retry_after * 1000) / 1000,
        )
    )


class Connection:
    """The connection actor's state and tasks. Only its own tasks touch it.

    Args:
        websocket: the accepted WebSocket, its handshake done; the connection closes it.
        session: the session it serves.
        settings: the gateway's settings.
        meter: the metrics it feeds (handshake duration, replies dropped).
        opened_at: the Trio time of the WebSocket upgrade; the handshake lasts until the
            welcome is written.
    """

    def __init__(
        self,
        websocket: WebSocket,
        session: Session,
        settings: GatewaySettings,
        *,
        meter: ConnectionMeter,
        opened_at: float,
        writers: trio.Nursery,
        hub: ReadHub | None = None,
    ) -> None:
        self._websocket = websocket
        self._hub = hub
        self.session = session
        self._settings = settings
        self._meter = meter
        self._opened_at = opened_at
        self._outbox = Outbox(
            settings.outbound_queue,
            settings.slow_client_timeout,
            on_dropped=meter.reply_dropped.inc,
        )
        #: Frames written to the socket. A plain int on the hot path: the gateway sums
        #: them when the metrics are scraped.
        self.frames_sent = 0
        # The writer task runs only while there is something the fast path could not
        # write, in the gateway's handler nursery (a nursery per connection cost ~1.3 KB
        # per idle player); `_writer` is its cancel scope and `_writer_done` is set when
        # it ends (both None while none runs). `_serving` is true while run() may start it.
        self._writers = writers
        self._serving = False
        self._writer: trio.CancelScope | None = None
        self._writer_done: trio.Event | None = None
        self._writer_failed: BaseException | None = None
        # The writer holds frames it took and has not finished writing: the fast path must
        # not overtake them.
        self._writing = False
        # One cancel scope for the reader (each scope is ~700 bytes per idle player): a
        # close request cancels it wherever the reader is; a graceful stop
        # (stop_reading) cancels it only while the reader waits for a frame.
        self._reading: trio.CancelScope | None = None
        self._waiting_for_frame = False
        self._reading_stopped = False
        self._close: CloseRequest | None = None

    @property
    def closing(self) -> CloseRequest | None:
        """The close under way, if any (the first one requested)."""
        return self._close

    @property
    def dropped(self) -> int:
        """Replies dropped because the outbox was full."""
        return self._outbox.dropped

    @property
    def writes_cut(self) -> int:
        """Fast-path writes the kernel took only in part; the writer finished them."""
        return self._websocket.writes_cut

    @property
    def outbox_depth(self) -> int:
        """Replies waiting in the outbox."""
        return self._outbox.depth

    @property
    def settled(self) -> bool:
        """No critical request of its session waits for an answer, and no reply for the
        writer (what a graceful stop waits for before it closes the connection)."""
        return self.session.requests.pending == 0 and self._outbox.depth == 0

    def stop_reading(self) -> None:
        """Read no more of the player's frames; the one being handled is finished first.

        A graceful stop calls it, waits until the connection is :attr:`settled`, then
        closes it: every request read is answered, and one not read was not applied.
        """
        self._reading_stopped = True
        if self._waiting_for_frame and self._reading is not None:
            self._reading.cancel()

    def request_close(self, code: int, reason: str, farewell: str | None = None) -> None:
        """Ask the connection to close with ``code`` (after the ``farewell`` frame, if
        any); the first request wins."""
        if self._close is None:
            self._close = CloseRequest(code, reason, farewell)
            if self._reading is not None:
                self._reading.cancel()

    async def run(self, welcome: str, last_seq: int | None) -> CloseRequest | None:
        """Serve the player until the connection ends or a close is requested.

        The reader runs here, in the connection's own (the gateway's) task: one task per
        player, and no coroutine of its own (memory per idle player). It reads and handles
        the player's frames until the client leaves or no more may be read; after a
        graceful stop (stop_reading) it waits for the close request.

        Args:
            welcome: the encoded ``welcome``; always the first frame written.
            last_seq: the last stream seq the client saw (from its ``hello``), if any.

        Returns:
            The close that ended the connection, or None when the client went away first.

        Raises:
            Exception: what a bug raised in the writer task (after the connection's end),
                for the gateway to contain as it contains the reader's.
        """
        self._outbox.offer(welcome)
        del welcome  # not held for the connection's whole life
        self._serving = True
        try:
            await self.session.attach(self._outbox, self, last_seq)
        except BaseException:
            self._stop_serving()
            raise
        try:
            self._wake_writer()  # whatever was queued before (the welcome, a resume)
            self._websocket.serve_from(self._hub, self._handle_now)
            late: str | bytes | Refused | None = None
            with trio.CancelScope() as reading:
                self._reading = reading
                if self._close is not None:
                    reading.cancel()
                while not self._reading_stopped:
                    self._waiting_for_frame = True
                    try:
                        frame = await self._websocket.receive()
                    except ConnectionClosed as closed:
                        if closed.local:  # the wire closes: a broken frame, too big, a flood
                            self.request_close(closed.code, closed.reason)
                        break
                    finally:
                        self._waiting_for_frame = False
                    if reading.cancel_called:
                        late = frame  # stop_reading came as it arrived: handled below
                        break
                    if not await self._handle_frame(frame):
                        break
                    del frame  # not held while the next one is awaited
            await self._after_reading(late)
            # One deadline for the whole close, from the moment it began.
            deadline = trio.current_time() + self._settings.close_timeout
            await self._stop_writer(deadline)
        finally:
            self.session.detach()
            self._stop_serving()
        if self._writer_failed is not None:
            raise self._writer_failed
        return await self._finish_close(deadline)

    async def _after_reading(self, late: str | bytes | Refused | None) -> None:
        """Once no more frames are read: the frame that arrived as stop_reading came is
        handled all the same; then, after a graceful stop, wait for the close request."""
        if self._close is None and late is not None:
            with trio.CancelScope() as reading:
                self._reading = reading
                await self._handle_frame(late)
        if self._close is None and not self._reading_stopped:
            self.request_close(CLIENT_LEFT, "client left")
        if self._close is None:  # a graceful stop: until the close is requested
            with trio.CancelScope() as waiting:
                self._reading = waiting
                await trio.sleep_forever()
        self._reading = None

    def _stop_serving(self) -> None:
        self._serving = False
        self._outbox.close()
        if self._writer is not None:  # cancelled from outside: the writer goes too
            self._writer.cancel()

    async def _finish_close(self, deadline: float) -> CloseRequest | None:
        """The farewell frame, if any, and the closing handshake, by ``deadline``."""
        close = self._close
        assert close is not None
        with trio.CancelScope(shield=True):
            # Bounded by the deadline; shielded so that a cancelled gateway still drops
            # the socket (the close itself ends by the deadline).
            if close.farewell is not None:
                # After the writer stopped, so never inside another frame; a connection
                # already broken or closed refuses it and the close goes on.
                with trio.move_on_at(deadline), contextlib.suppress(ConnectionClosed):
                    await self._websocket.send_text(close.farewell)
            await self._websocket.close(close.code, close.reason, deadline=deadline)
        return None if close.code == CLIENT_LEFT else close

    async def _stop_writer(self, deadline: float) -> None:
        """Let the writer finish the frame it is in, then stop it (cancelled at ``deadline``).

        The writer may be in the middle of a frame: cancelling it there would leave half a
        frame on the wire before the close frame. Closing the outbox lets it finish that
        frame and stop; a writer still stuck at the deadline is cancelled, and the wire
        layer then drops the socket without a close frame.
        """
        self._outbox.close()
        writer_done = self._writer_done
        if writer_done is None:
            return
        with trio.CancelScope(shield=True):
            with trio.move_on_at(deadline):
                await writer_done.wait()
            if self._writer is not None:
                self._writer.cancel()
            await writer_done.wait()  # cancelled: it ends at its next checkpoint

    @property
    def backlog_full(self) -> bool:
        """Whether the outbox or the stream is full now: only then can it stall later."""
        # A backlog stalled at the end of time is one full now (the stream's module is
        # at the house's 400 lines: no property of its own for it).
        return self._outbox.full or self.session.stream.stalled(math.inf)

    def close_if_stalled(self, now: float) -> bool:
        """Close with 4008 when the outbox or the stream has stayed full too long.

        The gateway calls it a few times a second for every connection whose backlog was
        full at its last survey (one task for all of them, rather than two waiting tasks
        per connection: memory per player).

        Returns:
            Whether the connection is (now) closing as a slow client.
        """
        if self._close is None and (self._outbox.stalled(now) or self.session.stream.stalled(now)):
            identity = self.session.identity
            log.warning(
                "slow client: backlog full too long",
                extra={"player_id": identity.player_id, "session_id": identity.session_id},
            )
            self.request_close(CloseCode.SLOW_CLIENT, ErrorCode.SLOW_CLIENT)
        return self._close is not None and self._close.code == CloseCode.SLOW_CLIENT

    async def _handle_frame(self, frame: str | bytes | Refused) -> bool:
        """Answer one frame of the player's; False when no more may be read."""
        if isinstance(frame, Refused):
            await self._send_reply(rate_limited_reply(frame.data, frame.retry_after))
            return True
        try:
            if isinstance(frame, bytes):
                raise binary_frame_error()
            message = decode_client(frame)
        except ProtocolError as exc:
            await self._send_reply(encode_server(error_reply(exc, rid=exc.rid)))
            return True
        reply = await self.session.handle(message, read_at=self._websocket.read_at)
        if reply is not None:
            await self._send_reply(reply)
        if isinstance(message, Hello):
            # A second hello: the client's idea of the connection is wrong.
            self.request_close(CloseCode.BAD_HELLO, ErrorCode.DUPLICATE_HELLO)
            return False
        return True

    def _handle_now(self, frame: str) -> bool:
        """Answer a frame read by the hub while the reader waits, when that needs no
        waiting (a ``place``, an ``ack``); False, having done nothing, for any other: the
        reader's task then handles it (:meth:`_handle_frame`)."""
        if not self._outbox.has_room:  # a reply might have to wait for room
            return False
        message = decode_common_client(frame)
        if message is None:
            return False
        reply = self.session.handle_now(message, read_at=self._websocket.read_at)
        if isinstance(reply, NotNow):
            return False
        if reply is not None:
            self._outbox.offer(self.session.say(reply))
            self.write_now()
        return True

    async def _send_reply(self, frame: str) -> None:
        await self._outbox.put(self.session.say(frame))
        self.write_now()

    def write_now(self) -> None:
        """Write what is queued from the caller's task, if the socket takes it at once.

        The session's doorbell: the fan-out rings it after publishing a frame, an arena
        after queueing a reply. While the writer task is idle and no bytes are pending,
        everything queued (normally one frame) goes to the socket at once, without waking
        the writer: no task switch per player. When the kernel's buffer takes only part of
        it, the wire layer holds the rest and the writer is woken to finish it; when a
        send is under way, only the writer is woken. Never blocks.
        """
        if self._writing or self._outbox.closed or not self._websocket.can_write_nowait:
            self._wake_writer()
            return
        batch = self._take_batch(self.session.stream)
        if not batch:
            return
        first = self.frames_sent == 0
        self._websocket.write_nowait(batch[0] if len(batch) == 1 else b"".join(batch))
        self._sent(len(batch), first=first)
        websocket = self._websocket
        if (
            websocket.pending
            or websocket.closed
            or self.session.stream.unsent
            or self._outbox.depth
        ):
            self._wake_writer()

    #: The session's doorbell (:class:`tilemud.mailbox.Bell`) is :meth:`write_now`: the
    #: connection is its own bell (one object less per player).
    ring = write_now

    def deliver_now(self, stream: SessionStream[bytes], body: str) -> bool:
        """Publish ``body`` to the session's ``stream`` and write its frame, in one step,
        when :meth:`write_now` would write it alone at once: no send under way, no reply
        queued, the socket free, and the stream up to date (``publish_now``).

        The fan-out's common case, once per player per tick: its checks, the batch and the
        join of :meth:`write_now` are all known to be trivial here. Never blocks.

        Returns:
            True when the frame was taken (written, or held by the wire layer for the
            writer, as :meth:`write_now` leaves it); False, nothing done, otherwise: the
            session then publishes and rings.
        """
        websocket = self._websocket
        if self._writing or not self._outbox.idle or not websocket.can_write_nowait:
            return False
        frame = stream.publish_now(body)
        if frame is None:
            return False
        # Nothing ran since the check above: the socket is still free.
        self._write_free(frame)
        return True

    def answer_now(self, reply: str) -> bool:
        """Write the reply ``reply`` at once, when :meth:`write_now` would write it alone
        at once after it was offered to the outbox: no send under way, the outbox idle
        (:attr:`Outbox.at_once`), nothing unsent in the stream and the socket free.

        An arena's answers to placements, ~2 per player per second: the outbox's queue,
        the batch and the checks after the write are known to be trivial here. Never
        blocks.

        Returns:
            True when the reply was taken (written, or held by the wire layer for the
            writer, as :meth:`write_now` leaves it); False, nothing done, otherwise: the
            session then offers it to the outbox and rings.
        """
        websocket = self._websocket
        if (
            self._writing
            or not self._outbox.at_once
            or self.session.stream.unsent
            or not websocket.can_write_nowait
        ):
            return False
        self._write_free(encode_text(reply))
        return True

    def _write_free(self, frame: bytes | bytearray) -> None:
        """Write one whole frame to a socket just found free (``can_write_nowait``)."""
        follow = self._websocket.write_free(frame)
        if self.frames_sent:
            self.frames_sent += 1
        else:
            self._sent(1, first=True)
        if follow:
            self._wake_writer()  # the rest of the frame, or the broken transport's end

    def _sent(self, frames: int, *, first: bool) -> None:
        self.frames_sent += frames
        if first and frames:  # the welcome, always the first frame: run() queued it
            self._meter.handshake_seconds.observe(trio.current_time() - self._opened_at)

    def _wake_writer(self) -> None:
        """Start the writer task unless it runs (it ends once nothing is left to write)."""
        if self._writer_done is None and self._serving and not self._outbox.closed:
            self._writer_done = trio.Event()
            self._writers.start_soon(self._write_frames, self._writer_done)

    async def _write_frames(self, done: trio.Event) -> None:
        # It runs in the gateway's nursery: a bug here must end only this connection. It
        # is kept for run() to raise, where the gateway contains it (1011).
        try:
            with trio.CancelScope() as scope:
                self._writer = scope
                await self._write_queued()
        except Exception as exc:
            self._writer_failed = exc
            self.request_close(CLIENT_LEFT, "writer failed")
        finally:
            self._writer = None
            self._writer_done = None
            done.set()

    async def _write_queued(self) -> None:
        stream = self.session.stream
        websocket = self._websocket
        while not self._outbox.closed:
            if websocket.closed is not None:  # the transport broke under write_now
                self.request_close(CLIENT_LEFT, "client left")
                return
            batch = self._take_batch(stream)
            if not batch and not websocket.pending:
                return  # all written: the next frame goes by the fast path again
            first = self.frames_sent == 0
            self._writing = True
            try:
                # The rest of a frame the fast path began goes first (the wire sees to it).
                await websocket.send_frames(b"".join(batch))
            except ConnectionClosed:
                self.request_close(CLIENT_LEFT, "client left")
                return
            finally:
                self._writing = False
            self._sent(len(batch), first=first)

    def _take_batch(self, stream: SessionStream[bytes]) -> list[bytes]:
        """Everything queued, replies first, up to :data:`SEND_BATCH_BYTES`."""
        batch: list[bytes] = []
        size = 0
        while size < SEND_BATCH_BYTES and (reply := self._outbox.take_nowait()) is not None:
            encoded = encode_text(reply)
            batch.append(encoded)
            size += len(encoded)
        while size < SEND_BATCH_BYTES and (frame := stream.next_ready()) is not None:
            batch.append(frame)
            size += len(frame)
        return batch
