"""The browser console through its HTTP door, without a browser: cookies, CSRF, roles,
the live board's event stream (tests/integration/test_console_browser.py drives the same
pages in Chromium).

Testing policy: loopback, port 0, real clock, an absolute ``trio.fail_after`` per test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import orjson
import pytest
import trio

from tests.integration.harness import bot, guest_login, make_settings, player, running_server
from tests.integration.test_admin import PASSWORD, add_admin, token_for
from tests.world.play import join, place
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration


@asynccontextmanager
async def browser_like(server: TilemudServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that keeps cookies and follows no redirect by itself."""
    async with httpx.AsyncClient(base_url=server.addresses.http_url) as client:
        yield client


@asynccontextmanager
async def event_stream(
    server: TilemudServer, path: str, cookie: str
) -> AsyncIterator[trio.MemoryReceiveChannel[dict[str, Any]]]:
    """Server-Sent Events over a plain socket (HTTP/1.1): each ``data:`` line's JSON."""
    stream = await trio.open_tcp_stream("127.0.0.1", server.addresses.http_port)
    send, receive = trio.open_memory_channel[dict[str, Any]](100)

    async def read() -> None:
        buffer = b""
        while chunk := await stream.receive_some(65536):
            buffer += chunk
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                if line.startswith(b"data: "):
                    await send.send(orjson.loads(line[len(b"data: ") :]))

    async with stream, trio.open_nursery() as nursery:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        )
        await stream.send_all(request.encode())
        nursery.start_soon(read)
        yield receive
        nursery.cancel_scope.cancel()


def form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200
    answer = await client.post(
        "/console/sign-in",
        data={"csrf": form_token(form.text), "name": name, "password": password},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/"
    home = await client.get("/console/")
    assert home.status_code == 200
    return form_token(home.text)


async def test_sign_in_cookie_sign_out_and_a_failed_sign_in(tmp_path: Path) -> None:
    await trio.to_thread.run_sync(add_admin, tmp_path, "alice", "admin")
    with trio.fail_after(60):
        async with running_server(make_settings(tmp_path)) as server:
            async with browser_like(server) as client:
                first = await client.get("/console/")
                assert first.status_code == 303
                assert first.headers["location"] == "/console/sign-in"
                form = await client.get("/console/sign-in")
                assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
                wrong = await client.post(
                    "/console/sign-in",
                    data={"csrf": form_token(form.text), "name": "alice", "password": "nope"},
                )
                assert wrong.status_code == 401
                assert "Wrong name or password" in wrong.text
                assert "tilemud_console=" not in wrong.headers.get("set-cookie", "")
                good = await client.post(
                    "/console/sign-in",
                    data={"csrf": form_token(form.text), "name": "alice", "password": PASSWORD},
                )
                assert good.status_code == 303
                cookie = next(
                    c for c in good.headers.get_list("set-cookie") if "tilemud_console=" in c
                )
                assert "HttpOnly" in cookie
                assert "SameSite=Strict" in cookie
                assert "Path=/console" in cookie
                assert "Secure" not in cookie  # no TLS here
                home = await client.get("/console/")
                assert home.status_code == 200
                assert "alice (admin)" in home.text
                csrf = form_token(home.text)
                stolen = dict(client.cookies)
                out = await client.post("/console/sign-out", data={"csrf": csrf})
                assert out.status_code == 303
            # The signed-out session's cookie opens nothing any more.
            async with browser_like(server) as replayed:
                replayed.cookies.update(stolen)
                again = await replayed.get("/console/")
                assert again.status_code == 303
                posted = await replayed.post("/console/sign-out", data={"csrf": csrf})
                assert posted.status_code == 403
            async with browser_like(server) as admin_api:
                audit = await admin_api.get(
                    "/v1/admin/audit",
                    params={"action": "sign_in"},
                    headers={"Authorization": f"Bearer {token_for(server, 'admin')}"},
                )
            records = audit.json()["records"]
            assert [(r["actor"], r["detail"]) for r in records] == [
                ("admin:alice", {"door": "console"})
            ]


async def test_csrf_missing_wrong_or_of_another_session_is_refused(tmp_path: Path) -> None:
    await trio.to_thread.run_sync(add_admin, tmp_path, "mo", "moderator")
    with trio.fail_after(60):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "Target")
            async with player(server, token=token):
                pass
            async with browser_like(server) as one, browser_like(server) as other:
                mine = await sign_in(one, "mo")
                theirs = await sign_in(other, "mo")
                assert mine != theirs
                act = f"/console/players/{player_id}/mute"
                fields = {"reason": "spam", "duration": "10", "unit": "minutes"}
                for csrf in (None, "", "x" * 43, theirs):
                    data = fields if csrf is None else {**fields, "csrf": csrf}
                    refused = await one.post(act, data=data)
                    assert refused.status_code == 403, (csrf, refused.text)
                    assert "CSRF" in refused.text
                # Nothing was done: the real token still finds the player unmuted.
                done = await one.post(act, data={**fields, "csrf": mine})
                assert done.status_code == 200, done.text
                assert "mute: done for" in done.text
                twice = await one.post(act, data={**fields, "csrf": mine})
                assert twice.status_code == 409
                assert "already_muted" in twice.text
                odd = await one.post("/console/reports/r_x/approve", data={"csrf": mine})
                assert odd.status_code == 404
                unknown = await one.post(
                    "/console/reports/r_x/dismiss", data={"csrf": mine, "reason": "x"}
                )
                assert unknown.status_code == 404
            # The sign-in form wants its own token, from its own cookie.
            async with browser_like(server) as stranger:
                forged = await stranger.post(
                    "/console/sign-in", data={"csrf": "abc", "name": "mo", "password": PASSWORD}
                )
                assert forged.status_code == 403


