"""The HTTP/1.1 upgrade that turns a socket into a WebSocket, server side (RFC 6455, 4.2).

:class:`Upgrade` reads the client's request (its size bounded by h11: 16 KiB), then either
accepts it (101) and hands over a :class:`~tilemud.wire.WebSocket`, or refuses it with
an HTTP status and a JSON body in the API's error shape,
``{"error": {"code": ..., "message": ..., "retry_after": ...}}``. The caller bounds the
time (the gateway gives the whole upgrade ``gateway.hello_timeout``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import attrs
import orjson
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, RejectData, Request
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from tilemud.wire._websocket import ABNORMAL_CLOSURE, ConnectionClosed, Limits, WebSocket

#: The blank line that ends a request's head (h11 also takes bare line feeds).
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")


@attrs.frozen(kw_only=True)
class UpgradeRequest:
    """What the client asked for.

    Attributes:
        path: the request target's path, without its query string.
        origin: the ``Origin`` header (browsers send it), or None.
    """

    path: str
    origin: str | None


class BadUpgrade(Exception):
    """The request is not a WebSocket upgrade; answer it with ``status``.

    Attributes:
        status: the HTTP status to answer with.
        headers: headers the answer must carry (e.g. ``Sec-WebSocket-Version``).
    """

    def __init__(self, message: str, status: int, headers: Sequence[tuple[bytes, bytes]]) -> None:
        super().__init__(message)
        self.status = status
        self.headers = list(headers)


class Upgrade:
    """The upgrade of one connection.

    Args:
        stream: the transport, after TLS if any.
        receive_bytes: bytes read at a time.
    """

    def __init__(self, stream: trio.abc.Stream, *, receive_bytes: int = 16 * 1024) -> None:
        self._stream = stream
        self._receive_bytes = receive_bytes
        self._protocol = WSConnection(ConnectionType.SERVER)
        # Bytes read but not given to h11: h11 gets the request up to the blank line that
        # ends its head, never more, so that whatever the client sent after it (frames)
        # reaches the WebSocket's own reader at a frame boundary.
        self._unparsed = bytearray()

    async def receive_request(self) -> UpgradeRequest:
        """Read the client's upgrade request.

        Raises:
            BadUpgrade: the bytes are not a valid WebSocket upgrade request.
            ConnectionClosed: the client closed the connection first.
        """
        while True:
            for event in self._protocol.events():
                if isinstance(event, Request):
                    origin = next(
                        (v for k, v in event.extra_headers if k.lower() == b"origin"), None
                    )
                    return UpgradeRequest(
                        path=event.target.partition("?")[0],
                        origin=None if origin is None else origin.decode("latin-1"),
                    )
            try:
                data = await self._stream.receive_some(self._receive_bytes)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                raise ConnectionClosed(ABNORMAL_CLOSURE)
            head = self._request_bytes(data)
            if not head:
                continue  # (h11 would take empty bytes for the end of the stream)
            try:
                self._protocol.receive_data(head)
            except RemoteProtocolError as exc:
                hint = exc.event_hint
                status, headers = 400, []
                if isinstance(hint, RejectConnection):
                    status, headers = hint.status_code, list(hint.headers)
                raise BadUpgrade(str(exc), status, headers) from exc

    def _request_bytes(self, data: bytes | bytearray) -> bytes:
        """What of the bytes read so far h11 may parse: up to the end of the request's
        head; the last three bytes wait while no end is seen (it may straddle reads)."""
        unparsed = self._unparsed
        unparsed += data
        end = _END_OF_HEAD.search(unparsed)
        cut = end.end() if end is not None else max(0, len(unparsed) - 3)
        head = bytes(unparsed[:cut])
        del unparsed[:cut]
        return head

    async def accept(self, limits: Limits) -> WebSocket:
        """Answer 101 and return the open WebSocket."""
        await self._stream.send_all(self._protocol.send(AcceptConnection()))
        # No extension is accepted, so the WebSocket makes wsproto's state itself when a
        # frame needs it (the one made by the accept is not kept: memory per player).
        return WebSocket(self._stream, None, limits, received=bytes(self._unparsed))

    async def refuse(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after: float | None = None,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        """Answer with an HTTP error in the API's shape, then close the stream.

        ``retry_after`` (seconds, rounded up) goes in the body and in ``Retry-After``.
        """
        error: dict[str, object] = {"code": code, "message": message}
        extra = list(headers)
        if retry_after is not None:
            seconds = max(1, math.ceil(retry_after))
            error["retry_after"] = seconds
            extra.append((b"retry-after", str(seconds).encode()))
        body = orjson.dumps({"error": error})
        response = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *extra,
        ]
        try:
            data = self._protocol.send(
                RejectConnection(status_code=status, headers=response, has_body=True)
            )
            data += self._protocol.send(RejectData(data=body, body_finished=True))
        except LocalProtocolError:
            data = b""  # h11 cannot answer this request any more: just close
        try:
            if data:
                await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await trio.aclose_forcefully(self._stream)
