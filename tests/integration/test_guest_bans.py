"""A ban holds against guest logins from the banned player's device: ``POST
/v1/auth/guest`` with ``device`` gives a returning device the same player id, so its ban
refuses the login (403 ``banned``) as it refuses the ``hello``; a live connection reads the
``banned`` error frame before its 4010 close.

Testing policy: loopback, port 0, real clock, an absolute ``trio.fail_after``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.integration.harness import make_settings, player, read_until_closed, running_server
from tests.integration.test_admin import api, error_code, token_for
from tilemud.server import TilemudServer


async def guest(server: TilemudServer, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.addresses.http_url) as client:
        return await client.post("/v1/auth/guest", json=body)


async def test_a_banned_device_cannot_log_in_again_until_unbanned(tmp_path: Path) -> None:
    device = secrets.token_urlsafe(16)
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            first = await guest(server, {"name": "Griefer", "device": device})
            assert first.status_code == 200, first.text
            player_id = first.json()["player_id"]
            again = await guest(server, {"name": "Other Name", "device": device})
            assert again.json()["player_id"] == player_id
            other = await guest(server, {"name": "Griefer", "device": secrets.token_urlsafe(16)})
            assert other.json()["player_id"] != player_id
            fresh = await guest(server, {"name": "Griefer"})
            assert fresh.json()["player_id"] != player_id
            for bad in ("short", "x" * 129, "has spaces in it, 22 chars+", 7):
                refused = await guest(server, {"name": "Griefer", "device": bad})
                assert refused.status_code == 400, (bad, refused.text)
                assert error_code(refused) == "bad_request"

            async with api(server, token_for(server, "moderator")) as mod:
                async with player(server, token=first.json()["token"]) as (connection, _):
                    banned = await mod.post(
                        f"/v1/admin/players/{player_id}/ban",
                        json={"reason": "griefing", "duration_s": 600},
                    )
                    assert banned.status_code == 200, banned.text
                    closed = await read_until_closed(connection)
                until = banned.json()["until"]
                assert closed.code == 4010
                assert [(f["code"], f["until"]) for f in closed.frames] == [("banned", until)]

                refused = await guest(server, {"name": "Griefer", "device": device})
                assert refused.status_code == 403, refused.text
                assert error_code(refused) == "banned"
                assert refused.json()["error"]["until"] == pytest.approx(until)
                assert "griefing" in refused.json()["error"]["message"]
                # Another device (or none) is another player: not banned.
                assert (await guest(server, {"name": "Griefer"})).status_code == 200

                lifted = await mod.post(
                    f"/v1/admin/players/{player_id}/unban", json={"reason": "appeal"}
                )
                assert lifted.status_code == 200
            back = await guest(server, {"name": "Griefer", "device": device})
            assert back.status_code == 200
            assert back.json()["player_id"] == player_id


async def test_a_permanent_ban_refuses_the_device_without_until(tmp_path: Path) -> None:
    device = secrets.token_urlsafe(16)
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            login = await guest(server, {"name": "Forever", "device": device})
            async with player(server, token=login.json()["token"]):
                pass
            async with api(server, token_for(server, "admin")) as admin:
                banned = await admin.post(
                    f"/v1/admin/players/{login.json()['player_id']}/ban",
                    json={"reason": "for good"},
                )
                assert banned.status_code == 200
        # Bans are stored: the device stays refused after a restart.
        async with running_server(make_settings(tmp_path)) as server:
            refused = await guest(server, {"name": "Forever", "device": device})
            assert refused.status_code == 403
            assert "until" not in refused.json()["error"]
