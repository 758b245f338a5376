"""Every socket counts, in every state, and is bounded in time; at capacity the client is
told ``server_full`` with ``retry_after`` before 1013; out of file descriptors, the accept
loop backs off and logs once per interval (issue 11, items 2 and 3)."""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path

import httpx
import pytest
import trio

from tests.integration.harness import (
    guest_login,
    make_settings,
    player,
    receive,
    running_server,
    send,
)
from tests.integration.processes import BOUND, running_process
from tests.integration.processes import guest_login as process_guest_login
from tests.integration.raw_ws import CLOSE, RawClient, connect, greeted, open_raw
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration


async def connections_metric(server: TilemudServer) -> float:
    async with httpx.AsyncClient(base_url=server.addresses.http_url) as http:
        text = (await http.get("/metrics")).text
    line = next(ln for ln in text.splitlines() if ln.startswith("tilemud_connections_open "))
    return float(line.split()[1])


async def wait_until_counted(server: TilemudServer, count: int) -> None:
    while server.gateway.connections != count:  # noqa: ASYNC110
        await trio.sleep(0.01)


async def test_half_open_sockets_count_against_the_limit_and_are_dropped(
    tmp_path: Path,
) -> None:
    """Sockets that never send their upgrade hold a slot only until the hello timeout."""
    settings = make_settings(tmp_path, durable=False, max_connections=3, hello_timeout=1.5)
    with trio.fail_after(20):
        async with running_server(settings) as server, contextlib.AsyncExitStack() as stack:
            silent: list[RawClient] = []
            for _ in range(3):
                silent.append(
                    await stack.enter_async_context(await connect(server.addresses.ws_port))
                )
            await wait_until_counted(server, 3)
            assert await connections_metric(server) == 3
            # Full: a real client is told so, and when to come back.
            async with await open_raw(server.addresses.ws_port) as late:
                frames = await late.frames_until_eof()
            error = frames[0].json()
            assert error["type"] == "error"
            assert error["code"] == "server_full"
            assert error["retry_after"] == settings.gateway.full_retry_after
            assert (frames[-1].close_code, frames[-1].close_reason) == (1013, "server_full")
            # The silent sockets are dropped by the server (EOF) although they stay open.
            for client in silent:
                assert await client.frames_until_eof() == []
            await wait_until_counted(server, 0)
            assert await connections_metric(server) == 0
            async with player(server, "ada") as (connection, _):
                await send(connection, {"type": "ping", "rid": "room-again"})
                assert (await receive(connection))["rid"] == "room-again"


async def test_sockets_in_every_state_count(tmp_path: Path) -> None:
    """Before the upgrade, before hello, in a session, and closing: one count each."""
    settings = make_settings(
        tmp_path, durable=False, hello_timeout=5, close_timeout=1.0, max_frame_bytes=1024
    )
    with trio.fail_after(20):
        async with running_server(settings) as server, contextlib.AsyncExitStack() as stack:
            port = server.addresses.ws_port
            token, _ = await guest_login(server, "ada")
            await stack.enter_async_context(await connect(port))  # before the upgrade
            await stack.enter_async_context(await open_raw(port))  # before hello
            await stack.enter_async_context(await greeted(port, token))  # in a session
            closing = await stack.enter_async_context(
                await greeted(port, (await guest_login(server, "bob"))[0])
            )
            await closing.send(b"\x81\xff" + (1 << 40).to_bytes(8, "big") + b"mask" + b"x" * 4096)
            await wait_until_counted(server, 4)
            # The closing one goes once close_timeout passed (it never answers).
            frames = await closing.frames_until_eof()
            assert frames[-1].opcode == CLOSE
            await wait_until_counted(server, 3)


async def test_out_of_file_descriptors_backs_off_and_logs_once(tmp_path: Path) -> None:
    """EMFILE at accept: no log line per attempt, and the node serves again afterwards."""
    env = {"TILEMUD_GATEWAY_HELLO_TIMEOUT": "30", "TILEMUD_DATABASE_DURABLE": "false"}
    with trio.fail_after(BOUND * 2):
        async with running_process(tmp_path, env=env) as server:
            pid = server.process.pid
            used = len(await trio.to_thread.run_sync(os.listdir, f"/proc/{pid}/fd"))
            # Room for a few more descriptors only: the rest of the sockets meet EMFILE.
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (used + 8, used + 8))
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(40):
                    await stack.enter_async_context(await connect(server.ws_port))
                # Let accept() fail for a while (it would have logged every 0.1 s).
                await server.log.wait_for(
                    "cannot accept connections: out of resources; backing off"
                )
                await trio.sleep(3)
                failures = server.log.messages.count(
                    "cannot accept connections: out of resources; backing off"
                )
                assert failures == 1
            # The sockets are closed: the server accepts again and serves a player.
            await server.log.wait_for("accepting connections again")
            login = await process_guest_login(server, "after")
            async with await greeted(server.ws_port, login["token"]):
                pass  # greeted() read the welcome
