"""One accepted WebSocket, server side: wsproto parses, this class owns the stream.

Why not trio-websocket: it reads wsproto's close event for a broken frame and never sends
it, so invalid UTF-8, unmasked frames, reserved bits, unknown opcodes and bad close
payloads dropped TCP without the 1002 / 1007 the protocol promises; it bounds neither the
closing handshake of a client that never answers nor the sockets it holds; and it frames
every message again for every player. docs/architecture.md ("The wire") has the story.

Tasks: one reader calls :meth:`WebSocket.receive`; any number of tasks send (a lock keeps
frames whole). :meth:`WebSocket.close` is called once the reader has stopped: it reads the
client's answer itself. Every send cancelled halfway marks the stream broken, and a broken
stream is only ever dropped, never written to again.

The fast path (issue 13): :meth:`WebSocket.write_nowait` writes frames from the caller's
own task, without waiting and without a task switch, when no send is in progress and the
transport is a plain TCP socket. What the kernel's buffer does not take is held and goes
out first with the next send (:meth:`WebSocket.flush`), so a frame is never cut or
interleaved.

Why one module of over 400 lines: receiving, the two ways of sending and the closing
handshake share one object's state (the send lock, the bytes pending, how it closed), and
their rules (a frame is never cut nor overtaken, a broken stream is only dropped) hold
only together; split, each part would have to reach into the others.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import Final, NoReturn

import attrs
import trio
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    TextMessage,
)

from tilemud.wire._budget import FrameBudget, Verdict
from tilemud.wire._frames import encode_text
from tilemud.wire._hub import HubStopped, ReadHub
from tilemud.wire._reader import JUDGE, FrameSplitter

#: Not a code on the wire: the TCP connection ended without a close frame (RFC 6455 7.1.5).
ABNORMAL_CLOSURE = 1006
#: Reads that found bytes at once, in a row, before the reader yields to other tasks
#: (a read that has to wait yields anyway).
READS_BEFORE_YIELD: Final = 16

_PROTOCOL_ERROR = 1002
_INVALID_UTF8 = 1007
_FLOOD = 1008
_TOO_BIG = 1009
#: The close codes this layer sends on its own and their reasons (docs/protocol.md).
_REASONS: Final = {
    _PROTOCOL_ERROR: "protocol_error",
    _INVALID_UTF8: "invalid_utf8",
    _FLOOD: "rate_limited",
    _TOO_BIG: "frame_too_large",
}


class ConnectionClosed(Exception):
    """The WebSocket is closed (or closing): no more messages will arrive.

    Attributes:
        code: the close code (the client's, ours, or 1006 when TCP ended without one).
        reason: the close reason text.
        local: True when this layer closes (a broken frame, a message too big, a flood):
            its close frame goes out with :meth:`WebSocket.close`.
    """

    def __init__(self, code: int, reason: str = "", *, local: bool = False) -> None:
        super().__init__(f"connection closed: {code} {reason}".strip())
        self.code = code
        self.reason = reason
        self.local = local


@attrs.frozen
class Refused:
    """A frame over the connection's budget, the first of its run: answer ``rate_limited``.

    Attributes:
        data: the message it carried (None for a ping or pong).
        retry_after: seconds until the budget admits a frame again.
    """

    data: str | bytes | None
    retry_after: float


@attrs.frozen(kw_only=True)
class Limits:
    """What one connection may do.

    Attributes:
        max_message_bytes: the largest message accepted; larger closes with 1009.
        close_timeout: seconds a close may take, from its start to the dropped socket.
        frame_rate: frames per second allowed (sustained).
        frame_burst: frames allowed at once, and the longest run of refused frames.
        receive_bytes: bytes read from the stream at a time.
    """

    max_message_bytes: int
    close_timeout: float
    frame_rate: float
    frame_burst: int
    receive_bytes: int = 16 * 1024


class WebSocket:
    """An open WebSocket connection over ``stream``.

    Args:
        stream: the transport (TCP, TLS, or a memory stream in tests).
        protocol: wsproto's connection state after the upgrade was accepted, or None
            for a connection without extensions: wsproto's state is then made only when
            a frame needs it (the splitter reads plain text frames; ~1.6 KB per idle
            player, issue 13).
        limits: message size, close timeout and frame budget.
        received: the client's bytes that came after its upgrade request (in the same
            read), not given to ``protocol``.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: Connection | None,
        limits: Limits,
        *,
        received: bytes = b"",
    ) -> None:
        self._stream = stream
        self._protocol = protocol  # see _wsproto()
        self._limits = limits
        # Plain text frames are read without wsproto; the rest goes to it (_reader.py).
        # None once the connection is closing: then wsproto reads everything.
        self._splitter: FrameSplitter | None = FrameSplitter(
            plain_limit=min(limits.max_message_bytes, limits.receive_bytes), received=received
        )
        self._budget = FrameBudget(
            rate=limits.frame_rate, burst=limits.frame_burst, now=trio.current_time()
        )
        # Made by the first send that waits (the fast path needs none): ~330 bytes per
        # idle player.
        self._send_lock: trio.StrictFIFOLock | None = None
        self._broken = False
        # The socket's descriptor for write_nowait: only a plain TCP socket (TLS and memory
        # streams have their own buffers, and always go through send_all).
        self._fd = stream.socket.fileno() if isinstance(stream, trio.SocketStream) else None
        # The rest of frames write_nowait could not finish: it goes out before anything else.
        self._pending: memoryview | None = None
        #: Writes of write_nowait that the kernel took only in part (or not at all).
        self.writes_cut = 0
        #: Set once a close began; the first one wins.
        self._closed: ConnectionClosed | None = None
        # A close this layer started for a broken frame: the client's bytes after it are
        # not parsed any more (RFC 6455 7.1.7, "fail the WebSocket connection").
        self._failed = False
        # Reads in a row that found bytes without waiting: the reader yields to the
        # scheduler only every READS_BEFORE_YIELD of them (see _receive_some).
        self._reads_unyielded = 0
        # The client's close frame, when the client began the closing handshake.
        self._client_close: CloseConnection | None = None
        self._transport_gone = False
        # The Trio time of the last read from the transport.
        self._read_at = trio.current_time()
        # While a read hub serves this connection (serve_from): the hub, and the caller's
        # handler of the messages it can answer without waiting (True: answered).
        self._hub: ReadHub | None = None
        self._handle_now: Callable[[str], bool] | None = None
        # A message the hub read and left for receive() to return; and the hub met the end
        # of the stream or an error, which receive() reads itself.
        self._held: str | bytes | Refused | None = None
        self._must_read = False
        # The message being received: its parts, its size, and the verdict of its frames.
        self._parts: list[str | bytes] = []
        self._size = 0
        self._refusal: Verdict | None = None

    @property
    def closed(self) -> ConnectionClosed | None:
        """How the connection closed (or is closing), or None while it is open."""
        return self._closed

    # -- receiving ---------------------------------------------------------------------

    @property
    def read_at(self) -> float:
        """The Trio time at which the bytes that completed the last message were read."""
        return self._read_at

    async def receive(self) -> str | bytes | Refused:
        """The next message: text, binary, or a :class:`Refused` frame to answer.

        Pings are answered here (when within budget); refused frames after the first of a
        run are dropped here. Only one task may call it.

        Raises:
            ConnectionClosed: the client closed or vanished, broke the protocol, sent a
                message over the size limit, or flooded. :meth:`close` then finishes the
                closing handshake (with the close frame this layer chose, if it did).
        """
        if self._closed is not None:
            raise self._closed
        while True:
            if self._held is not None:  # read by the hub, first in line
                held, self._held = self._held, None
                return held
            # wsproto's events first: they came before anything still in the splitter.
            if self._protocol is not None:
                for event in self._protocol.events():
                    result = await self._on_event(event)
                    if result is not None:
                        return result
            splitter = self._splitter
            if splitter is not None and (piece := splitter.take()) is not None:
                kind, frame = piece
                if kind == JUDGE:
                    self._wsproto().receive_data(frame)
                elif (message := self._on_plain_text(frame)) is not None:
                    return message
                continue
            hub = self._hub
            if hub is not None and hub.running and self._fd is not None and not self._must_read:
                try:
                    await hub.wait(self._fd, self._take_ready)
                except HubStopped:
                    self._hub = None
                if self._failed and self._closed is not None:  # a flood met by the hub
                    raise self._closed
                continue
            self._must_read = False
            try:
                data = await self._receive_some()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self._transport_gone = True
                raise self._close_with(ConnectionClosed(ABNORMAL_CLOSURE))
            self._read_at = trio.current_time()
            if self._splitter is not None:  # (a close may have retired it meanwhile)
                self._splitter.feed(data)
            else:
                self._wsproto().receive_data(bytes(data))

    def serve_from(self, hub: ReadHub | None, handle_now: Callable[[str], bool]) -> None:
        """Let ``hub`` wait for this connection's bytes while :meth:`receive` has nothing.

        In the hub's task, messages go to ``handle_now`` first (it must not block, and
        returns False for a message it cannot answer at once); :meth:`receive` returns
        only the others, in order: the hub takes bytes only while the reader waits in
        :meth:`receive`, so nothing is answered ahead of what came before it. Without a
        hub (None), or on a transport that is not a plain TCP socket, :meth:`receive` reads
        as before.
        """
        self._hub, self._handle_now = hub, handle_now

    def _take_ready(self) -> bool:
        """The hub's call while the reader is parked and the socket has bytes: read once,
        answer what ``handle_now`` can; True when the reader's task must go on."""
        splitter, handle_now, fd = self._splitter, self._handle_now, self._fd
        if splitter is None or handle_now is None or fd is None:
            return True
        # Read first: the reader parked (and this returned) with no whole frame buffered.
        # Once per pass: a socket with more is still readable at the next one.
        try:
            data = os.read(fd, self._limits.receive_bytes)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:  # reset: receive() reads it again and finds the end
            data = b""
        if not data:
            self._must_read = True
            return True
        read_at = self._read_at = trio.current_time()  # its frames are charged then
        splitter.feed(data)
        while (piece := splitter.take()) is not None:
            kind, frame = piece
            if kind == JUDGE:
                self._wsproto().receive_data(frame)
                return True
            try:
                message = self._on_plain_text(frame, read_at)
            except ConnectionClosed:  # (a flood, invalid UTF-8): receive() raises it
                return True
            if message is None:  # refused and dropped (a run over the budget)
                continue
            if isinstance(message, Refused) or not handle_now(message):
                self._held = message
                return True
        return False

    def _wsproto(self) -> Connection:
        """wsproto's state of this connection, made when first needed."""
        if self._protocol is None:
            self._protocol = Connection(ConnectionType.SERVER)
        return self._protocol

    async def _receive_some(self) -> bytes | bytearray:
        """The next bytes from the client (empty at the end of the stream).

        On a plain TCP socket, the wait for it to become readable and a non-blocking read
        of the descriptor: the stream's ``receive_some`` holds three more coroutines and a
        conflict detector while it waits, ~2 KB per idle player (issue 13). Only the
        reader calls it, so no conflict detector is needed.
        """
        fd = self._fd
        if fd is None:
            return await self._stream.receive_some(self._limits.receive_bytes)
        # As trio's own socket reads: cancellable before the read, never after it (the
        # bytes read would be lost); the wait only when nothing is there yet.
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                data = os.read(fd, self._limits.receive_bytes)
            except (BlockingIOError, InterruptedError):
                # Waited for outside the handler: the exception would be held meanwhile.
                data = None
            except OSError as exc:  # reset by the client: the end of its stream
                raise trio.BrokenResourceError(str(exc)) from exc
            if data is not None:
                # A pass of the scheduler after every read cost one task switch per
                # client frame (issue 13: a third of the server's CPU was Trio's own).
                # The wait below yields whenever the client has sent nothing more; a
                # client whose bytes never run out still lets the others run every
                # READS_BEFORE_YIELD reads.
                self._reads_unyielded += 1
                if self._reads_unyielded >= READS_BEFORE_YIELD:
                    self._reads_unyielded = 0
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return data
            self._reads_unyielded = 0
            await trio.lowlevel.wait_readable(fd)

    def _on_plain_text(self, payload: bytes, now: float | None = None) -> str | Refused | None:
        """A final text frame read by the splitter: the whole message (what ``_on_data``
        does for one from wsproto, in one step), charged at ``now`` (the current time)."""
        try:
            text = payload.decode()
        except UnicodeDecodeError:
            self._fail(_INVALID_UTF8)
        verdict = self._charge(now)
        if verdict is Verdict.ADMIT:
            return text
        return self._refused(text) if verdict is Verdict.REFUSE else None

    async def _on_event(self, event: object) -> str | bytes | Refused | None:
        match event:
            case TextMessage() | BytesMessage():
                return self._on_data(event)
            case Ping():
                verdict = self._charge()
                if verdict is Verdict.ADMIT:
                    await self._send_bytes(self._wsproto().send(event.response()))
                    return None
                return self._refused(None) if verdict is Verdict.REFUSE else None
            case Pong():
                return self._refused(None) if self._charge() is Verdict.REFUSE else None
            case CloseConnection():
                if self._wsproto().state is ConnectionState.REMOTE_CLOSING:
                    self._client_close = event
                    raise self._close_with(ConnectionClosed(event.code, event.reason or ""))
                # wsproto reports a frame it could not parse as a close event of its own.
                code = event.code if event.code in _REASONS else _PROTOCOL_ERROR
                self._fail(code)
        return None

    def _on_data(self, event: TextMessage | BytesMessage) -> str | bytes | Refused | None:
        data: str | bytes = event.data if isinstance(event.data, str) else bytes(event.data)
        if isinstance(data, str):
            self._size += len(data) if data.isascii() else len(data.encode())
        else:
            self._size += len(data)
        if self._size > self._limits.max_message_bytes:
            self._fail(_TOO_BIG)
        self._parts.append(data)
        if event.frame_finished:
            verdict = self._charge()
            if verdict is not Verdict.ADMIT and self._refusal is not Verdict.REFUSE:
                self._refusal = verdict
        if not event.message_finished:
            return None
        parts, self._parts, self._size = self._parts, [], 0
        refusal, self._refusal = self._refusal, None
        if refusal is Verdict.DROP:
            return None
        if isinstance(data, str):
            message: str | bytes = "".join(p for p in parts if isinstance(p, str))
        else:
            message = b"".join(p for p in parts if isinstance(p, bytes))
        return self._refused(message) if refusal is Verdict.REFUSE else message

    def _charge(self, now: float | None = None) -> Verdict:
        """Count one frame against the budget at ``now`` (the current time); a flood fails
        the connection."""
        verdict = self._budget.spend(trio.current_time() if now is None else now)
        if verdict is Verdict.ABUSE:
            self._fail(_FLOOD)
        return verdict

    def _refused(self, data: str | bytes | None) -> Refused:
        return Refused(data, self._budget.retry_after(trio.current_time()))

    def _fail(self, code: int) -> NoReturn:
        """Fail the connection (RFC 6455 7.1.7): close with ``code``, parse nothing more."""
        self._failed = True
        raise self._close_with(ConnectionClosed(code, _REASONS[code], local=True))

    def _close_with(self, closed: ConnectionClosed) -> ConnectionClosed:
        if self._closed is None:
            self._closed = closed
        if self._splitter is not None:
            # Closing: wsproto reads whatever comes now (the client's close frame).
            rest = self._splitter.rest()
            self._splitter = None
            if rest and not self._failed and self._wsproto().state is not ConnectionState.CLOSED:
                self._wsproto().receive_data(rest)
        return self._closed

    # -- sending -----------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        """Send one text message.

        Raises:
            ConnectionClosed: the connection is closed or closing.
        """
        await self.send_frames(encode_text(text))

    async def send_frames(self, frames: bytes | bytearray) -> None:
        """Write complete, already encoded frames (headers and payloads) in one send.

        For a writer that encodes bodies once for many players and only builds each
        player's header (``tilemud.wire.frame_header``).

        Raises:
            ConnectionClosed: the connection is closed or closing.
        """
        if self._closed is not None:
            raise self._closed
        await self._send_bytes(frames)

    @property
    def pending(self) -> bool:
        """Bytes taken by :meth:`write_nowait` wait for :meth:`flush` (or the next send)."""
        return self._pending is not None

    @property
    def can_write_nowait(self) -> bool:
        """Whether :meth:`write_nowait` would take frames now."""
        return (
            self._fd is not None
            and self._pending is None
            and (self._send_lock is None or not self._send_lock.locked())
            and not self._broken
            and self._closed is None
        )

    def write_nowait(self, frames: bytes | bytearray) -> bool:
        """Write complete, already encoded frames now, without waiting, if that is possible.

        Possible when the transport is a plain TCP socket, no send is in progress, nothing
        is :attr:`pending` and the connection is open. The kernel may take all of the
        bytes, part of them or none: what it does not take is held (:attr:`pending`) and
        written first by the next :meth:`flush` or send, which the caller must then
        arrange (a writer task). A transport found broken closes the connection (1006);
        the frames are then lost, as with a failed send.

        Returns:
            True when the frames were taken (written, or held as :attr:`pending`); False
            when nothing was taken and the caller must send them the usual way.
        """
        if not self.can_write_nowait:
            return False
        self.write_free(frames)
        return True

    def write_free(self, frames: bytes | bytearray) -> bool:
        """:meth:`write_nowait` for a caller that saw :attr:`can_write_nowait` true in this
        very step (the fan-out checks before its stream hands the frame out). True when a
        writer must follow (bytes :attr:`pending`, or the transport broke: :attr:`closed`)."""
        try:
            written = os.write(self._fd, frames)  # type: ignore[arg-type]
        except BlockingIOError:
            written = 0
        except OSError as exc:
            if exc.errno == errno.EINTR:
                written = 0
            else:
                self._transport_gone = True
                self._close_with(ConnectionClosed(ABNORMAL_CLOSURE))
                return True
        if written < len(frames):
            self._pending = memoryview(frames)[written:]
            self.writes_cut += 1
            return True
        return False

    async def flush(self) -> None:
        """Write what :meth:`write_nowait` held (nothing to do when nothing is pending).

        Raises:
            ConnectionClosed: the transport broke.
        """
        if self._pending is not None:
            await self._send_bytes(b"", closing=True)

    async def _send_bytes(self, data: bytes | bytearray, *, closing: bool = False) -> None:
        if self._send_lock is None:
            self._send_lock = trio.StrictFIFOLock()
        async with self._send_lock:
            if self._broken or (self._closed is not None and not closing):
                raise self._close_with(ConnectionClosed(ABNORMAL_CLOSURE))
            if self._pending is not None:
                # The rest of a frame already begun on the wire goes first, whatever follows.
                data = bytes(self._pending) + data
                self._pending = None
            if not data:
                return
            sent = False
            try:
                await self._stream.send_all(data)
                sent = True
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._transport_gone = True
                raise self._close_with(ConnectionClosed(ABNORMAL_CLOSURE)) from exc
            finally:
                # A send cancelled halfway leaves part of a frame on the wire.
                self._broken = self._broken or not sent

    # -- closing -----------------------------------------------------------------------

    async def close(self, code: int, reason: str, *, deadline: float | None = None) -> None:
        """Finish the connection: closing handshake, then drop the socket.

        Sends the close frame (``code`` and ``reason``, unless this layer already chose
        one, or the echo of the client's), waits for the client's close frame, then closes
        the stream. All of it ends by ``deadline`` (default: ``close_timeout`` from now):
        a client that never answers is dropped then. Call it once the reader stopped.
        """
        self._close_with(ConnectionClosed(code, reason))
        if deadline is None:
            deadline = trio.current_time() + self._limits.close_timeout
        try:
            with trio.move_on_at(deadline):
                await self._closing_handshake()
        finally:
            await trio.aclose_forcefully(self._stream)

    async def abort(self) -> None:
        """Drop the socket without a close frame (the stream may end inside a frame)."""
        self._close_with(ConnectionClosed(ABNORMAL_CLOSURE))
        await trio.aclose_forcefully(self._stream)

    async def _closing_handshake(self) -> None:
        closed = self._closed
        assert closed is not None
        if self._broken or self._transport_gone:
            return
        protocol = self._wsproto()
        state = protocol.state
        if state is ConnectionState.REMOTE_CLOSING and self._client_close is not None:
            await self._send_bytes(protocol.send(self._client_close.response()), closing=True)
            return  # both close frames are out: the server closes TCP first (RFC 6455 7.1.1)
        if state is ConnectionState.OPEN:
            frame = protocol.send(CloseConnection(code=closed.code, reason=closed.reason))
            await self._send_bytes(frame, closing=True)
        if self._failed:
            await self._discard_until_eof()
        else:
            await self._await_client_close()

    async def _await_client_close(self) -> None:
        """Read until the client's close frame (data still in flight is discarded)."""
        protocol = self._wsproto()
        while protocol.state is ConnectionState.LOCAL_CLOSING:
            for event in protocol.events():
                if isinstance(event, CloseConnection):
                    return  # the answer, or a broken frame instead of it: stop reading
            data = await self._stream.receive_some(self._limits.receive_bytes)
            if not data:
                return
            protocol.receive_data(bytes(data))

    async def _discard_until_eof(self) -> None:
        """After a broken frame: tell the client we are done writing, ignore what follows."""
        if isinstance(self._stream, trio.abc.HalfCloseableStream):
            await self._stream.send_eof()
        while await self._stream.receive_some(self._limits.receive_bytes):
            pass
