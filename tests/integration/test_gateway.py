"""The player gateway over real sockets: handshake, bad input, capacity, slow clients."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected

from tests.integration.harness import (
    SECRET,
    guest_login,
    make_settings,
    open_client,
    player,
    read_until_closed,
    receive,
    running_server,
    send,
)
from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings

pytestmark = pytest.mark.integration


async def test_guest_login_hello_welcome_ping(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "ada")
            async with player(server, token=token) as (connection, welcome):
                assert welcome["v"] == 3
                assert welcome["player_id"] == player_id
                assert welcome["session_id"].startswith("s_")
                assert welcome["resume_token"]
                assert welcome["resumed"] is False
                await send(connection, {"type": "ping", "rid": "r-1"})
                pong = await receive(connection)
                assert pong["type"] == "pong"
                assert pong["rid"] == "r-1"


async def test_each_player_gets_their_own_identity(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            async with player(server, "ada") as (_, ada), player(server, "bob") as (_, bob):
                assert ada["player_id"] != bob["player_id"]
                assert ada["session_id"] != bob["session_id"]


async def refused(server: Any, first_frame: str | bytes | None) -> tuple[int | None, list[Any]]:
    """Connect, send ``first_frame`` (or nothing), return the close code and frames."""
    async with open_client(server) as connection:
        if first_frame is not None:
            await connection.send_message(first_frame)
        closed = await read_until_closed(connection)
    return closed.code, closed.frames


def hello(token: str, **extra: Any) -> str:
    return orjson.dumps({"type": "hello", "v": 2, "token": token, **extra}).decode()


async def test_no_hello_in_time_is_closed_4004(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path, hello_timeout=0.3)) as server:
            code, frames = await refused(server, None)
    assert code == 4004
    assert [f["code"] for f in frames] == ["hello_timeout"]


def other_authority(**changes: Any) -> TokenAuthority:
    return TokenAuthority(attrs.evolve(AuthSettings(secret=SECRET), **changes))


@pytest.mark.parametrize(
    ("make_token", "close_code", "error_code"),
    [
        pytest.param(lambda: "not-a-jwt", 4001, "invalid_token", id="garbage"),
        pytest.param(
            lambda: other_authority(secret="another-secret-0123456789abcdef0123").mint_access(
                player_id="p_x", name="mallory"
            ),
            4001,
            "invalid_token",
            id="forged-signature",
        ),
        pytest.param(
            lambda: other_authority(audience="someone-else").mint_access(player_id="p_x", name="x"),
            4001,
            "invalid_token",
            id="wrong-audience",
        ),
        pytest.param(
            lambda: other_authority().mint_access(player_id="p_x", name="x", now=1_000_000.0),
            4002,
            "token_expired",
            id="expired",
        ),
        pytest.param(
            lambda: other_authority().mint_resume(player_id="p_x", session_id="s_x"),
            4001,
            "invalid_token",
            id="resume-token-as-access-token",
        ),
    ],
)
async def test_bad_tokens_are_refused(
    tmp_path: Path, make_token: Any, close_code: int, error_code: str
) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            code, frames = await refused(server, hello(make_token()))
    assert code == close_code
    assert [f["code"] for f in frames] == [error_code]


async def test_resume_token_of_another_player_is_refused(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            async with player(server, "ada") as (_, ada_welcome):
                bob_token, _ = await guest_login(server, "bob")
                frame = hello(bob_token, resume_token=ada_welcome["resume_token"])
                code, frames = await refused(server, frame)
    assert code == 4001
    assert [f["code"] for f in frames] == ["token_mismatch"]


async def test_unsupported_version_is_closed_4003(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            token, _ = await guest_login(server, "ada")
            frame = orjson.dumps({"type": "hello", "v": 4, "token": token, "new": 1}).decode()
            code, frames = await refused(server, frame)
    assert code == 4003
    assert frames[0]["code"] == "unsupported_version"
    assert "2" in frames[0]["message"]


@pytest.mark.parametrize(
    ("first_frame", "error_code"),
    [
        pytest.param('{"type": "ping", "rid": "1"}', "hello_required", id="not-hello"),
        pytest.param("{nope", "malformed_json", id="malformed"),
        pytest.param("[1, 2]", "not_an_object", id="array"),
        pytest.param('{"type": "hello", "v": "1", "token": "t"}', "invalid_message", id="coerce"),
    ],
)
async def test_bad_first_frame_is_closed_4000(
    tmp_path: Path, first_frame: str, error_code: str
) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            code, frames = await refused(server, first_frame)
    assert code == 4000
    assert [f["code"] for f in frames] == [error_code]


BAD_FRAMES: list[tuple[str | bytes, str, str | None]] = [
    ("{nope", "malformed_json", None),
    ("42", "not_an_object", None),
    ('"ping"', "not_an_object", None),
    ('{"rid": "a"}', "missing_type", "a"),
    ('{"type": 7, "rid": "b"}', "missing_type", "b"),
    ('{"type": "teleport", "rid": "c"}', "unknown_type", "c"),
    ('{"type": "ping", "rid": "d", "extra": 1}', "invalid_message", "d"),
    ('{"type": "ping", "rid": 5}', "invalid_message", None),
    ('{"type": "ping", "rid": "' + "x" * 65 + '"}', "invalid_message", None),
    (b'{"type": "ping", "rid": "e"}', "binary_not_supported", None),
]


async def test_bad_frames_get_errors_and_the_connection_stays_usable(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            async with player(server) as (connection, _):
                for frame, error_code, rid in BAD_FRAMES:
                    await connection.send_message(frame)
                    error = await receive(connection)
                    assert error["type"] == "error", frame
                    assert error["code"] == error_code, frame
                    assert error.get("rid") == rid, frame
                    assert error["message"]
                await send(connection, {"type": "ping", "rid": "still-here"})
                assert (await receive(connection))["rid"] == "still-here"


async def test_oversize_frame_closes_1009_and_spares_others(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path, max_frame_bytes=1024)) as server:
            async with player(server, "ada") as (ada, _), player(server, "bob") as (bob, _):
                await ada.send_message('{"type": "ping", "rid": "' + "x" * 2000 + '"}')
                closed = await read_until_closed(ada)
                assert closed.code == 1009
                await send(bob, {"type": "ping", "rid": "bob"})
                assert (await receive(bob))["rid"] == "bob"


#: A frame budget no test client reaches: for the tests about other limits.
UNLIMITED_FRAMES: dict[str, Any] = {"frame_rate": 1e6, "frame_burst": 1_000_000}


async def test_a_flood_of_bad_frames_is_answered_and_harms_nobody(tmp_path: Path) -> None:
    flood = 2000
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path, **UNLIMITED_FRAMES)) as server:
            async with player(server, "ada") as (ada, _), player(server, "bob") as (bob, _):
                async with trio.open_nursery() as nursery:

                    async def spam() -> None:
                        for _ in range(flood):
                            await ada.send_message("{nope")

                    nursery.start_soon(spam)
                    errors = 0
                    while errors < flood:
                        assert (await receive(ada))["code"] == "malformed_json"
                        errors += 1
                await send(bob, {"type": "ping", "rid": "bob"})
                assert (await receive(bob))["rid"] == "bob"
                await send(ada, {"type": "ping", "rid": "ada"})
                assert (await receive(ada))["rid"] == "ada"


async def test_wrong_path_is_rejected(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            with pytest.RaisesGroup(ConnectionRejected, flatten_subgroups=True) as rejected:
                async with open_client(server, "/elsewhere"):
                    pass
    refusal = rejected.value.exceptions[0]
    assert isinstance(refusal, ConnectionRejected)
    assert refusal.status_code == 404


async def test_connections_over_the_cap_are_closed_1013(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path, max_connections=2)) as server:
            async with player(server, "ada"), player(server, "bob"):
                code, frames = await refused(server, None)
                assert code == 1013
                assert [(f["code"], f["retry_after"]) for f in frames] == [("server_full", 30.0)]
            # the cap counts open connections: room again once they left
            async with player(server, "cyd") as (connection, _):
                await send(connection, {"type": "ping", "rid": "1"})
                assert (await receive(connection))["type"] == "pong"


async def test_slow_client_is_closed_4008_and_others_are_not_delayed(tmp_path: Path) -> None:
    """A client that stops reading fills its outbox; it is cut off, the others carry on."""
    settings = make_settings(
        tmp_path, outbound_queue=8, slow_client_timeout=0.5, close_timeout=5, **UNLIMITED_FRAMES
    )
    with trio.fail_after(30):
        async with running_server(settings) as server:
            token, slow_id = await guest_login(server, "slow")
            # Tiny kernel buffers so that "stopped reading" shows within a few frames.
            async with (
                open_client(server, receive_buffer=1024) as slow,
                trio.open_nursery() as nursery,
            ):
                await send(slow, {"type": "hello", "v": 2, "token": token})

                async def flood() -> None:
                    # Far more replies than the pipe holds; the client reads none of them.
                    with trio.move_on_after(20), contextlib.suppress(ConnectionClosed):
                        for _ in range(20_000):
                            await send(slow, {"type": "ping", "rid": "x" * 60})

                nursery.start_soon(flood)
                async with player(server, "quick") as (quick, _):
                    while not slow_client_cut_off(server, slow_id):
                        # The quick player is answered all along.
                        await send(quick, {"type": "ping", "rid": "q"})
                        assert (await receive(quick))["rid"] == "q"
                    # Now the slow client reads: the backlog, then the close frame.
                    closed = await read_until_closed(slow)
                    assert closed.code == 4008
                    await send(quick, {"type": "ping", "rid": "after"})
                    assert (await receive(quick))["rid"] == "after"
                nursery.cancel_scope.cancel()


def slow_client_cut_off(server: Any, player_id: str) -> bool:
    for connection in server.gateway.live_connections:
        if connection.session.player_id == player_id:
            return connection.closing is not None and connection.closing.code == 4008
    return False


async def test_second_hello_is_answered_then_closed_4000(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            token, _ = await guest_login(server, "ada")
            async with player(server, token=token) as (connection, _):
                await connection.send_message(hello(token))
                closed = await read_until_closed(connection)
    assert closed.code == 4000
    assert [f["code"] for f in closed.frames] == ["duplicate_hello"]


async def test_resume_token_past_its_grace_starts_a_fresh_session(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "ada")
            stale = server.tokens.mint_resume(
                player_id=player_id, session_id="s_old", now=1_000_000.0
            )
            async with open_client(server) as connection:
                await connection.send_message(hello(token, resume_token=stale))
                welcome = await receive(connection)
    assert welcome["type"] == "welcome"
    assert welcome["resumed"] is False
    assert welcome["session_id"] != "s_old"


async def test_forged_resume_token_is_refused(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "ada")
            forged = other_authority(secret="another-secret-0123456789abcdef0123").mint_resume(
                player_id=player_id, session_id="s_x"
            )
            code, frames = await refused(server, hello(token, resume_token=forged))
    assert code == 4001
    assert [f["code"] for f in frames] == ["invalid_token"]
