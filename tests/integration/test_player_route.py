"""The client library finds its node: ``tilemud.player_route`` against real servers.

A lone in-process server answers its own discovery; two real ``tilemud serve`` nodes of a
cluster send a player to the one with room, and say "no route" (with ``retry_after``) for
an arena nobody runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.integration.harness import guest_login, make_settings, running_server
from tests.integration.processes import guest_login as process_login
from tests.integration.processes import running_process
from tests.integration.test_cluster_ownership import BOUND, two_nodes, wait_for_route
from tests.redis_probe import count_keys
from tilemud.config import RedisSettings
from tilemud.player_route import NoRoute, discover, play
from tilemud.protocol import Place, PlaceResult


async def test_a_lone_node_sends_a_player_to_itself(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            http_url = server.addresses.http_url
            route = await discover(http_url, mode="arena", region="eu")
            assert route.ws_url == server.addresses.ws_url
            token, _ = await guest_login(server, "ann")
            async with play(http_url, token, mode="arena", region="eu") as (client, joined):
                answer = await client.request(Place(rid=client.next_rid(), x=1, y=1, kind="stone"))
                assert isinstance(answer, PlaceResult)
                assert joined.mode == "arena"
            with pytest.raises(NoRoute) as refused:
                await discover(http_url, mode="chess", region="eu")
            assert refused.value.code == "bad_request"


async def test_in_a_cluster_the_player_goes_where_there_is_room(
    tmp_path: Path, postgres_url: str, redis_settings: RedisSettings
) -> None:
    env1, env2 = await two_nodes(
        tmp_path, postgres_url, redis_settings, TILEMUD_WORLD_MAX_ARENAS="1"
    )
    assert redis_settings.url is not None
    with trio.fail_after(BOUND):
        async with (
            running_process(tmp_path / "n1", env=env1) as n1,
            running_process(tmp_path / "n2", env=env2) as n2,
        ):
            cards = redis_settings.key_prefix + ":node:*"
            for _ in range(200):
                if count_keys(redis_settings.url, cards) == 2:
                    break
                await trio.sleep(0.05)
            ann = (await process_login(n1, "ann"))["token"]
            bob = (await process_login(n1, "bob"))["token"]
            # Asked of n2, the epic arena nobody plays yet opens on n1 (fewest arenas, name).
            async with play(n2.http_url, ann, mode="arena", region="eu") as (_, epic):
                # n1 now runs all it may: the battle, asked of n1, is played on n2.
                async with play(n1.http_url, bob, mode="battle", region="eu") as (_, battle):
                    there = await wait_for_route(n1, "n2", arena_id=battle.arena_id)
                    here = await wait_for_route(n2, "n1", arena_id=epic.arena_id)
                    assert there["ws_url"] != here["ws_url"]
            with pytest.raises(NoRoute) as nobody:
                await discover(n1.http_url, arena_id="a_nobody")
            assert nobody.value.retry_after is not None
            assert nobody.value.retry_after >= 1
