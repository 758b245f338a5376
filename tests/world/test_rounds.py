"""The epic arena's PvP and rounds through the gateway, under autojump.

Two players on a real server (in-memory WebSockets): a capture is answered ``accepted``
with ``captured``, listed in the ``tick`` frame, and moves the scores; at the round's end
both get ``round_ended`` with the round's scores and winners, the board is empty, and play
goes straight on with the same seats in the next round.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import trio
import trio.testing

from tests.integration.harness import make_settings, running_server
from tests.world.memory import memory_player
from tests.world.play import describe, join, place
from tilemud.config import WorldSettings
from tilemud.protocol import ArenaTick, PlaceResult, RoundEnded

DEADLINE = 1000.0
ROUND_TICKS = 200  # 20 s at 10 Hz


async def test_captures_and_rounds_through_the_gateway(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    settings = attrs.evolve(
        make_settings(tmp_path, durable=False),
        world=WorldSettings(arena_round_ticks=ROUND_TICKS),
    )
    with trio.fail_after(DEADLINE):
        async with (
            running_server(settings) as server,
            memory_player(server, "p_a") as ada,
            memory_player(server, "p_b") as bob,
        ):
            opened = trio.current_time()
            joined = await join(ada.client)
            assert (await join(bob.client)).arena_id == joined.arena_id
            assert joined.rules.captures
            assert joined.rules.round_ticks == ROUND_TICKS
            # bob holds (5, 5); ada builds (4, 6), (5, 6), (6, 6) below it, then takes it:
            # attack 3 (her three tiles around it) >= defence 0 (no tile of bob's beside it).
            assert isinstance(await place(bob.client, 5, 5), PlaceResult)
            for x in (4, 5, 6):
                await trio.sleep(0.5)  # the cooldown
                answer = await place(ada.client, x, 6)
                assert isinstance(answer, PlaceResult)
                assert answer.outcome == "accepted"
            await trio.sleep(0.5)
            taken = await place(ada.client, 5, 5)
            assert isinstance(taken, PlaceResult)
            assert taken.outcome == "accepted"
            assert taken.captured == "p_b"
            await bob.client.receive_until(lambda c: c.view.tiles.get((5, 5), ("",))[0] == "p_a")
            ticks = [f for f in bob.seen if isinstance(f, ArenaTick) and f.captured]
            assert [t.captured for t in ticks] == [((5, 5, "p_b"),)]
            assert ("p_b", 0) in ticks[0].scores
            assert bob.client.view.scores == {"p_a": 4}

            # The round ends at tick 200: both players hear it, with its result.
            for player in (ada, bob):
                await player.client.receive_until(lambda c: bool(c.view.rounds))
            # On time: tick 200 ends 20 s after the arena opened (Trio time, autojump).
            assert opened + 20 <= trio.current_time() <= opened + 20.5
            [ended] = ada.client.view.rounds
            assert (ended.round, ended.first_tick, ended.tick) == (1, 1, ROUND_TICKS)
            assert ended.replay_id == f"{joined.arena_id}.1"
            assert dict(ended.scores) == {"p_a": 4}
            assert ended.winners == ("p_a",)
            assert attrs.evolve(bob.client.view.rounds[0], seq=ended.seq) == ended
            assert ada.client.view.tiles == {}

            # Same arena, same seats, an empty board: bob starts anywhere again, even on
            # the cell ada held.
            view = await describe(server, "p_a")
            assert view.board.tile_count == 0
            assert set(view.players) == {"p_a", "p_b"}
            again = await place(bob.client, 5, 5)
            assert isinstance(again, PlaceResult)
            assert again.outcome == "accepted"
            assert again.captured is None
            assert again.tick > ROUND_TICKS

            # And the next round ends on time too.
            await ada.client.receive_until(lambda c: len(c.view.rounds) == 2)
            assert opened + 40 <= trio.current_time() <= opened + 40.5
            second = ada.client.view.rounds[1]
            assert (second.round, second.tick) == (2, 2 * ROUND_TICKS)
            assert dict(second.scores) == {"p_b": 1}
            assert not any(isinstance(f, RoundEnded) and f.round > 2 for f in ada.seen)
