"""Channel messages are stored: after a restart of the server, joining a channel gives its
history back (and a guild channel's to its members only).

The whole server (durable, SQLite) on loopback, raw WebSocket clients, the real clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.integration.harness import make_settings, running_server
from tests.integration.test_chat import chat_player
from tests.integration.test_guild_chat import join_channel, say

pytestmark = pytest.mark.integration


def texts(joined: dict[str, object]) -> list[str]:
    history = joined["history"]
    assert isinstance(history, list)
    return [str(line["text"]) for line in history]


async def test_channel_history_survives_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with trio.fail_after(60):
        async with (
            running_server(settings) as server,
            chat_player(server, "ann") as ann,
            chat_player(server, "bob") as bob,
        ):
            founded = await ann.request({"type": "guild_create", "rid": "g1", "name": "Keepers"})
            guild = f"guild:{founded['guild_id']}"
            for player in (ann, bob):
                assert (await join_channel(player, "global"))["type"] == "chat_joined"
            assert (await join_channel(ann, guild))["type"] == "chat_joined"
            await say(ann, "global", "first")
            await say(bob, "global", "second")
            await say(ann, guild, "guild secret")
        async with (
            running_server(settings) as server,
            chat_player(server, "ann") as ann,
            chat_player(server, "bob") as bob,
        ):
            assert texts(await join_channel(bob, "global")) == ["first", "second"]
            assert texts(await join_channel(ann, guild)) == ["guild secret"]
            refused = await join_channel(bob, guild)
            assert (refused["type"], refused["code"]) == ("error", "forbidden")
