"""The arena's table and its rounds: the end of a round, on time or after an overrun."""

from __future__ import annotations

import attrs

from tests.actors.test_arena_fakes import SMALL_RULES, FakeLink
from tilemud.actors.arena._core import ArenaCore
from tilemud.game import Tile
from tilemud.metrics import ArenaMeter
from tilemud.protocol import ArenaTick, RoundEnded

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
    core.join(ann)
    core.join(bob)
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
