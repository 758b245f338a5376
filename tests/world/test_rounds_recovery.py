"""A node that stops and starts again brings an epic arena back in its latest round.

Through the real gateway (in-memory streams) and the embedded SQLite database, on the real
clock (the storage actor works in threads). Rounds of 2 s (``arena_round_ticks = 20``).
"""

from __future__ import annotations

from pathlib import Path

import attrs
import trio

from tests.integration.harness import make_settings, running_server
from tests.storage.actor_support import read
from tests.world.memory import memory_player
from tests.world.play import describe, join, place
from tilemud.config import WorldSettings
from tilemud.game import board_checksum, round_of
from tilemud.protocol import PlaceResult
from tilemud.storage import list_rounds

ROUND_TICKS = 20


async def test_a_restarted_node_brings_the_arena_back_in_its_round(tmp_path: Path) -> None:
    settings = attrs.evolve(
        make_settings(tmp_path), world=WorldSettings(arena_round_ticks=ROUND_TICKS)
    )
    url = f"sqlite:///{tmp_path / 'tilemud.sqlite3'}"
    with trio.fail_after(60):
        async with running_server(settings) as server, memory_player(server, "p_a") as ada:
            arena_id = (await join(ada.client)).arena_id
            # Play on after round 1 ended, then stop mid-round with tiles on the board.
            await ada.client.receive_until(lambda c: bool(c.view.rounds))
            answer = await place(ada.client, 7, 7)
            assert isinstance(answer, PlaceResult)
            assert answer.outcome == "accepted"
            before = await describe(server, "p_a")
        playing = round_of(before.tick, before.rules)
        assert playing >= 2
        stored = await read(url, lambda c: list_rounds(c, arena_id, limit=10))
        assert [r.round for r in stored] == list(range(playing, 0, -1))
        assert [r.state for r in stored] == ["live"] + ["ended"] * (playing - 1)

        async with running_server(settings) as again, memory_player(again, "p_a") as ada:
            assert (await join(ada.client)).arena_id == arena_id
            after = await describe(again, "p_a")
            # Same round, same board (round_of of the restored tick), play goes on.
            if round_of(after.tick, after.rules) == playing:
                assert board_checksum(after.board) == board_checksum(before.board)
            # The round in play ends on time, with the right number, and the next begins.
            await ada.client.receive_until(lambda c: bool(c.view.rounds))
            ended = ada.client.view.rounds[0]
            assert ended.round == playing
            assert ended.replay_id == f"{arena_id}.{playing}"
            if ended.tick == playing * ROUND_TICKS and round_of(after.tick, after.rules) == playing:
                assert dict(ended.scores) == {"p_a": 1}
            answer = await place(ada.client, 3, 3)
            assert isinstance(answer, PlaceResult)
            assert answer.outcome == "accepted"
        stored = await read(url, lambda c: list_rounds(c, arena_id, limit=10))
        assert stored[0].round == playing + 1
        assert [r.round for r in stored] == list(range(playing + 1, 0, -1))
        assert stored[1].result is not None
        assert stored[1].result["round"] == playing
