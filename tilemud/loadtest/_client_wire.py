"""The bots' WebSocket client: RFC 6455 client frames read and written here, in the bot's
own task.

trio-websocket, which the bots used before, runs a reader task per connection that parses
every frame with wsproto and hands each message over a memory channel: two task switches
and a wsproto message per frame. In ``epic-300`` each bot process reads 150 frames per
tick, one after the other, and a frame read late is a broadcast measured late: with
trio-websocket the bots' own queue was most of the broadcast latency the load tester
reported (docs/performance.md, "The send path, third pass"). This client parses the
server's frames from its read buffer when they are asked for, without another task.

It is the client side only, for tilemud's own server and tests: text and binary
messages (fragmented or not), ping (answered), pong (ignored), close (answered, then
:class:`trio_websocket.ConnectionClosed` with the server's code and reason, so that the
bots' reports read the same as before). Frames it sends are masked, as a client's must be.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from typing import Final

import trio
from trio_websocket import CloseReason, ConnectionClosed, ConnectionRejected, HandshakeError

from tilemud.wire import frame_header, unmask

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CONTINUATION: Final = 0x0
_TEXT: Final = 0x1
_BINARY: Final = 0x2
_CLOSE: Final = 0x8
_PING: Final = 0x9
_PONG: Final = 0xA
#: Not a code on the wire: the TCP stream ended without a close frame (RFC 6455 7.1.5).
_ABNORMAL: Final = 1006
_NO_STATUS: Final = 1005
_PROTOCOL_ERROR: Final = 1002
_TOO_BIG: Final = 1009
#: The longest HTTP answer to the upgrade read before giving up on it.
_MAX_HEAD: Final = 16 * 1024


#: The bit of a frame's second byte that says its payload is masked (RFC 6455, 5.2).
_MASKED: Final = 0x80


def client_frame(opcode: int, payload: bytes, key: bytes | None = None) -> bytes:
    """One final, masked frame (``key``: the masking key, random when None).

    The server's header with the mask bit set, the key, and the payload XORed with the key
    (masking is its own inverse: the wire's ``unmask`` masks too).
    """
    key = os.urandom(4) if key is None else key
    header = bytearray(frame_header(opcode, len(payload)))
    header[1] |= _MASKED
    return bytes(header) + key + unmask(payload, key)


class ClientWebSocket:
    """An open WebSocket to the server over ``stream`` (after :func:`upgrade`).

    Args:
        stream: the TCP stream, owned by the caller (closed by it).
        received: bytes the server sent after its upgrade answer.
        max_message_bytes: a longer message closes the connection (1009).
        receive_bytes: bytes read from the stream at a time.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        *,
        received: bytes = b"",
        max_message_bytes: int,
        receive_bytes: int,
    ) -> None:
        self._stream = stream
        self._buffer = bytearray(received)
        self._max = max_message_bytes
        self._receive_bytes = receive_bytes
        self._send_lock = trio.StrictFIFOLock()
        self._parts: list[bytes] = []
        self._opcode = _TEXT
        #: Set once the connection ended: every later call raises it.
        self.closed: ConnectionClosed | None = None
        self._close_sent = False

    async def send_message(self, message: str | bytes) -> None:
        """Send one message (text for ``str``).

        Raises:
            trio_websocket.ConnectionClosed: the connection ended.
        """
        if self.closed is not None or self._close_sent:
            raise self.closed or ConnectionClosed(CloseReason(_NO_STATUS, None))
        if isinstance(message, str):
            frame = client_frame(_TEXT, message.encode())
        else:
            frame = client_frame(_BINARY, message)
        await self._send(frame)

    async def get_message(self) -> str | bytes:
        """The next message from the server; pings are answered on the way.

        Raises:
            trio_websocket.ConnectionClosed: the server closed (its code and reason), or
                the stream ended (1006).
        """
        if self.closed is not None:
            raise self.closed
        while True:
            frame = self._next_frame()
            if frame is None:
                await self._read_more()
                continue
            opcode, fin, payload = frame
            if opcode >= _CLOSE:
                await self._on_control(opcode, payload)
                continue
            if opcode != _CONTINUATION:
                self._opcode = opcode
            self._parts.append(payload)
            if sum(len(part) for part in self._parts) > self._max:
                await self._fail(_TOO_BIG, "message too big")
            if not fin:
                continue
            data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
            self._parts = []
            if self._opcode == _TEXT:
                try:
                    return data.decode()
                except UnicodeDecodeError:
                    await self._fail(1007, "invalid utf-8")
            return data

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close: send a close frame, then read until the server's (or its stream's end)."""
        if self.closed is not None:
            return
        with trio.move_on_after(5):
            await self._send_close(code, reason)
            try:
                while True:
                    await self.get_message()
            except ConnectionClosed:
                pass
        if self.closed is None:
            self.closed = ConnectionClosed(CloseReason(code, reason or None))

    def _next_frame(self) -> tuple[int, bool, bytes] | None:
        """The first whole frame in the buffer, taken out of it; None if it is not all here."""
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        length = second & 0x7F
        start = 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length = int.from_bytes(buffer[2:4], "big")
            start = 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length = int.from_bytes(buffer[2:10], "big")
            start = 10
        if second & 0x80:  # a server never masks (RFC 6455 5.1)
            self.closed = ConnectionClosed(CloseReason(_PROTOCOL_ERROR, "masked server frame"))
            raise self.closed
        end = start + length
        if len(buffer) < end:
            if length > self._max:
                self.closed = ConnectionClosed(CloseReason(_TOO_BIG, "message too big"))
                raise self.closed
            return None
        payload = bytes(buffer[start:end])
        del buffer[:end]
        return first & 0x0F, bool(first & 0x80), payload

    async def _read_more(self) -> None:
        try:
            data = await self._stream.receive_some(self._receive_bytes)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if not data:
            self.closed = ConnectionClosed(CloseReason(_ABNORMAL, None))
            raise self.closed
        self._buffer += data

    async def _on_control(self, opcode: int, payload: bytes) -> None:
        if opcode == _PING:
            await self._send(client_frame(_PONG, payload))
        elif opcode == _CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else _NO_STATUS
            reason = payload[2:].decode(errors="replace") if len(payload) > 2 else None
            if not self._close_sent:
                with trio.move_on_after(1):
                    await self._send_close(code if code != _NO_STATUS else 1000, "")
            self.closed = ConnectionClosed(CloseReason(code, reason))
            raise self.closed

    async def _fail(self, code: int, reason: str) -> None:
        with trio.move_on_after(1):
            await self._send_close(code, reason)
        self.closed = ConnectionClosed(CloseReason(code, reason))
        raise self.closed

    async def _send_close(self, code: int, reason: str) -> None:
        if self._close_sent:
            return
        self._close_sent = True
        with contextlib.suppress(ConnectionClosed):
            await self._send(client_frame(_CLOSE, code.to_bytes(2, "big") + reason.encode()))

    async def _send(self, frame: bytes) -> None:
        async with self._send_lock:
            try:
                await self._stream.send_all(frame)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self.closed = self.closed or ConnectionClosed(CloseReason(_ABNORMAL, None))
                raise self.closed from exc


async def upgrade(
    stream: trio.abc.Stream,
    host: str,
    resource: str,
    *,
    max_message_bytes: int,
    receive_bytes: int,
) -> ClientWebSocket:
    """Ask the server to upgrade ``stream`` to a WebSocket (RFC 6455, section 4.1).

    Raises:
        trio_websocket.ConnectionRejected: the server answered with another status.
        trio_websocket.HandshakeError: the answer is not a valid upgrade.
        OSError, trio.BrokenResourceError: the stream failed.
    """
    key = base64.b64encode(os.urandom(16))
    request = (
        (
            f"GET {resource} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        ).encode()
        + b"Sec-WebSocket-Key: "
        + key
        + b"\r\n\r\n"
    )
    await stream.send_all(request)
    received = bytearray()
    while (end := received.find(b"\r\n\r\n")) < 0:
        if len(received) > _MAX_HEAD:
            raise HandshakeError("the server's answer to the upgrade is too long")
        data = await stream.receive_some(receive_bytes)
        if not data:
            raise HandshakeError("the server closed during the upgrade")
        received += data
    head = bytes(received[:end]).decode("latin-1").split("\r\n")
    status_line = head[0].split(" ", 2)
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
    if status != 101:
        raise ConnectionRejected(status, (), None)
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    expected = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
    if headers.get("sec-websocket-accept") != expected:
        raise HandshakeError("the server's Sec-WebSocket-Accept is wrong")
    return ClientWebSocket(
        stream,
        received=bytes(received[end + 4 :]),
        max_message_bytes=max_message_bytes,
        receive_bytes=receive_bytes,
    )
