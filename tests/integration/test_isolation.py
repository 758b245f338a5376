"""One player's bug stays that player's (issue 11, item 1), over real sockets.

- A bug in one session's handling closes that connection with 1011; the others play on,
  and the victim resumes its session.
- The grace timer of a connection replaced by a second ``hello`` neither expires the
  player's new session nor crashes the gateway when the player leaves (it raised
  ``KeyError`` in the session table, and the root restarted everything).
- A gateway crash restarts the gateway and the HTTP server only (the root is
  ``rest_for_one``): the arenas and storage run on, the board as it was.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from trio_websocket import ConnectionClosed

from tests.integration.harness import bot, make_settings, open_client, running_server
from tests.world.play import describe, join, place
from tilemud.actors.session import NotNow
from tilemud.net.gateway import Gateway
from tilemud.player_client import PlayerClient
from tilemud.protocol import ClientMessage, ErrorFrame, Joined, Place, PlaceResult, ServerMessage
from tilemud.server import TilemudServer
from tilemud.supervisors import ChildContext

pytestmark = pytest.mark.integration


def restarts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "restarting child" in r.getMessage()]


@asynccontextmanager
async def resuming(
    server: TilemudServer, player_id: str, resume_token: str
) -> AsyncIterator[PlayerClient]:
    token = server.tokens.mint_access(player_id=player_id, name=player_id)
    async with open_client(server, max_message_size=16 * 1024 * 1024) as connection:
        client = PlayerClient(connection)
        await client.hello(token, resume_token=resume_token)
        yield client


@pytest.mark.parametrize("door", ["handle_now", "handle"])
async def test_a_bug_in_one_session_closes_only_its_connection_with_1011(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, door: str
) -> None:
    """Whether the bug is met in the read hub's step (``handle_now``, the way a ``place``
    goes while the reader waits) or in the reader's own task (``handle``, no hub)."""
    caplog.set_level(logging.INFO)
    settings = make_settings(tmp_path, read_hub_pause=0.005 if door == "handle_now" else -1.0)
    with trio.fail_after(30):
        async with (
            running_server(settings) as server,
            bot(server, "p_ada") as ada,
            bot(server, "p_bob") as bob,
            bot(server, "p_cy") as cy,
        ):
            arena = (await join(ada)).arena_id
            assert (await join(bob)).arena_id == arena
            assert (await join(cy)).arena_id == arena
            victim = server.gateway.sessions.session_of("p_ada")
            assert victim is not None
            handle, handle_now = victim.handle, victim.handle_now
            calls = 0

            def bug_once(message: ClientMessage) -> None:
                nonlocal calls
                calls += 1
                if isinstance(message, Place) and calls == 1:
                    raise RuntimeError("injected bug in one session's handling")

            async def buggy_once(
                message: ClientMessage, *, read_at: float | None = None
            ) -> str | None:
                bug_once(message)
                return await handle(message, read_at=read_at)

            def buggy_now(
                message: ClientMessage, *, read_at: float | None = None
            ) -> str | NotNow | None:
                bug_once(message)
                return handle_now(message, read_at=read_at)

            # The session object only: every other player's session keeps the real code.
            monkeypatch.setattr(victim, door, buggy_now if door == "handle_now" else buggy_once)
            await ada.send(Place(rid="boom", x=0, y=0, kind="stone"))
            before_close: list[ServerMessage] = []

            async def read_until_closed() -> None:
                while True:
                    before_close.append(await ada.receive())

            with pytest.raises(ConnectionClosed) as closed:
                await read_until_closed()
            assert closed.value.reason is not None
            assert closed.value.reason.code == 1011
            # The error frame docs/protocol.md promises before a 1011.
            assert [f.code for f in before_close if isinstance(f, ErrorFrame)] == ["internal"]

            # The others play on, on the same connections, in the same arena.
            for step in range(5):
                await trio.sleep(0.25)  # past the one-tick cooldown of each player
                for index, other in enumerate((bob, cy)):
                    answer = await place(other, 10 + step, 10 + index)
                    assert isinstance(answer, PlaceResult), answer
                    assert answer.outcome == "accepted", answer
            assert (await describe(server, "p_bob")).arena_id == arena

            # The victim resumes its session: still seated, and the same rid is free to use.
            assert ada.welcome is not None
            async with resuming(server, "p_ada", ada.welcome.resume_token) as back:
                assert back.welcome is not None
                assert back.welcome.resumed is True
                answer = await back.request(Place(rid="boom", x=0, y=0, kind="stone"))
                assert isinstance(answer, PlaceResult), answer
                assert answer.outcome == "accepted"
            assert "p_ada" in (await describe(server, "p_bob")).players

    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        "connection failed on a bug; closing it with 1011"
    ]
    assert restarts(caplog) == []


