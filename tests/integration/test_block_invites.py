"""A block list over real sockets: the blocked player cannot invite the blocker to a guild
or a party, and the block survives a restart of the server.

The whole server (durable, SQLite) on loopback, raw WebSocket clients, the real clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.integration.harness import make_settings, running_server
from tests.integration.test_chat import ChatPlayer, chat_player, dm

pytestmark = pytest.mark.integration


async def invite_both(carl: ChatPlayer) -> tuple[str, str]:
    """carl invites ann to his guild and to his party; what each answer's code is."""
    guild = await carl.request({"type": "guild_invite", "rid": carl.next_rid(), "player_id": "ann"})
    party = await carl.request({"type": "party_invite", "rid": carl.next_rid(), "player_id": "ann"})
    return str(guild.get("code", guild["type"])), str(party.get("code", party["type"]))


async def test_a_blocked_player_cannot_invite_the_blocker_even_after_a_restart(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    with trio.fail_after(60):
        async with (
            running_server(settings) as server,
            chat_player(server, "ann") as ann,
            chat_player(server, "carl") as carl,
        ):
            founded = await carl.request({"type": "guild_create", "rid": "g1", "name": "Carls"})
            assert founded["type"] == "guild_result", founded
            assert (await carl.request({"type": "party_create", "rid": "p1"}))["type"] == "party"
            blocked = await ann.request({"type": "block", "rid": "b1", "player_id": "carl"})
            assert blocked["blocked"] == ["carl"]
            assert await invite_both(carl) == ("blocked", "blocked")
        async with (
            running_server(settings) as server,
            chat_player(server, "ann") as ann,
            chat_player(server, "carl") as carl,
        ):
            # The guild and the block are stored; the party (not stored) is founded again.
            assert (await carl.request({"type": "party_create", "rid": "p2"}))["type"] == "party"
            assert await invite_both(carl) == ("blocked", "blocked")
            refused = await dm(carl, "ann", "still blocked?")
            assert (refused["type"], refused["code"]) == ("error", "blocked")
            unblocked = await ann.request({"type": "unblock", "rid": "b2", "player_id": "carl"})
            assert unblocked["blocked"] == []
            assert await invite_both(carl) == ("guild_result", "party")
