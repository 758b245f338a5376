"""Moderation made on one node takes effect at once on the other (two real processes).

Real clock, loopback, an absolute deadline per test; the nodes share this test's
PostgreSQL database and Redis key prefix (tests/integration/cluster_players.py).
"""

from __future__ import annotations

from pathlib import Path

import trio

from tests.integration.cluster_players import (
    Player,
    cluster_database,
    cluster_nodes,
    hello,
    login,
    moderate,
    player_on,
    until_answered,
)
from tilemud.config import RedisSettings

BOUND = 180


async def test_a_ban_on_one_node_closes_the_socket_on_the_other_and_refuses_every_hello(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            token = await login(b, "Bob")
            async with player_on(b, token) as bob:
                banned = await moderate(a, bob.player_id, "ban", reason="griefing")
                assert banned.status_code == 200, banned.text
                assert banned.json()["disconnected"] is True  # closed where he plays
                assert await bob.until_closed() == 4010
                assert bob.others[-1]["code"] == "banned"
                assert "griefing" in bob.others[-1]["message"]
            for node in (a, b):
                async with hello(node, token) as refused:
                    assert not isinstance(refused, Player)
                    assert refused["code"] == "banned", refused
            twice = await moderate(b, "p_unknown_" + bob.player_id, "ban", reason="who")
            assert twice.status_code == 404, twice.text
            again = await moderate(b, bob.player_id, "ban", reason="again")
            assert again.status_code == 409  # b's book has a's ban
            assert again.json()["error"]["code"] == "already_banned"
            lifted = await moderate(b, bob.player_id, "unban", reason="served")
            assert lifted.status_code == 200, lifted.text
            while True:  # a applies b's unban when it hears it
                async with hello(a, token) as back:
                    if isinstance(back, Player):
                        assert back.player_id == bob.player_id
                        break
                    assert back["code"] == "banned", back
                await trio.sleep(0.1)


async def test_a_mute_and_a_kick_reach_a_player_on_the_other_node(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            async with player_on(a, await login(a, "Cat")) as cat:
                joined = await cat.request({"type": "chat_join", "channel": "global"})
                assert joined["type"] == "chat_joined"
                muted = await moderate(b, cat.player_id, "mute", reason="spam", duration_s=600)
                assert muted.status_code == 200, muted.text
                say = {"type": "chat_send", "channel": "global", "text": "x"}
                refused = await until_answered(cat, say, lambda f: f.get("type") == "error")
                assert refused["code"] == "muted", refused
                assert refused["until"] == muted.json()["until"]
                unmuted = await moderate(b, cat.player_id, "unmute", reason="ok")
                assert unmuted.status_code == 200, unmuted.text
                await until_answered(cat, say, lambda f: f["type"] == "chat_sent")
                kicked = await moderate(b, cat.player_id, "kick", reason="cool off")
                assert kicked.status_code == 200, kicked.text
                assert kicked.json()["disconnected"] is True
                assert await cat.until_closed() == 4011
                assert cat.others[-1]["code"] == "kicked"