async def test_a_replaced_connection_then_a_drop_expires_the_session_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    grace = 1.0
    settings = make_settings(tmp_path, durable=False, reconnect_grace=grace)
    with trio.fail_after(30):
        async with running_server(settings) as server, bot(server, "p_bob") as bob:
            async with bot(server, "p_ada") as first:
                arena = (await join(first)).arena_id
                assert (await join(bob)).arena_id == arena
                async with bot(server, "p_ada") as second:
                    assert second.welcome is not None
                    assert second.welcome.resumed is True
                    with pytest.raises(ConnectionClosed) as closed:
                        await first.receive_until(lambda _: False)
                    assert closed.value.reason is not None
                    assert closed.value.reason.code == 4009
                    # Connected on the second connection past the first one's grace.
                    await trio.sleep(grace * 2)
                    assert server.gateway.sessions.session_of("p_ada") is not None
                    answer = await place(second, 1, 1)
                    assert isinstance(answer, PlaceResult), answer
                    assert answer.outcome == "accepted"
            # Ada left: her session expires once, and nothing else happens.
            while server.gateway.sessions.session_of("p_ada") is not None:  # noqa: ASYNC110
                await trio.sleep(0.05)
            await trio.sleep(grace * 2)  # any second timer would have fired by now
            await bob.receive_until(lambda c: "p_ada" not in c.view.players)
            answer = await place(bob, 2, 2)
            assert isinstance(answer, PlaceResult), answer
            assert answer.outcome == "accepted"
            assert (await describe(server, "p_bob")).arena_id == arena
    assert restarts(caplog) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@asynccontextmanager
async def gateway_that_crashes_on_demand(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Callable[[], None]]:
    """Patch :class:`Gateway` so that its first run raises when the test says so.

    Patched before the server is built: the root's child spec holds the bound method.
    """
    original: Callable[[Gateway, ChildContext], Awaitable[None]] = Gateway.run
    crash = trio.Event()
    crashed = False

    async def run(self: Gateway, ctx: ChildContext) -> None:
        nonlocal crashed

        async def crash_when_asked() -> None:
            nonlocal crashed
            await crash.wait()
            crashed = True
            raise RuntimeError("injected gateway bug")

        async with trio.open_nursery() as nursery:
            if not crashed:
                nursery.start_soon(crash_when_asked)
            await original(self, ctx)
            nursery.cancel_scope.cancel()

    monkeypatch.setattr(Gateway, "run", run)
    yield crash.set


async def test_a_gateway_crash_leaves_the_arenas_and_storage_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)
    # Last: the capture handler takes this level too, and the stops are logged at DEBUG.
    caplog.set_level(logging.DEBUG, logger="tilemud.supervisor")
    with trio.fail_after(60):
        async with gateway_that_crashes_on_demand(monkeypatch) as crash_gateway:
            async with running_server(make_settings(tmp_path)) as server:
                async with bot(server, "p_ada") as ada:
                    joined = await join(ada)
                    answer = await place(ada, 5, 5)
                    assert isinstance(answer, PlaceResult), answer
                    assert answer.outcome == "accepted"
                    arenas_started = _arena_starts(caplog)
                    first_port = server.gateway.port
                    mark = len(caplog.records)
                    crash_gateway()
                    with pytest.raises(ConnectionClosed):
                        await ada.receive_until(lambda _: False)
                # The gateway comes back (on a new port: the tests bind port 0).
                while server.gateway.port in (None, first_port) or not (  # noqa: ASYNC110
                    server.health().ok
                ):
                    await trio.sleep(0.05)
                async with bot(server, "p_ada") as back:
                    again = await join(back)
                    assert isinstance(again, Joined)
                    assert again.arena_id == joined.arena_id
                    await back.receive_until(lambda c: (5, 5) in c.view.tiles)
                    await trio.sleep(0.25)  # past the one-tick cooldown
                    answer = await place(back, 6, 5)
                    assert isinstance(answer, PlaceResult), answer
                    assert answer.outcome == "accepted", answer  # storage answered: it runs
                # No arena started again: the running ones were kept, not rebuilt.
                assert _arena_starts(caplog) == arenas_started
                touched = {
                    (getattr(r, "supervisor", None), getattr(r, "child", None))
                    for r in caplog.records[mark:]
                    if r.name == "tilemud.supervisor"
                }
                root_children = {child for sup, child in touched if sup == "root"}
                assert root_children == {"gateway", "http"}, touched
                assert restarts(caplog) == [
                    "supervisor 'root': restarting child 'gateway' (rest_for_one)"
                ]


def _arena_starts(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if r.getMessage() == "arena running")
