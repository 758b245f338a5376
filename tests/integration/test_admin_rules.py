"""Rule configs through the admin API and the players' door: versions made, diffed,
activated and rolled back over HTTP; battles joined over real WebSockets
(``PlayerClient``) show which rules they run under (``joined.rules.version``).

Testing policy: loopback, port 0, real clock (real sockets and storage threads), an
absolute ``trio.fail_after`` on every test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from tests.integration.harness import bot, make_settings, running_server
from tests.integration.test_admin import api, error_code, token_for
from tilemud.actors.arena import ListArenas
from tilemud.game import BATTLE_RULES, RuleConfig
from tilemud.protocol import Join, Joined
from tilemud.server import TilemudServer

FASTER = {"cooldown_ticks": 2, "battle_ticks": 600}


async def joined_rules(server: TilemudServer, player_id: str, region: str) -> str:
    """A new player joins a battle in ``region``; the rules version its ``joined`` names."""
    async with bot(server, player_id) as client:
        answer = await client.request(Join(rid=client.next_rid(), mode="battle", region=region))
        assert isinstance(answer, Joined), answer
        return answer.rules.version


async def make_version(admin: httpx.AsyncClient, changes: dict[str, Any]) -> httpx.Response:
    return await admin.post(
        "/v1/admin/rules/battle",
        json={"from_version": 1, "changes": changes, "reason": "faster battles"},
    )


async def test_an_activated_version_reaches_new_battles_only(tmp_path: Path) -> None:
    faster = RuleConfig.from_dict({**BATTLE_RULES.to_dict(), **FASTER})
    with trio.fail_after(60):
        async with (
            running_server(make_settings(tmp_path)) as server,
            api(server, token_for(server, "admin", player_id="admin:alice")) as admin,
            bot(server, "p_first") as first,
        ):
            listed = await admin.get("/v1/admin/rules/battle")
            assert listed.status_code == 200, listed.text
            assert [v["version"] for v in listed.json()["versions"]] == [1]
            assert listed.json()["versions"][0]["content_hash"] == BATTLE_RULES.content_hash
            assert listed.json()["active"] == []
            # A battle runs under the built-in rules before anything is activated.
            seat = await first.request(Join(rid=first.next_rid(), mode="battle", region="eu"))
            assert isinstance(seat, Joined)
            assert seat.rules.version == BATTLE_RULES.content_hash

            made = await make_version(admin, FASTER)
            assert made.status_code == 201, made.text
            assert made.json()["version"] == 2
            assert made.json()["based_on"] == 1
            assert made.json()["author"] == "admin:alice"
            assert made.json()["content_hash"] == faster.content_hash
            diff = await admin.get("/v1/admin/rules/battle/diff", params={"from": 1, "to": 2})
            assert diff.json()["changes"] == [
                {"field": "cooldown_ticks", "from": 5, "to": 2},
                {"field": "battle_ticks", "from": 1800, "to": 600},
            ]
            activated = await admin.post(
                "/v1/admin/rules/battle/2/activate", json={"reason": "try it"}
            )
            assert activated.status_code == 200, activated.text
            assert activated.json() == {
                "mode": "battle",
                "region": None,
                "version": 2,
                "content_hash": faster.content_hash,
                "previous": None,
            }
            # The running battle keeps its rules: a second player seated in it sees them.
            assert await joined_rules(server, "p_second", "eu") == BATTLE_RULES.content_hash
            # A battle opened now (no running one in that region) gets the new version.
            assert await joined_rules(server, "p_third", "us") == faster.content_hash

            nothing = await admin.post("/v1/admin/rules/battle/rollback", json={"reason": "x"})
            assert nothing.status_code == 409
            assert error_code(nothing) == "nothing_to_roll_back"
            back = await admin.post("/v1/admin/rules/battle/1/activate", json={"reason": "undo"})
            assert back.json()["previous"] == 2
            assert await joined_rules(server, "p_fourth", "asia") == BATTLE_RULES.content_hash
            rolled = await admin.post("/v1/admin/rules/battle/rollback", json={"reason": "redo"})
            assert rolled.status_code == 200, rolled.text
            assert (rolled.json()["version"], rolled.json()["previous"]) == (2, 1)

            versions = (await admin.get("/v1/admin/rules/battle")).json()
            assert versions["active"] == [{"region": None, "version": 2}]
            periods = versions["versions"][1]["activations"]
            assert [p["active_to"] is None for p in periods] == [False, True]
            audit = await admin.get("/v1/admin/audit", params={"actor": "admin:alice"})
            assert [r["action"] for r in audit.json()["records"]] == [
                "rules_rolled_back",
                "rules_activated",
                "rules_activated",
                "rules_created",
            ]
            assert audit.json()["records"][-1]["target"] == "rules:battle:2"


async def test_a_region_version_wins_over_the_every_region_one(tmp_path: Path) -> None:
    faster = RuleConfig.from_dict({**BATTLE_RULES.to_dict(), **FASTER})
    with trio.fail_after(60):
        async with (
            running_server(make_settings(tmp_path)) as server,
            api(server, token_for(server, "admin")) as admin,
        ):
            assert (await make_version(admin, FASTER)).status_code == 201
            only_us = await admin.post(
                "/v1/admin/rules/battle/2/activate", json={"reason": "us first", "region": "us"}
            )
            assert only_us.status_code == 200, only_us.text
            assert await joined_rules(server, "p_eu", "eu") == BATTLE_RULES.content_hash
            assert await joined_rules(server, "p_us", "us") == faster.content_hash


async def test_two_activations_at_once_leave_exactly_one_in_force(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with (
            running_server(make_settings(tmp_path)) as server,
            api(server, token_for(server, "admin")) as admin,
        ):
            assert (await make_version(admin, FASTER)).status_code == 201
            answers: list[httpx.Response] = []

            async def activate(number: int) -> None:
                answers.append(
                    await admin.post(
                        f"/v1/admin/rules/battle/{number}/activate",
                        json={"reason": "race", "region": "asia"},
                    )
                )

            for _ in range(3):
                answers.clear()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(activate, 1)
                    nursery.start_soon(activate, 2)
                codes = sorted(a.status_code for a in answers)
                # Both win in some order, or the second finds its version in force already.
                assert codes in ([200, 200], [200, 409]), [a.text for a in answers]
                listed = (await admin.get("/v1/admin/rules/battle")).json()
                assert len([a for a in listed["active"] if a["region"] == "asia"]) == 1


async def test_bad_rule_changes_are_refused_with_the_rules_message(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with (
            running_server(make_settings(tmp_path)) as server,
            api(server, token_for(server, "admin")) as admin,
            api(server, token_for(server, "moderator")) as moderator,
        ):
            for changes, words in (
                ({"width": 0}, "width must be between 1 and 1024"),
                ({"width": "32"}, "width must be an integer"),
                ({"tick_rate_hz": True}, "tick_rate_hz must be an integer"),
                ({"battle_ticks": None}, "a battle needs battle_ticks"),
                # Battles are format 1 (no captures): a field format 1 does not have.
                ({"captures": True}, "unknown rule config fields: ['captures']"),
                (
                    {
                        "format_version": 2,
                        "captures": "yes",
                        "capture_margin": 0,
                        "round_ticks": None,
                    },
                    "captures must be true or false",
                ),
                ({"tile_kinds": [{"name": "Bad Name", "points": 1}]}, "tile kind name"),
                ({"nope": 1}, "unknown rule config fields"),
                ({"mode": "arena"}, "keeps its mode"),
            ):
                refused = await make_version(admin, changes)
                assert refused.status_code == 400, (changes, refused.text)
                assert error_code(refused) == "bad_rule_config"
                assert words in refused.json()["error"]["message"], refused.text
            same = await make_version(admin, {"width": 32})
            assert same.status_code == 409
            assert error_code(same) == "duplicate_rules"
            assert "version 1" in same.json()["error"]["message"]
            activate, create = "/v1/admin/rules/battle/{}/activate", "/v1/admin/rules/battle"
            for method, path, body, status in (
                ("POST", activate.format(99), {"reason": "x"}, 404),
                ("POST", activate.format("abc"), {"reason": "x"}, 404),
                ("POST", activate.format(1), {"reason": "x", "region": "mars"}, 400),
                ("POST", activate.format(1), {"reason": " "}, 400),
                ("POST", activate.format(1), {"reason": 7}, 400),
                ("POST", "/v1/admin/rules/chess/1/activate", {"reason": "x"}, 404),
                ("POST", create, {"from_version": 9, "changes": {}, "reason": "x"}, 404),
                ("POST", create, {"from_version": 1, "changes": [], "reason": "x"}, 400),
                ("POST", create, {"from_version": 0, "changes": {}, "reason": "x"}, 404),
                ("POST", create, {"from_version": 1, "changes": {}}, 400),
                ("GET", "/v1/admin/rules/battle/diff?from=1&to=99", None, 404),
                ("GET", "/v1/admin/rules/battle/diff?from=1", None, 400),
                ("GET", "/v1/admin/rules/battle/diff?from=x&to=1", None, 400),
                ("GET", "/v1/admin/rules/battle/7", None, 404),
                ("GET", "/v1/admin/rules/chess", None, 404),
            ):
                answer = await admin.request(method, path, json=body)
                assert answer.status_code == status, (path, body, answer.text)
                error_code(answer)
            activated = await admin.post("/v1/admin/rules/battle/1/activate", json={"reason": "x"})
            assert activated.status_code == 200
            again = await admin.post("/v1/admin/rules/battle/1/activate", json={"reason": "x"})
            assert again.status_code == 409
            assert error_code(again) == "already_active"
            for method, path in (
                ("GET", "/v1/admin/rules/battle"),
                ("GET", "/v1/admin/rules/battle/1"),
                ("GET", "/v1/admin/rules/battle/diff?from=1&to=1"),
                ("POST", "/v1/admin/rules/battle"),
                ("POST", "/v1/admin/rules/battle/1/activate"),
                ("POST", "/v1/admin/rules/battle/rollback"),
            ):
                answer = await moderator.request(method, path, json={"reason": "x"})
                assert answer.status_code == 403, (path, answer.text)
                assert error_code(answer) == "forbidden"


async def test_a_battle_brought_back_after_a_restart_keeps_its_own_rules(tmp_path: Path) -> None:
    faster = RuleConfig.from_dict({**BATTLE_RULES.to_dict(), **FASTER})
    with trio.fail_after(90):
        async with running_server(make_settings(tmp_path)) as server:
            assert await joined_rules(server, "p_old", "eu") == BATTLE_RULES.content_hash
            async with api(server, token_for(server, "admin")) as admin:
                assert (await make_version(admin, FASTER)).status_code == 201
                activated = await admin.post(
                    "/v1/admin/rules/battle/2/activate", json={"reason": "after"}
                )
                assert activated.status_code == 200
        async with running_server(make_settings(tmp_path)) as server:
            listing = await server.directory.ref.ask(_list_arenas)
            assert [(a.mode, a.region) for a in listing] == [("battle", "eu")]
            # The restored battle has room: a new player in eu is seated in it, under the
            # rules it was created with, although version 2 is in force for new ones.
            assert await joined_rules(server, "p_new", "eu") == BATTLE_RULES.content_hash
            assert await joined_rules(server, "p_far", "us") == faster.content_hash


def _list_arenas(reply: Any) -> ListArenas:
    return ListArenas(reply=reply)
