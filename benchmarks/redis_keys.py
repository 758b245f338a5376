"""A few synchronous Redis commands, spoken in RESP over a plain socket.

For what runs outside Trio (test fixtures set up and torn down by pytest, a benchmark's
cleanup), where the server's own async client cannot be used: a ping, and finding and
deleting the keys under a run's prefix. No client library needed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit


class _Connection:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._sock = socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=5
        )
        self._buffer = b""
        db = parts.path.strip("/")
        if db:
            self.call("SELECT", db)

    def close(self) -> None:
        self._sock.close()

    def call(self, *args: str) -> object:
        out = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self._sock.sendall(b"".join(out))
        return self._reply()

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _reply(self) -> object:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self._buffer) < size + 2:
                self._buffer += self._sock.recv(65536)
            data, self._buffer = self._buffer[:size], self._buffer[size + 2 :]
            return data.decode()
        if kind == b"*":
            return [self._reply() for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")


def ping(url: str) -> None:
    """Raise ``OSError`` (or ``RuntimeError``) unless Redis at ``url`` answers ``PING``."""
    conn = _Connection(url)
    try:
        conn.call("PING")
    finally:
        conn.close()


def _matching(conn: _Connection, pattern: str) -> Iterator[list[str]]:
    """The keys matching ``pattern``, a SCAN batch at a time."""
    cursor = "0"
    while True:
        reply = conn.call("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
        assert isinstance(reply, list)
        cursor, keys = reply
        yield keys
        if cursor == "0":
            return


def delete_keys(url: str, pattern: str) -> int:
    """Delete every key matching ``pattern``; how many were deleted."""
    conn = _Connection(url)
    try:
        return sum(
            int(str(conn.call("UNLINK", *keys))) for keys in _matching(conn, pattern) if keys
        )
    finally:
        conn.close()


def count_keys(url: str, pattern: str) -> int:
    """How many keys match ``pattern`` now."""
    conn = _Connection(url)
    try:
        return sum(len(keys) for keys in _matching(conn, pattern))
    finally:
        conn.close()


def publish(url: str, channel: str, data: str) -> int:
    """Publish ``data`` on ``channel`` as any Redis client could; how many heard it."""
    conn = _Connection(url)
    try:
        return int(str(conn.call("PUBLISH", channel, data)))
    finally:
        conn.close()
