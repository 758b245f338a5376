"""Guilds and rate limits across two real ``tilemud serve`` nodes of one cluster.

Each test starts two nodes on loopback (ports from their logs) that share a throwaway
PostgreSQL database and a Redis key prefix; players connect to either node over
WebSockets. Real clock, absolute deadlines, the processes killed on the way out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from benchmarks.databases import throwaway_database
from tests.integration.cluster_nodes import NodePlayer, cluster_nodes, node_player
from tests.storage.conftest import ADMIN_URL
from tilemud.config import RedisSettings
from tilemud.protocol import (
    ChatClosed,
    ChatJoin,
    ChatJoined,
    ChatSend,
    ChatSent,
    ErrorFrame,
    GuildAccept,
    GuildCreate,
    GuildEvent,
    GuildInfo,
    GuildInvite,
    GuildKick,
    GuildResult,
    ServerMessage,
)

BOUND = 60


@pytest.fixture
def cluster_database(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database of this test's own, shared by its nodes."""
    with throwaway_database(ADMIN_URL, prefix="tilemud_test_cluster") as url:
        yield url


def code_of(answer: ServerMessage) -> str:
    assert isinstance(answer, ErrorFrame), answer
    return answer.code


async def found_guild(leader: NodePlayer, name: str) -> str:
    created = await leader.ask(lambda rid: GuildCreate(rid=rid, name=name))
    assert isinstance(created, GuildResult), created
    return created.guild_id


async def test_a_guild_invite_crosses_nodes_and_a_kick_on_one_is_seen_on_the_other(
    tmp_path: Path, cluster_database: str, redis_settings: RedisSettings
) -> None:
    with trio.fail_after(BOUND):
        async with (
            cluster_nodes(tmp_path, cluster_database, redis_settings, "a", "b") as nodes,
            node_player(nodes["a"], "ann") as ann,
            node_player(nodes["b"], "bob") as bob,
        ):
            guild_id = await found_guild(ann, "Tile Lords")
            invited = await ann.ask(lambda rid: GuildInvite(rid=rid, player_id=bob.player_id))
            assert isinstance(invited, GuildResult), invited
            # The invite's event reaches bob on the other node (presence forwards it).
            told = await bob.until(lambda f: isinstance(f, GuildEvent) and f.change == "invited")
            assert isinstance(told, GuildEvent)
            assert (told.guild_id, told.by) == (guild_id, ann.player_id)
            # Node b never saw the invite being made: it reads the guild from the database.
            accepted = await bob.ask(lambda rid: GuildAccept(rid=rid, guild_id=guild_id))
            assert isinstance(accepted, GuildResult), accepted
            assert dict(accepted.members) == {ann.player_id: "leader", bob.player_id: "member"}
            channel = f"guild:{guild_id}"
            joined = await bob.ask(lambda rid: ChatJoin(rid=rid, channel=channel))
            assert isinstance(joined, ChatJoined), joined
            # a's book learned of the join too: the leader sees bob, and may kick him.
            info = await ann.ask(lambda rid: GuildInfo(rid=rid))
            assert isinstance(info, GuildResult), info
            assert bob.player_id in dict(info.members)

            kicked = await ann.ask(lambda rid: GuildKick(rid=rid, player_id=bob.player_id))
            assert isinstance(kicked, GuildResult), kicked
            # Node b hears of it and takes bob out of the guild's channel at once ...
            closed = await bob.until(lambda f: isinstance(f, ChatClosed) and f.channel == channel)
            assert isinstance(closed, ChatClosed)
            assert closed.reason == "removed"
            told = await bob.until(lambda f: isinstance(f, GuildEvent) and f.change == "kicked")
            assert isinstance(told, GuildEvent)
            assert (told.player_id, told.by) == (bob.player_id, ann.player_id)
            # ... and serves no stale membership: no guild chat, no guild, no guild act.
            sent = await bob.ask(lambda rid: ChatSend(rid=rid, channel=channel, text="still here?"))
            assert code_of(sent) == "forbidden"
            again = await bob.ask(lambda rid: ChatJoin(rid=rid, channel=channel))
            assert code_of(again) == "forbidden"
            assert code_of(await bob.ask(lambda rid: GuildInfo(rid=rid))) == "not_in_guild"
            invite = await bob.ask(lambda rid: GuildInvite(rid=rid, player_id=ann.player_id))
            assert code_of(invite) == "not_in_guild"


