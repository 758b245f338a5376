"""An arena's NPCs: seated beside players, marked, playing by the rules, shed newest first.

Driven like ``test_arena``: through the arena's ``Ref`` and recording fake links, on the
autojump clock. NPC minds are injected to break them on purpose.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

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
from tilemud.actors.arena import JoinRefused, NpcPolicy, NpcTurn, PlaceTile
from tilemud.actors.elasticity import NpcAllowance
from tilemud.game import Placement, board_checksum, is_npc
from tilemud.metrics import NpcMeter
from tilemud.protocol import ArenaTick, PlayerJoined, PlayerLeft

NPC_RULES = attrs.evolve(SMALL_RULES, npc_cap=3, player_cap=2, cooldown_ticks=2)


def owners(view_board: object) -> set[str]:
    return {tile.owner for row in view_board.rows() for tile in row if tile is not None}  # type: ignore[attr-defined]


async def test_npcs_sit_beside_players_marked_and_place_tiles(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena(NPC_RULES, npcs=NpcPolicy())
    ann, bob, cid = FakeLink("ann", "Ann"), FakeLink("bob", "Bob"), FakeLink("cid", "Cid")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            await join(arena, ann)
            (snapshot,) = ann.snapshots()
            # Seated when the arena started, before anyone: players marked as NPCs.
            assert snapshot.npcs == ("npc:1", "npc:2", "npc:3")
            assert {p for p, _ in snapshot.players} == {"ann", "npc:1", "npc:2", "npc:3"}
            # NPCs take no human seat: two humans still fit, a third does not.
            await join(arena, bob)
            assert isinstance(await join(arena, cid), JoinRefused)
            await trio.sleep(20 * TICK)
            view = await describe(arena)
            assert view.players == ("ann", "bob")
            assert view.npcs == ("npc:1", "npc:2", "npc:3")
            assert {"npc:1", "npc:2", "npc:3"} <= owners(view.board)
            placed = [t for f in ann.published_of(ArenaTick) for t in f.placed]
            assert {owner for _, _, owner, _ in placed} == {"npc:1", "npc:2", "npc:3"}
            # Cooldown 2: an NPC never places in two ticks in a row.
            for frame in ann.published_of(ArenaTick):
                assert len([p for p in frame.placed if p[2] == "npc:1"]) <= 1
            scores = {p: s for f in ann.published_of(ArenaTick) for p, s in f.scores}
            assert all(scores[n] > 0 for n in ("npc:1", "npc:2", "npc:3"))
            nursery.cancel_scope.cancel()


async def test_equal_seeds_give_equal_npc_games(autojump_clock: trio.testing.MockClock) -> None:
    boards = []
    for _ in range(2):
        arena = make_arena(NPC_RULES, npcs=NpcPolicy(), seed=99)
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                await start_arena(nursery, arena)
                await trio.sleep(30.5 * TICK)
                view = await describe(arena)
                boards.append((view.tick, board_checksum(view.board), dict(view.scores)))
                nursery.cancel_scope.cancel()
    assert boards[0] == boards[1]
    assert boards[0][1] != board_checksum(type(view.board)(16, 16))


async def test_a_crashing_npc_restarts_and_the_arena_ticks_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    turns: list[int] = []

    def broken(turn: NpcTurn) -> Iterable[Placement]:
        turns.append(turn.tick)
        raise RuntimeError("NPC bug")

    arena = make_arena(NPC_RULES, npcs=NpcPolicy(mind=broken))
    ann = FakeLink("ann", "Ann")
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            for i in range(30):  # 3 NPCs crash every tick: 90 crashes in 3 s
                await trio.sleep_until(t0 + (i + 0.5) * TICK)
                await arena.ref.send(
                    PlaceTile(player_id="ann", rid=f"r{i}", x=i % 16, y=i // 16, kind="stone")
                )
            await trio.sleep(1.0)
            view = await describe(arena)
            assert view.tick >= 35
            assert view.npcs == ("npc:1", "npc:2", "npc:3")
            # Every placement of the player was answered: the arena never stopped.
            assert len(ann.results()) == 30
            # Each NPC crashed on many turns: restarted after each crash.
            assert len(set(turns)) >= 30
            nursery.cancel_scope.cancel()


async def test_an_npc_that_floods_gets_no_more_than_its_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def flood(turn: NpcTurn) -> Iterable[Placement]:
        yield Placement(player_id="ann", x=0, y=0, kind="stone")  # not its own: dropped
        for i in itertools.count():  # endless: it must not stall the arena
            yield Placement(
                player_id=turn.npc_id, x=(turn.tick * 7 + i) % 16, y=i % 16, kind="stone"
            )

    rules = attrs.evolve(NPC_RULES, npc_cap=1, cooldown_ticks=0)
    meter = NpcMeter.standalone()
    arena = make_arena(
        rules, npcs=NpcPolicy(mind=flood, actions=3, actions_window=1.0, meter=meter)
    )
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            await trio.sleep(50.5 * TICK)  # 5 windows of 10 ticks
            view = await describe(arena)
            held = sum(1 for row in view.board.rows() for t in row if t is not None)
            assert 0 < held <= 3 * 5 + 3
            assert "ann" not in owners(view.board)
            assert view.tick >= 50  # the arena ticked on
            assert meter.refused._value.get() >= 50  # every turn offered more than 3
            nursery.cancel_scope.cancel()


async def test_shedding_unseats_the_newest_npcs_and_never_a_player(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allowance = NpcAllowance(step_percent=50)
    rules = attrs.evolve(NPC_RULES, npc_cap=4)
    arena = make_arena(rules, npcs=NpcPolicy(allowance=allowance))
    ann = FakeLink("ann", "Ann")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            await join(arena, ann)
            await trio.sleep(2.5 * TICK)
            assert allowance.shed()
            await trio.sleep(TICK)
            left = ann.published_of(PlayerLeft)
            assert [(f.player_id, f.npc) for f in left] == [("npc:4", True), ("npc:3", True)]
            view = await describe(arena)
            assert view.npcs == ("npc:1", "npc:2")
            assert view.players == ("ann",)
            assert allowance.shed()
            await trio.sleep(TICK)
            assert (await describe(arena)).npcs == ()
            assert allowance.restore()
            await trio.sleep(2 * TICK)  # seated at one tick end, announced at the next
            joined = ann.published_of(PlayerJoined)[-1]
            assert joined.npcs == ("npc:5", "npc:6")  # new NPCs, never an old id again
            assert (await describe(arena)).players == ("ann",)
            assert all(not is_npc(p) for p in (await describe(arena)).players)
            nursery.cancel_scope.cancel()
