"""Arena spectators (``WatchArena``): a snapshot, then every frame the players get, no
seat, never announced; gone on ``UnwatchArena``; told when the arena ends.

Testing policy as in ``test_arena_fakes``: the arena is driven only through its ``Ref``,
players and spectators are recording fake links, time is the autojump clock.
"""

from __future__ import annotations

import attrs
import trio
import trio.testing

from tests.actors.test_arena_fakes import (
    SMALL_RULES,
    TICK,
    FakeLink,
    describe,
    join,
    make_arena,
    start_arena,
)
from tilemud.actors.arena import Arena, JoinRefused, PlaceTile, UnwatchArena, WatchArena
from tilemud.game import BATTLE_RULES
from tilemud.protocol import ArenaTick, BattleEnded, PlayerJoined

SHORT_BATTLE = attrs.evolve(BATTLE_RULES, battle_ticks=20, require_adjacency=False)


async def watch(arena: Arena, link: FakeLink) -> bool:
    with trio.fail_after(1):
        watching: bool = await arena.ref.ask(lambda reply: WatchArena(link=link, reply=reply))
    return watching


async def test_a_spectator_sees_what_players_see_and_holds_no_seat(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, eye = FakeLink("ann", "Ann"), FakeLink("console:1", "console")
    cap = SMALL_RULES.player_cap
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            assert await watch(arena, eye)
            (snapshot,) = eye.snapshots()
            assert snapshot.players == (("ann", "Ann"),)  # the spectator is nobody
            # The arena fills up to its cap with the spectator watching.
            others = [FakeLink(f"p{n}") for n in range(cap - 1)]
            for other in others:
                assert not isinstance(await join(arena, other), JoinRefused)
            await arena.ref.send(PlaceTile(player_id="ann", rid="r1", x=2, y=3, kind="stone"))
            await trio.sleep_until(t0 + 1.5 * TICK)
            (tick,) = eye.published_of(ArenaTick)
            assert tick.placed[0][:3] == (2, 3, "ann")
            assert eye.of("publish") == ann.of("publish")  # the very same text
            joined = [p for frame in eye.published_of(PlayerJoined) for p, _ in frame.players]
            assert "console:1" not in joined
            assert eye.rids == []  # a spectator is never answered
            assert len((await describe(arena)).players) == cap

            await arena.ref.send(UnwatchArena(watcher_id="console:1"))
            await arena.ref.send(UnwatchArena(watcher_id="nobody"))
            eye.clear()
            await arena.ref.send(PlaceTile(player_id="p0", rid="r2", x=9, y=9, kind="stone"))
            await trio.sleep_until(t0 + 2.5 * TICK)
            assert ann.published_of(ArenaTick)[-1].tick > tick.tick
            assert eye.events == []
            nursery.cancel_scope.cancel()


async def test_a_spectator_is_told_when_the_battle_ends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena(SHORT_BATTLE, arena_id="b_1")
    ann, eye = FakeLink("ann"), FakeLink("console:2")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            assert await watch(arena, eye)
            await trio.sleep_until(t0 + 20.5 * TICK)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    (end,) = eye.published_of(BattleEnded)
    assert end.arena_id == "b_1"
    assert eye.events[-1] == ("closed", "b_1")