async def test_bearer_tokens_open_no_console_page_and_moderators_see_no_admin_page(
    tmp_path: Path,
) -> None:
    await trio.to_thread.run_sync(add_admin, tmp_path, "mo", "moderator")
    with trio.fail_after(60):
        async with running_server(make_settings(tmp_path)) as server:
            guest, _ = await guest_login(server, "Guesty")
            tokens = {
                "guest": guest,
                "player": server.tokens.mint_access(player_id="p_1", name="pl", roles=()),
                "admin": token_for(server, "admin"),
            }
            async with browser_like(server) as client:
                for who, token in tokens.items():
                    headers = {"Authorization": f"Bearer {token}"}
                    for path in ("/console/", "/console/players?q=a", "/console/audit"):
                        page = await client.get(path, headers=headers)
                        assert page.status_code == 303, (who, path)
                    post = await client.post(
                        "/console/players/p_1/kick", headers=headers, data={"reason": "x"}
                    )
                    assert post.status_code == 403, who
            async with browser_like(server) as mod:
                await sign_in(mod, "mo")
                home = await mod.get("/console/")
                assert "/console/audit" not in home.text
                audit = await mod.get("/console/audit")
                assert audit.status_code == 403
                assert "needs the admin role" in audit.text


async def test_live_pages_and_a_spectator_stream_that_takes_no_seat(tmp_path: Path) -> None:
    await trio.to_thread.run_sync(add_admin, tmp_path, "mo", "moderator")
    with trio.fail_after(60):
        async with running_server(make_settings(tmp_path)) as server:
            async with browser_like(server) as client, bot(server, "p_builder") as builder:
                await sign_in(client, "mo")
                joined = await join(builder, mode="battle", region="eu")
                arena_id = joined.arena_id
                live = await client.get("/console/live")
                assert live.status_code == 200
                assert arena_id in live.text
                figures = await client.get("/console/live/figures")
                assert figures.status_code == 200
                assert "figures" in figures.json()
                path = f"/console/arenas/{arena_id}/events"
                cookie = f"tilemud_console={client.cookies['tilemud_console']}"
                async with event_stream(server, path, cookie) as frames:
                    assert (await frames.receive())["type"] == "snapshot"
                    await place(builder, 3, 4)
                    tick = await frames.receive()
                    while tick["type"] != "tick":
                        tick = await frames.receive()
                assert tick["placed"] == [[3, 4, "p_builder", "stone"]]
                # The spectator holds no seat: the arena still counts one player.
                again = await client.get("/console/live")
                row = re.search(rf"{arena_id}</a></td><td>(\d+)</td>", again.text)
                assert row is not None, again.text
                assert row.group(1) == "1", again.text
                missing = await client.get("/console/replays/b_no_such_arena")
                assert missing.status_code == 404
                assert "no replay" in missing.text
                tree = await client.get("/console/live")
                for child in ("root", "storage", "world", "play", "arenas", "gateway", "http"):
                    assert f">{child}</td>" in tree.text, child


async def test_the_live_arenas_count_players_and_npcs(tmp_path: Path) -> None:
    await trio.to_thread.run_sync(add_admin, tmp_path, "mo", "moderator")
    settings = make_settings(tmp_path)
    settings = attrs.evolve(
        settings,
        npcs=attrs.evolve(settings.npcs, enabled=True),
        world=attrs.evolve(settings.world, arena_npc_cap=5),
    )
    with trio.fail_after(60):
        async with running_server(settings) as server:
            async with browser_like(server) as client, bot(server, "p_ann") as ann:
                await sign_in(client, "mo")
                arena_id = (await join(ann, mode="arena", region="eu")).arena_id
                pattern = rf"{arena_id}</a></td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>"
                while True:  # NPCs take their seats at the next tick's end
                    live = await client.get("/console/live")
                    row = re.search(pattern, live.text)
                    assert row is not None, live.text
                    if row.group(3) == "5":
                        break
                    await trio.sleep(0.1)
                assert row.group(1) == "1"  # NPCs take no human seat


async def test_sign_in_attempts_are_counted_with_the_apis(tmp_path: Path) -> None:
    await trio.to_thread.run_sync(add_admin, tmp_path, "alice", "admin")
    settings = make_settings(tmp_path)
    settings = attrs.evolve(settings, limits=attrs.evolve(settings.limits, admin_sign_ins=3))
    with trio.fail_after(60):
        async with running_server(settings) as server, browser_like(server) as client:
            api = await client.post(
                "/v1/admin/sign-in", json={"name": "alice", "password": "wrong"}
            )
            assert api.status_code == 401
            form = await client.get("/console/sign-in")
            fields = {"csrf": form_token(form.text), "name": "alice", "password": "wrong"}
            for status in (401, 401, 429, 429):
                answer = await client.post("/console/sign-in", data=fields)
                assert answer.status_code == status, answer.text
            assert "Too many sign-in attempts" in answer.text
            right = await client.post("/console/sign-in", data={**fields, "password": PASSWORD})
            assert right.status_code == 429  # even the right password waits its turn
