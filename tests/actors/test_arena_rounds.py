"""The arena and its rounds: the end of a round, on time or after an overrun; a crash in
round 2 restarts from round 2's log."""

from __future__ import annotations

from pathlib import Path

import attrs
import trio

from tests.actors.test_arena_fakes import SMALL_RULES, FakeLink, describe, join, stream_frame
from tests.actors.test_arena_storage import (
    ARENA_ID,
    Glitch,
    sqlite_url,
    stored_arena,
    supervised,
)
from tests.storage.actor_support import actor_for, read, running, wait_until
from tilemud.actors.arena import PlaceTile
from tilemud.actors.arena._core import ArenaCore
from tilemud.game import Tile
from tilemud.metrics import ArenaMeter
from tilemud.protocol import ArenaTick, RoundEnded
from tilemud.storage import load_placements

RULES = attrs.evolve(SMALL_RULES, round_ticks=10, captures=True)


def _core() -> tuple[ArenaCore, FakeLink, FakeLink]:
    core = ArenaCore(
        arena_id="a_r",
        mode="arena",
        region="eu",
        rules=RULES,
        seed=5,
        meter=ArenaMeter.standalone("arena"),
    )
    ann, bob = FakeLink("ann"), FakeLink("bob")
    core.take_seat(ann)
    core.take_seat(bob)
    core.welcome_joiners()
    return core, ann, bob


def test_a_round_ends_at_the_end_of_its_last_tick() -> None:
    core, ann, bob = _core()
    core.place(player_id="ann", rid="r1", x=1, y=1, kind="stone")
    core.end_tick(1)
    for tick in range(2, 10):
        core.end_tick(tick)
    assert not ann.published_of(RoundEnded)
    core.end_tick(10)
    [ended] = ann.published_of(RoundEnded)
    assert (ended.round, ended.first_tick, ended.tick, ended.next_round_tick) == (1, 1, 10, 11)
    assert ended.replay_id == "a_r.1"
    assert dict(ended.scores) == {"ann": 1}
    assert ended.winners == ("ann",)
    assert bob.published_of(RoundEnded)[0].round == 1
    # The board is clear, the seats and the tick number stay, the next round has begun.
    assert core.state.board.tile_count == 0
    assert core.state.tick == 10
    assert (core.round, core.replay_id) == (2, "a_r.2")
    assert core.view().players == ("ann", "bob")
    core.place(player_id="bob", rid="r2", x=1, y=1, kind="wood")
    core.end_tick(11)
    assert core.state.board.get(1, 1) == Tile(owner="bob", kind="wood")


def test_an_overrun_past_the_last_tick_ends_the_round_before_the_next_tick() -> None:
    core, ann, _ = _core()
    core.place(player_id="ann", rid="r1", x=1, y=1, kind="stone")
    core.end_tick(9)
    # Ticks 10 and 11 were skipped: the round ends before tick 12 is resolved in round 2.
    core.place(player_id="ann", rid="r2", x=5, y=5, kind="stone")
    core.end_tick(12)
    frames = [f for f in ann.published() if isinstance(f, RoundEnded | ArenaTick)]
    assert [type(f).__name__ for f in frames] == ["ArenaTick", "RoundEnded", "ArenaTick"]
    ended = frames[1]
    assert isinstance(ended, RoundEnded)
    assert (ended.round, ended.tick) == (1, 9)
    assert dict(ended.scores) == {"ann": 1}
    # (5, 5) is not next to (1, 1), but round 2 began on an empty board: anywhere goes.
    assert ann.results()[-1].outcome == "accepted"
    assert core.state.board.tiles_held("ann") == 1
    assert core.round == 2


async def test_a_crash_in_round_two_restarts_from_round_two_s_log(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    rules = attrs.evolve(SMALL_RULES, round_ticks=10, captures=True)
    glitches: list[bool] = []

    def glitch_when_asked(body: str) -> None:
        if glitches and isinstance(stream_frame(body), ArenaTick):
            glitches.pop()
            raise Glitch("link bug")

    with trio.fail_after(30):
        async with running(actor_for(url)) as storage:
            await storage.arenas.create_arena(
                arena_id=ARENA_ID, mode="arena", region="eu", rules=rules, seed=7
            )
            arena = stored_arena(storage, rules=rules)
            ann = FakeLink("ann", on_publish=glitch_when_asked)
            async with supervised(arena):
                await join(arena, ann)
                await arena.ref.send(PlaceTile(player_id="ann", rid="r1", x=1, y=1, kind="stone"))
                await wait_until(lambda: len(ann.rids) == 1)
                await wait_until(lambda: bool(ann.published_of(RoundEnded)))
                await arena.ref.send(PlaceTile(player_id="ann", rid="r2", x=4, y=4, kind="stone"))
                await wait_until(lambda: len(ann.rids) == 2)
                glitches.append(True)  # the next tick frame crashes the arena
                await arena.ref.send(PlaceTile(player_id="ann", rid="r3", x=4, y=5, kind="stone"))
                await wait_until(lambda: len(ann.rids) == 3 and len(ann.snapshots()) >= 2)
                view = await describe(arena)
            # Round 2's board came back (round 1's tile is gone for good), and so did
            # the tile resolved in the tick that crashed.
            assert view.board.get(1, 1) is None
            assert view.board.get(4, 4) is not None
            assert view.board.get(4, 5) is not None
            assert all(r.outcome == "accepted" for r in ann.results())
            round_two = await read(url, lambda c: load_placements(c, f"{ARENA_ID}.2"))
            assert {(p.x, p.y) for p in round_two} == {(4, 4), (4, 5)}
            round_one = await read(url, lambda c: load_placements(c, f"{ARENA_ID}.1"))
            assert {(p.x, p.y) for p in round_one} == {(1, 1)}
