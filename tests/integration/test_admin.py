"""The admin API through the real door: a running server, httpx clients, players on real
WebSockets, the ``tilemud admin add`` command as a subprocess, restarts on one database.

Testing policy: loopback, port 0, real clock (real sockets and threads), an absolute
``trio.fail_after`` on every test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import trio

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
from tilemud.protocol import PROTOCOL_VERSION
from tilemud.server import TilemudServer

PASSWORD = "correct horse battery staple"
ADMIN_PATHS = (
    ("POST", "/v1/admin/players/p_x/mute", "moderator"),
    ("POST", "/v1/admin/players/p_x/unmute", "moderator"),
    ("POST", "/v1/admin/players/p_x/ban", "moderator"),
    ("POST", "/v1/admin/players/p_x/unban", "moderator"),
    ("POST", "/v1/admin/players/p_x/kick", "moderator"),
    ("GET", "/v1/admin/reports", "moderator"),
    ("POST", "/v1/admin/reports/r_x/dismiss", "moderator"),
    ("POST", "/v1/admin/reports/r_x/act", "moderator"),
    ("GET", "/v1/admin/audit", "admin"),
    ("GET", "/v1/admin/rules/battle", "admin"),
    ("POST", "/v1/admin/rules/battle", "admin"),
    ("GET", "/v1/admin/rules/battle/1", "admin"),
    ("GET", "/v1/admin/rules/battle/diff", "admin"),
    ("POST", "/v1/admin/rules/battle/1/activate", "admin"),
    ("POST", "/v1/admin/rules/battle/rollback", "admin"),
    ("GET", "/v1/admin/replays", "moderator"),
    ("GET", "/v1/admin/replays/b_x/board", "moderator"),
    ("DELETE", "/v1/admin/replays/b_x", "admin"),
)


def add_admin(data_dir: Path, name: str, role: str, password: str = PASSWORD) -> str:
    """Run ``tilemud admin add`` as a subprocess, the password on stdin; its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMUD_")}
    done = subprocess.run(
        [sys.executable, "-m", "tilemud", "admin", "add", name, "--role", role],
        input=password + "\n",
        capture_output=True,
        text=True,
        env={**env, "TILEMUD_DATA_DIR": str(data_dir)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def token_for(server: TilemudServer, *roles: str, player_id: str = "admin:tester") -> str:
    return server.tokens.mint_access(player_id=player_id, name="tester", roles=roles)


@asynccontextmanager
async def api(server: TilemudServer, token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.addresses.http_url, headers=headers) as client:
        yield client


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    code: str = body["error"]["code"]
    return code


async def hello_refused(server: TilemudServer, token: str) -> tuple[dict[str, Any], int | None]:
    async with open_client(server) as connection:
        await send(connection, {"type": "hello", "v": PROTOCOL_VERSION, "token": token})
        closed = await read_until_closed(connection)
    assert len(closed.frames) == 1, closed.frames
    return closed.frames[0], closed.code


async def test_admin_add_then_sign_in_is_audited(tmp_path: Path) -> None:
    out = await trio.to_thread.run_sync(add_admin, tmp_path, "alice", "admin")
    assert "alice" in out
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server, api(server) as client:
            wrong = await client.post(
                "/v1/admin/sign-in", json={"name": "alice", "password": "not it at all"}
            )
            assert wrong.status_code == 401
            assert error_code(wrong) == "bad_credentials"
            nobody = await client.post(
                "/v1/admin/sign-in", json={"name": "mallory", "password": PASSWORD}
            )
            assert nobody.status_code == 401
            assert error_code(nobody) == "bad_credentials"
            good = await client.post(
                "/v1/admin/sign-in", json={"name": "alice", "password": PASSWORD}
            )
            assert good.status_code == 200, good.text
            body = good.json()
            assert body["role"] == "admin"
            assert body["token_type"] == "Bearer"
            claims = server.tokens.verify_access(body["token"])
            assert claims.roles == ("admin",)
            assert claims.player_id == "admin:alice"
            async with api(server, body["token"]) as admin:
                audit = await admin.get("/v1/admin/audit", params={"action": "sign_in"})
                failed = await admin.get("/v1/admin/audit", params={"action": "sign_in_failed"})
            assert audit.status_code == 200, audit.text
            records = audit.json()["records"]
            assert [(r["actor"], r["action"]) for r in records] == [("admin:alice", "sign_in")]
            assert [
                (r["actor"], r["target"], r["detail"]["why"]) for r in failed.json()["records"]
            ] == [
                ("anonymous", "admin:mallory", "unknown_name"),
                ("anonymous", "admin:alice", "wrong_password"),
            ]
            assert failed.json()["records"][0]["detail"]["address"]
            assert PASSWORD not in failed.text
            assert "not it at all" not in failed.text


async def test_sign_in_attempts_are_limited_by_the_setting(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings = attrs.evolve(settings, limits=attrs.evolve(settings.limits, admin_sign_ins=3))
    with trio.fail_after(30):
        async with running_server(settings) as server, api(server) as client:
            statuses = []
            for attempt in range(5):
                answer = await client.post(
                    "/v1/admin/sign-in", json={"name": f"guess{attempt}", "password": "x" * 12}
                )
                statuses.append(answer.status_code)
                error_code(answer)
            assert statuses == [401, 401, 401, 429, 429]
            assert int(answer.headers["Retry-After"]) >= 1
            async with api(server, token_for(server, "admin")) as admin:
                failed = await admin.get("/v1/admin/audit", params={"action": "sign_in_failed"})
            # Refused by the limit: not audited (a flood does not fill the log).
            assert len(failed.json()["records"]) == 3


async def test_admin_add_refuses_a_taken_name_and_a_short_password(tmp_path: Path) -> None:
    await trio.to_thread.run_sync(add_admin, tmp_path, "bob", "moderator")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMUD_")}
    env["TILEMUD_DATA_DIR"] = str(tmp_path)
    for name, password, status in (("bob", PASSWORD, 1), ("carol", "short", 2)):
        done = await trio.run_process(
            [sys.executable, "-m", "tilemud", "admin", "add", name, "--role", "moderator"],
            stdin=(password + "\n").encode(),
            capture_stdout=True,
            capture_stderr=True,
            env=env,
            check=False,
        )
        assert done.returncode == status, done.stderr


async def test_every_admin_route_refuses_anonymous_guest_and_player(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            guest, _ = await guest_login(server, "Guesty")
            tokens: dict[str, str | None] = {
                "anonymous": None,
                "guest": guest,
                "player": server.tokens.mint_access(player_id="p_1", name="pl", roles=()),
                "forged": guest[:-4] + ("AAAA" if not guest.endswith("AAAA") else "BBBB"),
                "expired": server.tokens.mint_access(
                    player_id="admin:old", name="old", roles=("admin",), now=1.0
                ),
                "moderator": token_for(server, "moderator"),
                "admin": token_for(server, "admin"),
            }
            for role, token in tokens.items():
                async with api(server, token) as client:
                    for method, path, needs in ADMIN_PATHS:
                        response = await client.request(method, path, json={"junk": 1})
                        status = response.status_code
                        allowed = role == "admin" or (role == "moderator" and needs == "moderator")
                        if role in ("anonymous", "forged", "expired"):
                            assert status == 401, (role, path, response.text)
                        elif not allowed:
                            assert status == 403, (role, path, response.text)
                            assert error_code(response) == "forbidden"
                        else:
                            # Past the door: the junk body or the unknown target answers.
                            assert status in (200, 400, 404), (role, path, response.text)
                        error_code(response) if status >= 400 else None


async def test_ban_closes_the_live_socket_and_refuses_hello_until_unban(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "Griefer")
            async with api(server, token_for(server, "moderator")) as mod:
                async with player(server, token=token) as (connection, _):
                    no_reason = await mod.post(f"/v1/admin/players/{player_id}/ban", json={})
                    assert no_reason.status_code == 400
                    blank = await mod.post(
                        f"/v1/admin/players/{player_id}/ban", json={"reason": "  "}
                    )
                    assert blank.status_code == 400
                    assert error_code(blank) == "bad_request"
                    banned = await mod.post(
                        f"/v1/admin/players/{player_id}/ban",
                        json={"reason": "griefing", "duration_s": 3600},
                    )
                    assert banned.status_code == 200, banned.text
                    assert banned.json()["disconnected"] is True
                    closed = await read_until_closed(connection)
                    assert closed.code == 4010
                until = banned.json()["until"]
                # The last frame before the close says why and until when.
                [farewell] = closed.frames
                assert farewell["type"] == "error"
                assert farewell["code"] == "banned"
                assert farewell["until"] == pytest.approx(until)
                assert "griefing" in farewell["message"]
                frame, code = await hello_refused(server, token)
                assert code == 4010
                assert frame["code"] == "banned"
                assert frame["until"] == pytest.approx(until)
                assert "griefing" in frame["message"]
                again = await mod.post(
                    f"/v1/admin/players/{player_id}/ban", json={"reason": "twice"}
                )
                assert again.status_code == 409
                assert error_code(again) == "already_banned"
                lifted = await mod.post(
                    f"/v1/admin/players/{player_id}/unban", json={"reason": "appeal"}
                )
                assert lifted.status_code == 200, lifted.text
                twice = await mod.post(
                    f"/v1/admin/players/{player_id}/unban", json={"reason": "appeal"}
                )
                assert twice.status_code == 409
                assert error_code(twice) == "not_banned"
                async with player(server, token=token) as (_, welcome):
                    assert welcome["player_id"] == player_id
                unknown = await mod.post("/v1/admin/players/p_nobody/ban", json={"reason": "who?"})
                assert unknown.status_code == 404
                assert error_code(unknown) == "unknown_player"
            async with api(server, token_for(server, "admin")) as admin:
                audit = await admin.get("/v1/admin/audit", params={"target": player_id})
            actions = [(r["action"], r["reason"]) for r in audit.json()["records"]]
            assert actions == [("unban", "appeal"), ("ban", "griefing")]


async def test_kick_closes_without_a_ban(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "Noisy")
            async with api(server, token_for(server, "moderator")) as mod:
                offline = await mod.post(
                    f"/v1/admin/players/{player_id}/kick", json={"reason": "calm down"}
                )
                # Never connected: not a player of this server yet.
                assert offline.status_code == 404
                assert error_code(offline) == "unknown_player"
                async with player(server, token=token) as (connection, _):
                    kicked = await mod.post(
                        f"/v1/admin/players/{player_id}/kick", json={"reason": "calm down"}
                    )
                    assert kicked.status_code == 200, kicked.text
                    closed = await read_until_closed(connection)
                    assert closed.code == 4011
                    assert [(f["code"], f["message"]) for f in closed.frames] == [
                        ("kicked", "kicked: calm down")
                    ]
                async with player(server, token=token) as (_, welcome):
                    assert welcome["resumed"] is True


async def test_mute_refuses_chat_and_dms_until_unmuted(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "Spammer")
            async with api(server, token_for(server, "moderator")) as mod:
                async with player(server, token=token) as (connection, _):
                    await send(connection, {"type": "chat_join", "rid": "j1", "channel": "global"})
                    assert (await receive(connection))["type"] == "chat_joined"
                    untimed = await mod.post(
                        f"/v1/admin/players/{player_id}/mute", json={"reason": "spam"}
                    )
                    assert untimed.status_code == 400  # a mute needs its duration
                    for bad in (0, -5, True, "60", 1e12):
                        garbage = await mod.post(
                            f"/v1/admin/players/{player_id}/mute",
                            json={"reason": "spam", "duration_s": bad},
                        )
                        assert garbage.status_code == 400, (bad, garbage.text)
                    muted = await mod.post(
                        f"/v1/admin/players/{player_id}/mute",
                        json={"reason": "spam", "duration_s": 600},
                    )
                    assert muted.status_code == 200, muted.text
                    await send(
                        connection,
                        {"type": "chat_send", "rid": "s1", "channel": "global", "text": "buy"},
                    )
                    refused = await receive(connection)
                    assert refused["code"] == "muted"
                    assert refused["rid"] == "s1"
                    assert refused["until"] == pytest.approx(muted.json()["until"])
                    assert 0 < refused["retry_after"] <= 600
                    await send(
                        connection, {"type": "dm_send", "rid": "d1", "to": "p_x", "text": "hi"}
                    )
                    assert (await receive(connection))["code"] == "muted"
                    lifted = await mod.post(
                        f"/v1/admin/players/{player_id}/unmute", json={"reason": "ok now"}
                    )
                    assert lifted.status_code == 200
                    await send(
                        connection,
                        {"type": "chat_send", "rid": "s2", "channel": "global", "text": "sorry"},
                    )
                    answer = await receive(connection)
                    while answer["type"] != "chat_sent":  # the stream may carry the line first
                        assert answer["type"] != "error", answer
                        answer = await receive(connection)


async def test_bans_survive_a_restart(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "Repeat")
            async with player(server, token=token):
                pass
            async with api(server, token_for(server, "admin")) as admin:
                banned = await admin.post(
                    f"/v1/admin/players/{player_id}/ban", json={"reason": "for good"}
                )
                assert banned.status_code == 200
                assert banned.json()["until"] is None
                muted = await admin.post(
                    f"/v1/admin/players/{player_id}/mute",
                    json={"reason": "also", "duration_s": 3600},
                )
                assert muted.status_code == 200
        async with running_server(make_settings(tmp_path)) as server:
            frame, code = await hello_refused(server, token)
            assert code == 4010
            assert frame["code"] == "banned"
            assert "until" not in frame
            async with api(server, token_for(server, "admin")) as admin:
                again = await admin.post(
                    f"/v1/admin/players/{player_id}/mute", json={"reason": "x", "duration_s": 5}
                )
                assert again.status_code == 409
                assert error_code(again) == "already_muted"


async def test_concurrent_bans_of_one_player_apply_once(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            token, player_id = await guest_login(server, "Target")
            async with player(server, token=token):
                pass
            statuses: list[int] = []
            async with api(server, token_for(server, "moderator")) as mod:

                async def ban(reason: str) -> None:
                    response = await mod.post(
                        f"/v1/admin/players/{player_id}/ban", json={"reason": reason}
                    )
                    statuses.append(response.status_code)

                async with trio.open_nursery() as nursery:
                    for index in range(6):
                        nursery.start_soon(ban, f"reason {index}")
            assert sorted(statuses) == [200, 409, 409, 409, 409, 409]
            async with api(server, token_for(server, "admin")) as admin:
                audit = await admin.get(
                    "/v1/admin/audit", params={"target": player_id, "action": "ban"}
                )
            assert len(audit.json()["records"]) == 1


async def test_reports_queue_dismiss_and_act(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            target_token, target_id = await guest_login(server, "Target")
            reporter_token, reporter_id = await guest_login(server, "Witness")
            async with player(server, token=target_token) as (target, _):
                async with player(server, token=reporter_token) as (reporter, _):
                    ids = []
                    for rid, reason in (("r1", "slurs in chat"), ("r2", "griefing my wall")):
                        await send(
                            reporter,
                            {
                                "type": "report",
                                "rid": rid,
                                "player_id": target_id,
                                "reason": reason,
                            },
                        )
                        answer = await receive(reporter)
                        assert answer["type"] == "report_result", answer
                        ids.append(answer["report_id"])
                    await send(
                        reporter,
                        {"type": "report", "rid": "r3", "player_id": reporter_id, "reason": "me"},
                    )
                    assert (await receive(reporter))["code"] == "invalid_target"
                    await send(
                        reporter,
                        {"type": "report", "rid": "r4", "player_id": "p_ghost", "reason": "x"},
                    )
                    assert (await receive(reporter))["code"] == "unknown_player"
                async with api(server, token_for(server, "moderator", player_id="admin:mo")) as mod:
                    queue = await mod.get("/v1/admin/reports")
                    assert queue.status_code == 200, queue.text
                    listed = queue.json()["reports"]
                    assert [r["report_id"] for r in listed] == ids
                    assert listed[0]["reporter_id"] == reporter_id
                    dismissed = await mod.post(
                        f"/v1/admin/reports/{ids[0]}/dismiss", json={"reason": "banter"}
                    )
                    assert dismissed.status_code == 200, dismissed.text
                    redo = await mod.post(
                        f"/v1/admin/reports/{ids[0]}/dismiss", json={"reason": "banter"}
                    )
                    assert redo.status_code == 409
                    assert error_code(redo) == "already_decided"
                    acted = await mod.post(
                        f"/v1/admin/reports/{ids[1]}/act",
                        json={"action": "ban", "reason": "confirmed", "duration_s": 60},
                    )
                    assert acted.status_code == 200, acted.text
                    assert (await read_until_closed(target)).code == 4010
                    missing = await mod.post(
                        "/v1/admin/reports/r_nope/dismiss", json={"reason": "x"}
                    )
                    assert missing.status_code == 404
                    still_open = await mod.get("/v1/admin/reports")
                    assert still_open.json()["reports"] == []
                    everything = await mod.get("/v1/admin/reports", params={"state": "all"})
                    states = [r["state"] for r in everything.json()["reports"]]
                    assert states == ["dismissed", "actioned"]
            async with api(server, token_for(server, "admin")) as admin:
                audit = await admin.get("/v1/admin/audit", params={"actor": "admin:mo"})
                actions = [r["action"] for r in audit.json()["records"]]
                assert actions == ["ban", "report_actioned", "report_dismissed"]
                first = await admin.get("/v1/admin/audit", params={"limit": 2})
                page = first.json()
                assert len(page["records"]) == 2
                assert page["next_before"] is not None
                rest = await admin.get("/v1/admin/audit", params={"before": page["next_before"]})
                assert [r["action"] for r in rest.json()["records"]] == ["report_dismissed"]
                for bad in ({"limit": "0"}, {"before": "x"}, {"since": "yesterday"}):
                    response = await admin.get("/v1/admin/audit", params=bad)
                    assert response.status_code == 400
                    assert error_code(response) == "bad_request"


async def test_garbage_bodies_get_the_error_shape(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            async with api(server, token_for(server, "admin")) as admin:
                path = "/v1/admin/players/p_x/ban"
                for content, kind in (
                    (b"{", "application/json"),
                    (b"[]", "application/json"),
                    (b'{"reason": 5}', "application/json"),
                    (b'{"reason": "x", "extra": 1}', "application/json"),
                    (b'{"reason": "x"}', "text/plain"),
                ):
                    response = await admin.post(
                        path, content=content, headers={"Content-Type": kind}
                    )
                    assert response.status_code in (400, 415), response.text
                    error_code(response)
                sign_in = await admin.post("/v1/admin/sign-in", json={"name": 1, "password": 2})
                assert sign_in.status_code == 400


_ = SECRET
