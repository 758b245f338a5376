"""Joins take turns through the real door: ``gateway.joins_at_once`` joins are worked on
at once, later ones wait in line and are all seated, and one that waited too long is
refused ``overloaded`` with ``retry_after``, then seated when it repeats its rid.

Real sockets and the real clock (the server runs in the test's Trio run): the test holds
the server's only turn itself, so that the joins wait for as long as it decides.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio

from tests.integration.harness import bot, make_settings, running_server
from tilemud.actors.session import JoinTurns
from tilemud.player_client import PlayerClient
from tilemud.protocol import ErrorFrame, Join, Joined

pytestmark = pytest.mark.integration


async def wait_in_line(turns: JoinTurns, count: int) -> None:
    while turns.waiting != count:  # noqa: ASYNC110
        await trio.sleep(0.01)


async def answer_to(client: PlayerClient, rid: str) -> object:
    await client.receive_until(lambda c: rid in c.answers)
    return client.answers[rid][-1]


async def test_joins_beyond_the_limit_wait_in_line_and_are_all_seated(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, durable=False, joins_at_once=1)
    with trio.fail_after(30):
        async with running_server(settings) as server, AsyncExitStack() as stack:
            turns = server.join_turns
            clients = [
                await stack.enter_async_context(bot(server, f"p_line_{n}")) for n in range(4)
            ]
            await turns.take()  # the line's only turn, held by the test
            rids = [client.next_rid() for client in clients]
            for client, rid in zip(clients, rids, strict=True):
                await client.send(Join(rid=rid, mode="arena", region="eu"))
            await wait_in_line(turns, 4)
            with trio.move_on_after(0.3):
                await clients[0].receive()
                pytest.fail("a join was answered while it waited for its turn")
            turns.give_back()
            for n, (client, rid) in enumerate(zip(clients, rids, strict=True)):
                assert isinstance(await answer_to(client, rid), Joined)
                # The arena's stream starts with a snapshot that seats the player.
                await client.receive_until(lambda c: c.stream.last_seq > 0)
                assert f"p_line_{n}" in client.view.players
            assert (turns.most_at_once, turns.waited, turns.refused) == (1, 4, 0)
            assert (turns.working, turns.waiting) == (0, 0)


async def test_a_join_that_waited_too_long_is_refused_and_may_be_repeated(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, durable=False, joins_at_once=1)
    with trio.fail_after(30):
        async with running_server(settings) as server, bot(server, "p_late") as client:
            turns = server.join_turns
            turns.wait_limit = 0.2
            await turns.take()
            join = Join(rid=client.next_rid(), mode="arena", region="eu")
            await client.send(join)
            await wait_in_line(turns, 1)
            await trio.sleep(0.4)
            turns.give_back()
            refused = await answer_to(client, join.rid)
            assert isinstance(refused, ErrorFrame), refused
            assert refused.code == "overloaded"
            assert refused.retry_after is not None
            # A passing refusal is not remembered: the same rid, repeated, is seated.
            del client.answers[join.rid]
            assert isinstance(await client.request(join), Joined)
            await client.receive_until(lambda c: c.stream.last_seq > 0)
            assert "p_late" in client.view.players
            assert turns.refused == 1