async def test_two_nodes_at_once_one_name_one_last_place(
    tmp_path: Path, cluster_database: str, redis_settings: RedisSettings
) -> None:
    """Attack: what should be one stays one when two nodes race for it."""
    with trio.fail_after(BOUND):
        async with (
            cluster_nodes(tmp_path, cluster_database, redis_settings, "a", "b") as nodes,
            node_player(nodes["a"], "ann") as ann,
            node_player(nodes["b"], "bob") as bob,
        ):
            # Two founders, one name, at once, on two nodes: one guild, one clear refusal.
            answers: dict[str, ServerMessage] = {}

            async def create(player: NodePlayer) -> None:
                answers[player.player_id] = await player.ask(
                    lambda rid: GuildCreate(rid=rid, name="Only One")
                )

            async with trio.open_nursery() as nursery:
                nursery.start_soon(create, ann)
                nursery.start_soon(create, bob)
            won = [a for a in answers.values() if isinstance(a, GuildResult)]
            lost = [code_of(a) for a in answers.values() if not isinstance(a, GuildResult)]
            assert (len(won), lost) == (1, ["name_taken"]), answers

        # A guild of two at most, one place left; two players on two nodes accept their
        # invites at once: the lock puts them in order, the second finds the guild full.
        async with (
            cluster_nodes(
                tmp_path / "second",
                cluster_database,
                redis_settings,
                "c",
                "d",
                env={"TILEMUD_SOCIAL_GUILD_MEMBER_CAP": "2"},
            ) as nodes,
            node_player(nodes["c"], "cat") as cat,
            node_player(nodes["c"], "dan") as dan,
            node_player(nodes["d"], "eve") as eve,
        ):
            guild_id = await found_guild(cat, "Two At Most")
            for invitee in (dan, eve):
                answer = await cat.ask(
                    lambda rid: GuildInvite(rid=rid, player_id=invitee.player_id)  # noqa: B023
                )
                assert isinstance(answer, GuildResult), answer
            accepts: dict[str, ServerMessage] = {}

            async def accept(player: NodePlayer) -> None:
                accepts[player.player_id] = await player.ask(
                    lambda rid: GuildAccept(rid=rid, guild_id=guild_id)
                )

            async with trio.open_nursery() as nursery:
                nursery.start_soon(accept, dan)
                nursery.start_soon(accept, eve)
            joined = [p for p, a in accepts.items() if isinstance(a, GuildResult)]
            refused = [code_of(a) for a in accepts.values() if not isinstance(a, GuildResult)]
            assert (len(joined), refused) == (1, ["guild_full"]), accepts
            # Both nodes agree who is in it.
            for viewer in (cat, *(p for p in (dan, eve) if p.player_id in joined)):
                info = await viewer.ask(lambda rid: GuildInfo(rid=rid))
                assert isinstance(info, GuildResult), info
                assert dict(info.members) == {cat.player_id: "leader", joined[0]: "member"}


async def test_the_chat_limit_holds_across_nodes_for_a_player_who_moves(
    tmp_path: Path, cluster_database: str, redis_settings: RedisSettings
) -> None:
    with trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, cluster_database, redis_settings, "a", "b") as nodes:
            async with node_player(nodes["a"], "ann") as ann:
                joined = await ann.ask(lambda rid: ChatJoin(rid=rid, channel="global"))
                assert isinstance(joined, ChatJoined), joined
                for n in range(20):  # [limits] chat: 20 per 10 s, the default
                    text = f"hello {n}"
                    sent = await ann.ask(
                        lambda rid: ChatSend(rid=rid, channel="global", text=text)  # noqa: B023
                    )
                    assert isinstance(sent, ChatSent), sent
                token, player_id = ann.token, ann.player_id
            # The same player on the other node: no fresh window there.
            async with node_player(nodes["b"], "ann", token=token, player_id=player_id) as moved:
                joined = await moved.ask(lambda rid: ChatJoin(rid=rid, channel="global"))
                assert isinstance(joined, ChatJoined), joined
                refused = await moved.ask(
                    lambda rid: ChatSend(rid=rid, channel="global", text="one more")
                )
                assert isinstance(refused, ErrorFrame), refused
                assert refused.code == "rate_limited"
                assert refused.retry_after is not None
                assert 0 < refused.retry_after <= 10
