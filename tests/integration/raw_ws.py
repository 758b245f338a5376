"""A WebSocket client made of raw bytes, for tests of what no library client would send.

It writes frames byte by byte (broken ones too: unmasked, reserved bits, unknown opcodes,
bad close payloads) and reads the server's frames as they are on the wire, so a test sees
exactly which close frame arrived and when the server dropped the socket.
"""

from __future__ import annotations

import base64
import os
import ssl
import struct
from typing import Any

import attrs
import orjson
import trio

#: Opcodes (RFC 6455, 5.2).
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def client_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    masked: bool = True,
) -> bytes:
    """One frame as a client would send it (masked unless told otherwise)."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if masked else 0
    length = len(payload)
    if length <= 125:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return header + payload
    key = os.urandom(4)
    return header + key + mask(payload, key)


def mask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` repeated (RFC 6455, 5.3), as one big int."""
    if not payload:
        return b""
    keys = (key * (len(payload) // 4 + 1))[: len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")
    return value.to_bytes(len(payload), "big")


def text(message: dict[str, Any] | str) -> bytes:
    """A masked text frame of ``message`` (a dict is encoded as JSON)."""
    body = message if isinstance(message, str) else orjson.dumps(message).decode()
    return client_frame(TEXT, body.encode())


@attrs.frozen
class ServerFrame:
    """One frame the server sent."""

    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        """The close frame's code (None for another frame or an empty close)."""
        if self.opcode != CLOSE or len(self.payload) < 2:
            return None
        return int(struct.unpack("!H", self.payload[:2])[0])

    @property
    def close_reason(self) -> str:
        return self.payload[2:].decode() if self.opcode == CLOSE else ""

    def json(self) -> dict[str, Any]:
        decoded = orjson.loads(self.payload)
        assert isinstance(decoded, dict)
        return decoded


class RawClient:
    """A raw WebSocket connection: the stream and what was read but not parsed yet."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._buffer = bytearray()
        #: True once the server closed its side (EOF or reset).
        self.eof = False

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await trio.aclose_forcefully(self.stream)

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def _fill(self) -> bool:
        try:
            chunk = await self.stream.receive_some(65536)
        except trio.BrokenResourceError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self._buffer += chunk
        return True

    async def read_http_response(self) -> tuple[int, dict[str, str], bytes]:
        """The upgrade's answer: status, headers (lower-case names), and any body."""
        while b"\r\n\r\n" not in self._buffer:
            if not await self._fill():
                raise AssertionError(f"no HTTP response, got {bytes(self._buffer)!r}")
        head, _, rest = bytes(self._buffer).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        self._buffer = bytearray(rest)
        while len(self._buffer) < length:
            if not await self._fill():
                break
        body, self._buffer = bytes(self._buffer[:length]), self._buffer[length:]
        return status, headers, body

    async def next_frame(self) -> ServerFrame | None:
        """The next server frame, or None at EOF."""
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            if not await self._fill():
                return None

    def _parse(self) -> ServerFrame | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        opcode, length, offset = buf[0] & 0x0F, buf[1] & 0x7F, 2
        assert not buf[1] & 0x80, "server frames are never masked"
        if length == 126:
            if len(buf) < 4:
                return None
            length, offset = struct.unpack("!H", buf[2:4])[0], 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, offset = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < offset + length:
            return None
        payload = bytes(buf[offset : offset + length])
        del buf[: offset + length]
        return ServerFrame(opcode, payload)

    async def frames_until_eof(self) -> list[ServerFrame]:
        """Every frame until the server drops the connection."""
        frames = []
        while (frame := await self.next_frame()) is not None:
            frames.append(frame)
        return frames


def upgrade_request(
    path: str = "/v1/ws", *, host: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def connect(
    port: int, *, tls: ssl.SSLContext | None = None, server_hostname: str = "127.0.0.1"
) -> RawClient:
    """A TCP (or TLS) connection to the player port, not yet upgraded."""
    stream: trio.abc.Stream = await trio.open_tcp_stream("127.0.0.1", port)
    if tls is not None:
        stream = trio.SSLStream(stream, tls, server_hostname=server_hostname)
        try:
            await stream.do_handshake()
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
    return RawClient(stream)


async def open_raw(port: int, *, tls: ssl.SSLContext | None = None) -> RawClient:
    """A raw client whose upgrade succeeded (101)."""
    client = await connect(port, tls=tls)
    await client.send(upgrade_request())
    status, _, _ = await client.read_http_response()
    assert status == 101, status
    return client


async def greeted(port: int, token: str, *, tls: ssl.SSLContext | None = None) -> RawClient:
    """A raw client that said hello and read its welcome."""
    client = await open_raw(port, tls=tls)
    await client.send(text({"type": "hello", "v": 2, "token": token}))
    welcome = await client.next_frame()
    assert welcome is not None
    assert welcome.json()["type"] == "welcome", welcome
    return client
