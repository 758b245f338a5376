"""The HTTP API on a real Hypercorn server and real sockets.

Testing policy: loopback only, port 0, the real clock (these are real sockets, so no
autojump), and an absolute deadline on every test (``trio.fail_after``). Timeouts under test
are set small (tenths of a second) so the suite stays fast.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import attrs
import httpx
import orjson
import pytest
import trio
from hypercorn.trio import serve
from quart_trio import QuartTrio

from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, LimitSettings, ServerSettings, Settings
from tilemud.net.http import HealthReport, create_app, serve_http
from tilemud.net.http._serve import hypercorn_config

SECRET = "server-tests-" + "k" * 40
DEADLINE = 5.0
KEEP_ALIVE = 0.3

pytestmark = pytest.mark.integration


@attrs.define
class SwitchableProbe:
    ok: bool = True

    def health(self) -> HealthReport:
        return HealthReport(ok=self.ok, details={"sessions": 2})


@attrs.frozen(kw_only=True)
class RunningServer:
    port: int
    tokens: TokenAuthority
    probe: SwitchableProbe

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def make_app(settings: Settings, probe: SwitchableProbe) -> tuple[QuartTrio, TokenAuthority]:
    tokens = TokenAuthority(settings.auth)
    return create_app(settings=settings, tokens=tokens, health=probe), tokens


def make_settings(*, keep_alive: float = KEEP_ALIVE) -> Settings:
    return Settings(
        server=ServerSettings(host="127.0.0.1", http_port=0, http_keep_alive_timeout=keep_alive),
        auth=AuthSettings(secret=SECRET),
        # Some tests log in dozens of times from 127.0.0.1; the limit has its own tests.
        limits=LimitSettings(guest_logins=1000),
    )


@asynccontextmanager
async def open_server(*, keep_alive: float = KEEP_ALIVE) -> AsyncIterator[RunningServer]:
    settings = make_settings(keep_alive=keep_alive)
    probe = SwitchableProbe()
    app, tokens = make_app(settings, probe)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            partial(serve_http, app, settings.server, shutdown_trigger=stop.wait)
        )
        yield RunningServer(port=port, tokens=tokens, probe=probe)
        stop.set()


# --- a tiny HTTP/1.1 client over a raw trio socket ---------------------------------------


@attrs.frozen(kw_only=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def request_bytes(
    method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    all_headers = dict(headers or {})
    if body:
        all_headers.setdefault("Content-Type", "application/json")
        all_headers["Content-Length"] = str(len(body))
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_response(stream: trio.SocketStream) -> RawResponse:
    """Read one response with a Content-Length body; fails on EOF before it is complete."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = await stream.receive_some()
        assert chunk, f"EOF before the response head: {buffer!r}"
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = await stream.receive_some()
        assert chunk, "EOF in the middle of the body"
        rest += chunk
    assert len(rest) == length, "unexpected bytes after the response"
    return RawResponse(status=int(status_line.split(" ")[1]), headers=headers, body=rest)


async def assert_eof(stream: trio.SocketStream) -> None:
    """The server closes the connection: the next read sees EOF (or a reset)."""
    try:
        data = await stream.receive_some()
    except trio.BrokenResourceError:
        return
    assert data == b"", f"expected EOF, got {data!r}"


# --- routes through the real server ------------------------------------------------------


async def test_guest_login_over_a_real_socket() -> None:
    with trio.fail_after(DEADLINE):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as client:
            response = await client.post("/v1/auth/guest", json={"name": " Grace Hopper "})
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            payload = response.json()
            claims = server.tokens.verify_access(payload["token"])
            assert claims.player_id == payload["player_id"]
            assert claims.name == payload["name"] == "Grace Hopper"

            bad = await client.post("/v1/auth/guest", content=b"{", headers=_json_type())
            assert bad.status_code == 400
            assert bad.json()["error"]["code"] == "bad_json"


async def test_healthz_over_a_real_socket() -> None:
    with trio.fail_after(DEADLINE):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/healthz")
            assert response.status_code == 200
            assert response.json() == {"status": "ok", "sessions": 2}
            server.probe.ok = False
            response = await client.get("/healthz")
            assert response.status_code == 503
            assert response.json() == {"status": "unavailable", "sessions": 2}


