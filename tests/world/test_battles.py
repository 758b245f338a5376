"""Battles through the gateway, under autojump: created on demand, ended by the rules."""

from __future__ import annotations

from pathlib import Path

import attrs
import trio
import trio.testing

from tests.integration.harness import make_settings, running_server
from tests.world.memory import memory_player
from tests.world.play import join, place
from tilemud.actors.arena import ArenaListing, ListArenas
from tilemud.game import BATTLE_RULES
from tilemud.protocol import BattleEnded, PlaceResult

DEADLINE = 1000.0


async def test_a_battle_ends_by_time_and_tells_its_players_the_result(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    assert BATTLE_RULES.battle_ticks is not None
    length = BATTLE_RULES.battle_ticks / BATTLE_RULES.tick_rate_hz
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_a") as ada,
            memory_player(server, "p_b") as bob,
        ):
            battle = (await join(ada.client, mode="battle")).arena_id
            assert (await join(bob.client, mode="battle")).arena_id == battle
            started = trio.current_time()
            assert isinstance(await place(ada.client, 3, 3), PlaceResult)

            for player in (ada, bob):
                await player.client.receive_until(lambda c: c.view.ended is not None)
            assert trio.current_time() - started <= length + 1
            ended = [f for f in ada.seen if isinstance(f, BattleEnded)]
            assert len(ended) == 1
            assert ended[0].reason == "time"
            assert ended[0].winners == ("p_a",)
            assert dict(ended[0].scores) == {"p_a": 1}
            assert bob.client.view.ended is not None
            # The same result for both (each copy carries its own player's seq).
            assert attrs.evolve(bob.client.view.ended, seq=ended[0].seq) == ended[0]

            # The battle is over and gone: a new join starts a new battle.
            listing: tuple[ArenaListing, ...] = await server.directory.ref.ask(
                lambda reply: ListArenas(reply=reply)
            )
            assert battle not in {entry.arena_id for entry in listing}
            assert (await join(ada.client, mode="battle")).arena_id != battle


async def test_battles_are_instances_for_a_handful_and_never_overfilled(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    cap = BATTLE_RULES.player_cap
    with trio.fail_after(DEADLINE):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            battles: list[str] = []
            async with trio.open_nursery() as nursery:

                async def one(index: int) -> None:
                    async with memory_player(server, f"p_{index}") as player:
                        battles.append((await join(player.client, mode="battle")).arena_id)
                        await trio.sleep(5)  # stay seated while the others join

                for index in range(cap + 1):
                    nursery.start_soon(one, index)
            counts = sorted(battles.count(b) for b in set(battles))
            assert counts == [1, cap]
