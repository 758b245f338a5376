"""Finding the node to play on, as a client of a cluster does (docs/protocol.md, "Join").

:func:`discover` asks any node's ``GET /v1/discovery?mode=&region=`` (or ``?arena_id=``)
which node to connect to; :func:`play` connects there, says hello and joins, and when the
``join`` is answered ``elsewhere`` (the cluster changed between the answer and the join)
asks again and moves, a bounded number of times. A single node answers its own discovery
with itself, so the same calls work without a cluster.

The HTTP request is one ``GET`` in HTTP/1.0 over a Trio stream (TLS for ``https://``):
the client library needs no HTTP package for one small JSON answer, and HTTP/1.0 keeps
the reply unchunked and the connection closed after it.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs
import orjson
import trio
import trio_websocket

from tilemud.errors import TilemudError
from tilemud.game import Mode
from tilemud.player_client import PlayerClient
from tilemud.protocol import ErrorFrame, Join, Joined

#: The largest discovery answer read (a route is a few hundred bytes).
_MAX_ANSWER = 64 * 1024
#: Seconds before asking discovery again after an ``elsewhere`` (doubling, up to the last).
_FIRST_PAUSE = 0.1
_LONGEST_PAUSE = 2.0


class NoRoute(TilemudError):
    """Discovery named no node, or could not be asked: ``code`` says why, with the
    ``retry_after`` the server gave (None when it gave none)."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


@attrs.frozen(kw_only=True)
class Route:
    """Where to play: a node's name and WebSocket URL, and the arena if one is running."""

    node_id: str
    ws_url: str
    http_url: str
    arena_id: str | None


async def discover(http_url: str, **query: str) -> Route:
    """Ask ``GET /v1/discovery`` of the node at ``http_url``.

    Args:
        http_url: any node's HTTP base URL (``http://host:port``).
        query: ``mode`` and ``region``, or ``arena_id``.

    Raises:
        NoRoute: no node has room (or runs the arena), or the node could not be asked.
    """
    status, body = await _get_json(http_url, "/v1/discovery?" + urlencode(query))
    if status != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        retry = error.get("retry_after") if isinstance(error, dict) else None
        raise NoRoute(
            str(error.get("code", f"http_{status}")) if isinstance(error, dict) else "bad_answer",
            str(error.get("message", "")) if isinstance(error, dict) else "",
            retry_after=float(retry) if isinstance(retry, int | float) else None,
        )
    try:
        return Route(
            node_id=str(body["node_id"]),
            ws_url=str(body["ws_url"]),
            http_url=str(body["http_url"]),
            arena_id=None if body.get("arena_id") is None else str(body["arena_id"]),
        )
    except (KeyError, TypeError) as exc:
        raise NoRoute("bad_answer", f"discovery answered {body!r}") from exc


@asynccontextmanager
async def play(
    http_url: str, token: str, *, mode: Mode, region: str, moves: int = 5
) -> AsyncIterator[tuple[PlayerClient, Joined]]:
    """Connect to the node discovery names for ``mode`` and ``region``, say hello, join.

    Yields the connected client and its ``joined``; the connection closes with the block.

    Args:
        http_url: any node's HTTP base URL.
        token: the player's token (good on every node of a cluster).
        moves: how many ``elsewhere`` answers are followed before giving up (with a pause
            of 0.1 s before the first, doubling: ~3 s in all by default).

    Raises:
        NoRoute: discovery named no node, or the join was still sent elsewhere after
            ``moves`` moves (``code`` ``elsewhere``), or refused (its ``code``).
    """
    for move in range(moves + 1):
        if move:
            # Told `elsewhere`: the nodes' views of each other differ until their next
            # cards (a heartbeat at most); ask again after a short, growing pause.
            await trio.sleep(min(_FIRST_PAUSE * 2 ** (move - 1), _LONGEST_PAUSE))
        route = await discover(http_url, mode=mode, region=region)
        async with trio_websocket.open_websocket_url(
            route.ws_url, ssl_context=_tls(route.ws_url)
        ) as websocket:
            client = PlayerClient(websocket)
            await client.hello(token)
            answer = await client.request(Join(rid=client.next_rid(), mode=mode, region=region))
            if isinstance(answer, Joined):
                yield client, answer
                return
            if not isinstance(answer, ErrorFrame) or answer.code != "elsewhere":
                code = answer.code if isinstance(answer, ErrorFrame) else "unexpected"
                raise NoRoute(code, f"join refused: {answer!r}")
    raise NoRoute("elsewhere", f"still sent elsewhere after {moves} moves")


async def _get_json(base_url: str, target: str) -> tuple[int, Any]:
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    request = (
        f"GET {parts.path.rstrip('/')}{target} HTTP/1.0\r\nHost: {parts.netloc}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    try:
        stream: trio.abc.Stream = (
            await trio.open_ssl_over_tcp_stream(
                host, port, ssl_context=ssl.create_default_context()
            )
            if secure
            else await trio.open_tcp_stream(host, port)
        )
        async with stream:
            await stream.send_all(request)
            answer = bytearray()
            while chunk := await stream.receive_some(16384):
                answer += chunk
                if len(answer) > _MAX_ANSWER:
                    raise NoRoute("bad_answer", "discovery answered more than 64 KiB")
    except (OSError, trio.BrokenResourceError) as exc:
        raise NoRoute("unreachable", f"{base_url}: {exc}") from exc
    head, _, body = bytes(answer).partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
        return status, orjson.loads(body)
    except (IndexError, ValueError) as exc:
        raise NoRoute("bad_answer", f"discovery answered {bytes(answer[:200])!r}") from exc


def _tls(ws_url: str) -> ssl.SSLContext | None:
    return ssl.create_default_context() if ws_url.startswith("wss://") else None