async def test_errors_over_a_real_socket_are_json() -> None:
    with trio.fail_after(DEADLINE):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as client:
            missing = await client.get("/wp-admin")
            assert missing.status_code == 404
            assert missing.json()["error"]["code"] == "not_found"
            wrong = await client.put("/healthz")
            assert wrong.status_code == 405
            assert wrong.json()["error"]["code"] == "method_not_allowed"
            assert "server" not in missing.headers


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json"}


# --- Hypercorn #106: connections must actually close --------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/healthz", b""),
        ("POST", "/v1/auth/guest", b'{"name": "Ada"}'),
        ("GET", "/no/such/route", b""),
    ],
)
async def test_connection_close_gets_its_response_then_eof(
    method: str, path: str, body: bytes
) -> None:
    with trio.fail_after(DEADLINE):
        # A long keep-alive so that only `Connection: close` can explain the EOF.
        async with open_server(keep_alive=60.0) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                await stream.send_all(
                    request_bytes(method, path, body=body, headers={"Connection": "close"})
                )
                response = await read_response(stream)
                assert response.headers.get("connection") == "close"
                assert response.json()  # a JSON body, whatever the status
                with trio.fail_after(1.0):
                    await assert_eof(stream)


async def test_idle_keep_alive_socket_is_closed_after_the_timeout() -> None:
    with trio.fail_after(DEADLINE):
        async with open_server(keep_alive=KEEP_ALIVE) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                for _ in range(3):  # the connection is reused while it is busy
                    await stream.send_all(request_bytes("GET", "/healthz"))
                    response = await read_response(stream)
                    assert response.status == 200
                    assert "connection" not in response.headers
                idle_since = trio.current_time()
                await assert_eof(stream)
                idle = trio.current_time() - idle_since
                assert KEEP_ALIVE * 0.8 <= idle < KEEP_ALIVE + 2.0


async def test_silent_connection_is_closed_after_the_timeout() -> None:
    with trio.fail_after(DEADLINE):
        async with open_server(keep_alive=KEEP_ALIVE) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                await assert_eof(stream)


async def test_hypercorn_106_is_still_there_without_the_workaround() -> None:
    """A canary: serve the bare app and the socket never closes.

    When this fails, Hypercorn (or Quart-Trio) has fixed issue #106 and
    ``ShieldedHTTPSends`` can go.
    """
    settings = make_settings(keep_alive=60.0)
    app, _ = make_app(settings, SwitchableProbe())
    stop = trio.Event()
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(
                partial(serve, app, hypercorn_config(settings.server), shutdown_trigger=stop.wait)
            )
            port = int(binds[0].rsplit(":", 1)[1])
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                await stream.send_all(
                    request_bytes("GET", "/healthz", headers={"Connection": "close"})
                )
                assert (await read_response(stream)).status == 200
                with trio.move_on_after(0.5) as wait:
                    await assert_eof(stream)
                assert wait.cancelled_caught, "socket closed: #106 fixed, drop the workaround?"
            stop.set()


# --- lifecycle ---------------------------------------------------------------------------


async def test_port_zero_reports_the_bound_port() -> None:
    with trio.fail_after(DEADLINE):
        async with open_server() as server:
            assert server.port > 0
            # The reported port really is taken.
            with socket.socket() as probe, pytest.raises(OSError):  # noqa: PT011
                probe.bind(("127.0.0.1", server.port))


async def test_shutdown_trigger_stops_the_server_cleanly() -> None:
    settings = make_settings(keep_alive=60.0)
    app, _ = make_app(settings, SwitchableProbe())
    lifecycle: list[str] = []

    @app.before_serving
    async def started() -> None:
        lifecycle.append("before_serving")

    @app.after_serving
    async def stopped() -> None:
        lifecycle.append("after_serving")

    stop = trio.Event()
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                partial(serve_http, app, settings.server, shutdown_trigger=stop.wait)
            )
            idle = await trio.open_tcp_stream("127.0.0.1", port)
            await idle.send_all(request_bytes("GET", "/healthz"))
            assert (await read_response(idle)).status == 200

            stop_requested = trio.current_time()
            stop.set()
        # An idle keep-alive connection does not hold shutdown for the graceful timeout.
        assert trio.current_time() - stop_requested < 1.0
        await assert_eof(idle)
        await idle.aclose()
        assert lifecycle == ["before_serving", "after_serving"]
        with pytest.raises(OSError):  # noqa: PT011 (refused; errno varies by platform)
            await trio.open_tcp_stream("127.0.0.1", port)
