"""``tilemud serve`` as a real process: the doors a user uses (argv, env, signals, stderr).

The policy of tests/integration/harness.py applies: loopback, port 0, the real clock, an
absolute ``trio.fail_after`` on every test and no wall-clock assertions. The server runs as
``python -m tilemud serve`` with a JSON log on stderr; the test learns the bound ports from
that log ("player gateway listening", "http listening"), exactly as an operator would. A
server that outlives its test is killed in a ``finally``.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import WebSocketConnection

from benchmarks.local_server import ServerLog
from tests.integration.harness import read_until_closed, receive, send
from tests.integration.processes import (
    BOUND,
    ServerProcess,
    guest_login,
    open_client,
    running_process,
    serve_argv,
    tilemud_process,
)

pytestmark = pytest.mark.integration

GOING_AWAY = 1001


@asynccontextmanager
async def greeted_player(
    server: ServerProcess, name: str
) -> AsyncIterator[tuple[WebSocketConnection, dict[str, Any]]]:
    login = await guest_login(server, name)
    async with open_client(server) as connection:
        await send(connection, {"type": "hello", "v": 2, "token": login["token"]})
        welcome = await receive(connection)
        assert welcome["type"] == "welcome", welcome
        assert welcome["player_id"] == login["player_id"]
        yield connection, welcome


async def wait_for_health(server: ServerProcess, *, connections: int, sessions: int) -> None:
    """Poll ``/healthz`` until the gateway counts these connections and sessions.

    A client's handshake completes before the server's task has counted it; signalling the
    server before that would race the shutdown against the count.
    """
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        while True:
            body = (await http.get("/healthz")).json()
            if (body["connections"], body["sessions"]) == (connections, sessions):
                return
            await trio.sleep(0.02)


async def close_codes(connections: Sequence[WebSocketConnection]) -> list[int | None]:
    """Read every connection until the server closes it; their close codes, in order."""
    codes: list[int | None] = [None] * len(connections)

    async def read(index: int, connection: WebSocketConnection) -> None:
        codes[index] = (await read_until_closed(connection)).code

    async with trio.open_nursery() as nursery:
        for index, connection in enumerate(connections):
            nursery.start_soon(read, index, connection)
    return codes


def errors_in(log: ServerLog) -> list[dict[str, Any]]:
    return [r for r in log.records if r.get("level") in {"error", "critical"}]


# --- the happy path ---------------------------------------------------------------------


async def test_guest_login_then_hello_and_welcome(tmp_path: Path) -> None:
    with trio.fail_after(BOUND):
        async with running_process(tmp_path) as server:
            async with greeted_player(server, "ada") as (connection, welcome):
                assert welcome["v"] == 2
                assert welcome["session_id"].startswith("s_")
                await send(connection, {"type": "ping", "rid": "p-1"})
                pong = await receive(connection)
                assert (pong["type"], pong["rid"]) == ("pong", "p-1")
            server.process.send_signal(signal.SIGTERM)
            assert await server.exit_status() == 0
    assert server.log.other_lines == [], server.log.text()
    assert errors_in(server.log) == []


# --- signals ----------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_signal_closes_every_client_with_1001_and_exits_0(
    tmp_path: Path, signum: signal.Signals
) -> None:
    # The silent client must still be waiting for its hello when the signal comes.
    env = {"TILEMUD_GATEWAY_HELLO_TIMEOUT": "60"}
    with trio.fail_after(BOUND):
        async with running_process(tmp_path, env=env) as server:
            async with AsyncExitStack() as clients:
                players = [
                    (await clients.enter_async_context(greeted_player(server, name)))[0]
                    for name in ("ada", "bob", "cyd")
                ]
                silent = await clients.enter_async_context(open_client(server))
                await wait_for_health(server, connections=4, sessions=3)

                server.process.send_signal(signum)
                codes = await close_codes([*players, silent])
            status = await server.exit_status()

    assert codes == [GOING_AWAY] * 4
    assert status == 0
    log = server.log
    assert log.other_lines == [], log.text()
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in log.records)
    stopping = log.records[log.messages.index("stopping")]
    assert stopping["signal"] == signum.name
    assert log.messages.index("stopping") < log.messages.index("stopped")
    assert log.records[-1]["msg"] == "stopped"
    assert errors_in(log) == []


async def test_a_clean_shutdown_logs_no_error(tmp_path: Path) -> None:
    """'Cancellation during shutdown is not an error' (docs/operations.md), with one greeted
    player and one connection still in its handshake."""
    env = {"TILEMUD_GATEWAY_HELLO_TIMEOUT": "60"}
    with trio.fail_after(BOUND):
        async with running_process(tmp_path, env=env) as server:
            async with greeted_player(server, "ada") as (player, _), open_client(server) as silent:
                await wait_for_health(server, connections=2, sessions=1)
                server.process.send_signal(signal.SIGTERM)
                assert await close_codes([player, silent]) == [GOING_AWAY] * 2
            assert await server.exit_status() == 0
    assert errors_in(server.log) == []


async def test_a_client_leaving_before_its_hello_harms_no_one(tmp_path: Path) -> None:
    with trio.fail_after(BOUND):
        async with running_process(tmp_path) as server:
            async with greeted_player(server, "ada") as (player, _):
                async with open_client(server):
                    await wait_for_health(server, connections=2, sessions=1)
                # The early leaver has closed (handshake and all); the player is untouched.
                await wait_for_health(server, connections=1, sessions=1)
                await send(player, {"type": "ping", "rid": "still-here"})
                assert (await receive(player))["rid"] == "still-here"
            server.process.send_signal(signal.SIGTERM)
            assert await server.exit_status() == 0
    assert errors_in(server.log) == []


async def open_unanswering_client(server: ServerProcess) -> trio.SocketStream:
    """A WebSocket client that completes its opening handshake and then never reads again,
    so it never answers the server's close frame."""
    stream = await trio.open_tcp_stream("127.0.0.1", server.ws_port)
    await stream.send_all(
        b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = await stream.receive_some()
        assert chunk, "the server closed during the opening handshake"
        response += chunk
    assert response.startswith(b"HTTP/1.1 101 "), response
    return stream


async def test_second_signal_cancels_a_slow_shutdown(tmp_path: Path) -> None:
    # Without the second signal this stop would wait 300 s for the silent client's close
    # handshake: only the second signal can end it within the test's bound.
    env = {
        "TILEMUD_GATEWAY_CLOSE_TIMEOUT": "300",
        "TILEMUD_GATEWAY_HELLO_TIMEOUT": "300",
        "TILEMUD_SHUTDOWN_GRACE": "600",
    }
    with trio.fail_after(BOUND):
        async with running_process(tmp_path, env=env) as server:
            unanswering = await open_unanswering_client(server)
            async with unanswering:
                await wait_for_health(server, connections=1, sessions=0)
                server.process.send_signal(signal.SIGTERM)
                closing = await server.log.wait_for("closing all connections")
                assert closing["greeting"] == 1
                server.process.send_signal(signal.SIGINT)
                with trio.move_on_after(10) as waiting:
                    await server.exit_status()
    assert not waiting.cancelled_caught, "the second signal did not end the stop"
    assert server.process.returncode == 0
    log = server.log
    assert log.other_lines == [], log.text()
    assert "second signal: cancelling the remaining shutdown" in log.messages
    assert log.records[-1]["msg"] == "stopped"
    assert errors_in(log) == []  # a hard stop is cancellation, not a crash


# --- refusing to start ------------------------------------------------------------------


def _unknown_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "tilemud.toml"
    path.write_text("[server]\nws_prot = 7350\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("env", "use_file", "named"),
    [
        ({"TILEMUD_WS_PORT": "abc"}, False, "ws_port"),
        ({}, True, "ws_prot"),
        ({"TILEMUD_AUTH_ALGORITHM": "none"}, False, "auth.algorithm"),
        ({"TILEMUD_AUTH_SECRET": "too short"}, False, "HMAC key"),
    ],
    ids=["env-not-a-number", "file-unknown-key", "env-algorithm-none", "env-short-secret"],
)
async def test_bad_settings_exit_2_naming_the_setting(
    tmp_path: Path, env: dict[str, str], use_file: bool, named: str
) -> None:
    # Ports come from the environment here: a --ws-port flag would override TILEMUD_WS_PORT.
    argv = ["serve", "--data-dir", str(tmp_path / "data"), "--log-format", "json"]
    if use_file:
        argv += ["--config", str(_unknown_key_file(tmp_path))]
    env = {"TILEMUD_WS_PORT": "0", "TILEMUD_HTTP_PORT": "0", **env}
    with trio.fail_after(BOUND):
        async with tilemud_process(tmp_path, argv, env=env) as server:
            status = await server.exit_status()
    assert status == 2
    text = server.log.text()
    assert named in text
    assert "Traceback" not in text
    assert len(server.log.lines) == 1, text


@pytest.mark.parametrize("taken", ["--ws-port", "--http-port"])
async def test_a_port_in_use_is_one_clear_error(tmp_path: Path, taken: str) -> None:
    with trio.fail_after(BOUND):
        (occupant,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
        async with occupant:
            port = occupant.socket.getsockname()[1]
            argv = [*serve_argv(tmp_path), taken, str(port)]  # the last flag wins
            async with tilemud_process(tmp_path, argv) as server:
                status = await server.exit_status()
    assert status == 1
    log = server.log
    # No bare traceback on stderr: every line is a JSON record (tracebacks sit in `exc`).
    assert log.other_lines == [], log.text()
    last = log.records[-1]
    assert (last["level"], last["logger"]) == ("error", "tilemud.cli")
    assert "Address already in use" in last["msg"]
    assert str(port) in last["msg"]
    assert "exc" not in last
