"""Guild chat over real sockets reaches all and only the guild's members, and stops
reaching a member the moment they are kicked.

The whole server (durable, SQLite) on loopback; players are raw WebSocket clients
(``tests.integration.test_chat.ChatPlayer``); the real clock, one absolute deadline.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.integration.harness import make_settings, running_server
from tests.integration.test_chat import ChatPlayer, chat_player

pytestmark = pytest.mark.integration


async def say(player: ChatPlayer, channel: str, text: str) -> None:
    answer = await player.request(
        {"type": "chat_send", "rid": player.next_rid(), "channel": channel, "text": text}
    )
    assert answer["type"] == "chat_sent", answer


async def join_channel(player: ChatPlayer, channel: str) -> dict[str, object]:
    return await player.request({"type": "chat_join", "rid": player.next_rid(), "channel": channel})


def closings(player: ChatPlayer) -> list[tuple[str, str]]:
    return [(f["type"], f["channel"]) for f in player.frames if f["type"] == "chat_closed"]


async def test_guild_chat_reaches_all_and_only_members(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with (
            running_server(make_settings(tmp_path)) as server,
            chat_player(server, "ann") as ann,
            chat_player(server, "bob") as bob,
            chat_player(server, "cat") as cat,
        ):
            founded = await ann.request({"type": "guild_create", "rid": "g1", "name": "Tilers"})
            assert founded["type"] == "guild_result", founded
            guild = f"guild:{founded['guild_id']}"
            invited = await ann.request({"type": "guild_invite", "rid": "g2", "player_id": "bob"})
            assert invited["type"] == "guild_result", invited
            accepted = await bob.request(
                {"type": "guild_accept", "rid": "g3", "guild_id": founded["guild_id"]}
            )
            assert accepted["type"] == "guild_result", accepted

            assert (await join_channel(ann, guild))["type"] == "chat_joined"
            assert (await join_channel(bob, guild))["type"] == "chat_joined"
            refused = await join_channel(cat, guild)
            assert (refused["type"], refused["code"]) == ("error", "forbidden")
            refused = await cat.request(
                {"type": "chat_send", "rid": "c1", "channel": guild, "text": "let me in"}
            )
            assert (refused["type"], refused["code"]) == ("error", "forbidden")
            # cat reads global, so there is something on its stream to wait for.
            for player in (ann, bob, cat):
                assert (await join_channel(player, "global"))["type"] == "chat_joined"

            await say(ann, guild, "members only")
            await bob.until(lambda p: ("ann", "members only") in p.said(guild))
            await say(ann, "global", "hello all")
            await cat.until(lambda p: ("ann", "hello all") in p.said("global"))
            assert cat.said(guild) == []

            kicked = await ann.request({"type": "guild_kick", "rid": "g4", "player_id": "bob"})
            assert kicked["type"] == "guild_result", kicked
            await bob.until(
                lambda p: any(
                    f["type"] == "chat_closed" and f["channel"] == guild for f in p.frames
                )
            )
            await say(ann, guild, "after the kick")
            await say(ann, "global", "marker")
            await bob.until(lambda p: ("ann", "marker") in p.said("global"))
            assert bob.said(guild) == [("ann", "members only")]
            refused = await bob.request(
                {"type": "chat_send", "rid": "b9", "channel": guild, "text": "still here?"}
            )
            assert (refused["type"], refused["code"]) == ("error", "forbidden")
