"""Arena actor: seats, placements resolved per tick, fan-out, resync and the end of a battle.

See ``test_arena_fakes`` for the testing policy: the arena is driven only through its
``Ref``, players are recording fake links, and time is Trio's autojump clock.
"""

from __future__ import annotations

import time

import attrs
import pytest
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
    stream_frame,
)
from tilemud.actors.arena import (
    ArenaJoined,
    JoinRefused,
    LeaveArena,
    PlaceTile,
    Resync,
)
from tilemud.game import Board, conflict_rank
from tilemud.mailbox import Overflow
from tilemud.protocol import (
    ArenaTick,
    ErrorFrame,
    PlayerJoined,
    PlayerLeft,
)


def place(player_id: str, rid: str, x: int, y: int, kind: str = "stone") -> PlaceTile:
    return PlaceTile(player_id=player_id, rid=rid, x=x, y=y, kind=kind)


async def test_join_resets_the_stream_then_everybody_hears_of_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann", "Ann"), FakeLink("bob", "Bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            joined = await join(arena, ann)
            assert joined == ArenaJoined(arena_id="a_test", rules=SMALL_RULES, tick=0)
            assert [kind for kind, _ in ann.events] == ["reset"]
            (snapshot,) = ann.snapshots()
            assert (snapshot.arena_id, snapshot.tick) == ("a_test", 0)
            assert snapshot.players == (("ann", "Ann"),)
            assert snapshot.scores == ()  # nobody holds a tile: every score is 0
            assert snapshot.board.to_board() == Board(16, 16)

            await join(arena, bob)  # in the same tick
            assert bob.snapshots()[0].players == (("ann", "Ann"), ("bob", "Bob"))
            assert ann.published_of(PlayerJoined) == []  # announced at the tick's end
            await trio.sleep(1.5 * TICK)  # past the tick boundary, never on it
            for link in (ann, bob):
                (hello,) = link.published_of(PlayerJoined)
                assert hello.arena_id == "a_test"
                assert hello.players == (("ann", "Ann"), ("bob", "Bob"))
            nursery.cancel_scope.cancel()


async def test_a_join_and_leave_within_one_tick_is_announced_to_nobody(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann", "Ann"), FakeLink("bob", "Bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            await join(arena, ann)
            await trio.sleep(1.5 * TICK)  # past the tick boundary, never on it
            await join(arena, bob)
            await arena.ref.send(LeaveArena(player_id="bob", reason="left"))
            await trio.sleep(2.5 * TICK)
            assert [h.players for h in ann.published_of(PlayerJoined)] == [(("ann", "Ann"),)]
            assert ann.published_of(PlayerLeft) == []
            nursery.cancel_scope.cancel()


async def test_rejoin_takes_the_new_link_and_a_snapshot_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, ann_again, bob = FakeLink("ann", "Ann"), FakeLink("ann", "Ann"), FakeLink("bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await join(arena, bob)
            bob.clear()
            assert isinstance(await join(arena, ann_again), ArenaJoined)
            assert [kind for kind, _ in ann_again.events] == ["reset"]
            assert bob.events == []  # nobody else is told
            assert (await describe(arena)).players == ("ann", "bob")

            await arena.ref.send(place("ann", "r1", 1, 1))
            await trio.sleep_until(t0 + 1.5 * TICK)
            assert ann_again.rids == ["r1"]
            assert ann.rids == []
            nursery.cancel_scope.cancel()


async def test_the_cap_is_never_exceeded(autojump_clock: trio.testing.MockClock) -> None:
    rules = attrs.evolve(SMALL_RULES, player_cap=2)
    arena = make_arena(rules)
    links = [FakeLink(f"p{i}") for i in range(3)]
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            assert isinstance(await join(arena, links[0]), ArenaJoined)
            assert isinstance(await join(arena, links[1]), ArenaJoined)
            assert await join(arena, links[2]) == JoinRefused(code="arena_full")
            assert links[2].events == []
            view = await describe(arena)
            assert view.players == ("p0", "p1")
            await trio.sleep(1.5 * TICK)  # past the tick boundary, never on it
            announced = [p for b in links[0].published_of(PlayerJoined) for p, _ in b.players]
            assert announced == ["p0", "p1"]
            # A seat freed is a seat taken.
            await arena.ref.send(LeaveArena(player_id="p0", reason="left"))
            assert isinstance(await join(arena, links[2]), ArenaJoined)
            nursery.cancel_scope.cancel()


async def test_leave_tells_the_others_and_the_tiles_stay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann"), FakeLink("bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await join(arena, bob)
            await arena.ref.send(place("ann", "r1", 2, 2))
            await trio.sleep_until(t0 + 1.5 * TICK)
            ann.clear()
            await arena.ref.send(LeaveArena(player_id="ann", reason="timeout"))
            view = await describe(arena)
            left = bob.published_of(PlayerLeft)
            assert [(b.player_id, b.reason) for b in left] == [("ann", "timeout")]
            assert ann.events == []  # the leaver is not told
            assert view.players == ("bob",)
            tile = view.board.get(2, 2)
            assert tile is not None
            assert tile.owner == "ann"
            assert view.scores == {"ann": 1, "bob": 0}
            # Leaving twice, or someone who never sat, changes nothing.
            await arena.ref.send(LeaveArena(player_id="ann", reason="left"))
            await arena.ref.send(LeaveArena(player_id="zed", reason="left"))
            assert (await describe(arena)).players == ("bob",)
            assert len(bob.published_of(PlayerLeft)) == 1
            nursery.cancel_scope.cancel()


async def test_one_cell_two_players_one_winner_after_the_tick(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena(seed=1234)
    ann, bob = FakeLink("ann"), FakeLink("bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await join(arena, bob)
            await trio.sleep_until(t0 + 2.2 * TICK)  # inside tick 3
            await arena.ref.send(place("ann", "a1", 5, 5, "wood"))
            await arena.ref.send(place("bob", "b1", 5, 5))
            await trio.sleep_until(t0 + 2.99 * TICK)
            assert ann.of("reply") == bob.of("reply") == []  # nothing before the tick ends
            await trio.sleep_until(t0 + 3 * TICK)
            await trio.testing.wait_all_tasks_blocked()
            expected = min(
                ("ann", "bob"),
                key=lambda p: (conflict_rank(seed=1234, tick=3, x=5, y=5, player_id=p), p),
            )
            results = {link.player_id: link.results() for link in (ann, bob)}
            assert [len(r) for r in results.values()] == [1, 1]
            (won,) = results[expected]
            (lost,) = results["bob" if expected == "ann" else "ann"]
            assert (won.outcome, won.tick, won.x, won.y, won.arena_id) == (
                "accepted",
                3,
                5,
                5,
                "a_test",
            )
            assert (lost.outcome, lost.winner, lost.tick) == ("lost_conflict", expected, 3)
            assert ann.rids == ["a1"]
            assert bob.rids == ["b1"]
            nursery.cancel_scope.cancel()


async def test_every_placement_gets_exactly_one_result(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann"), FakeLink("bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await join(arena, bob)
            sent = [
                place("ann", "a1", 1, 1),
                place("ann", "a2", 2, 1),  # cooldown: one of ann's goes forward
                place("ann", "a3", 99, 1),  # out of bounds
                place("bob", "b1", 3, 3, "gold"),  # unknown kind
                place("bob", "b2", 3, 3),
                place("bob", "b2", 3, 3),  # the same rid twice: two placements, two results
            ]
            for message in sent:
                await arena.ref.send(message)
            await trio.sleep_until(t0 + 1.5 * TICK)
            assert sorted(ann.rids) == ["a1", "a2", "a3"]
            assert sorted(bob.rids) == ["b1", "b2", "b2"]
            outcomes = sorted(
                (r.rid, r.outcome, r.reason or "") for r in ann.results() + bob.results()
            )
            assert ("a3", "rejected", "out_of_bounds") in outcomes
            assert ("b1", "rejected", "unknown_kind") in outcomes
            assert sum(o == "accepted" for _, o, _ in outcomes) == 2  # one of ann's, one b2
            nursery.cancel_scope.cancel()


async def test_a_placement_from_someone_who_left_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann = FakeLink("ann")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            await join(arena, ann)
            await arena.ref.send(LeaveArena(player_id="ann", reason="left"))
            ann.clear()
            await arena.ref.send(place("ann", "late", 1, 1))
            await describe(arena)
            (error,) = ann.replies()
            assert isinstance(error, ErrorFrame)
            assert (error.code, error.rid) == ("not_in_arena", "late")
            # A stranger cannot be reached at all: dropped, the arena carries on.
            await arena.ref.send(place("zed", "z1", 1, 1))
            assert (await describe(arena)).players == ()
            nursery.cancel_scope.cancel()


async def test_a_tick_is_encoded_once_and_an_empty_tick_sends_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    links = [FakeLink(f"p{i}") for i in range(3)]
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            for link in links:
                await join(arena, link)
                link.clear()
            for link in links:
                link.events.clear()
            await arena.ref.send(place("p0", "r", 4, 4))
            await arena.ref.send(place("p1", "r", 6, 6, "crystal"))
            await trio.sleep_until(t0 + 5.5 * TICK)  # tick 1 placed, ticks 2..5 empty
            # Tick 1's end announces the three joins, then its placements: two frames,
            # each one object shared by every player.
            bodies = [link.of("publish") for link in links]
            assert [len(b) for b in bodies] == [2, 2, 2]
            for index in range(2):
                assert bodies[0][index] is bodies[1][index] is bodies[2][index]
            announced = stream_frame(bodies[0][0])
            assert isinstance(announced, PlayerJoined)
            assert [p for p, _ in announced.players] == ["p0", "p1", "p2"]
            bodies = [[body for body in b if body is not bodies[0][0]] for b in bodies]
            tick = stream_frame(bodies[0][0])
            assert isinstance(tick, ArenaTick)
            assert (tick.arena_id, tick.tick) == ("a_test", 1)
            assert tick.placed == ((4, 4, "p0", "stone"), (6, 6, "p1", "crystal"))
            assert tick.scores == (("p0", 1), ("p1", 1))
            assert tick.sent_at == pytest.approx(time.time(), abs=60)
            # Only the changed scores travel.
            await arena.ref.send(place("p2", "r", 9, 9))
            await trio.sleep_until(t0 + 6.5 * TICK)
            assert links[0].published_of(ArenaTick)[-1].scores == (("p2", 1),)
            nursery.cancel_scope.cancel()


async def test_a_ticks_joins_and_placements_ring_each_player_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # One write per player per tick: ``player_joined`` is published without ringing, the
    # ``tick`` frame right after it rings; without a tick frame the joins ring themselves.
    arena = make_arena()
    links = [FakeLink(f"p{i}") for i in range(3)]
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            for link in links[:2]:
                await join(arena, link)
            await arena.ref.send(place("p0", "r1", 4, 4))
            await trio.sleep_until(t0 + 1.5 * TICK)
            for link in links[:2]:
                kinds = [kind for kind, _ in link.events if kind != "reply"]
                assert kinds == ["reset", "publish", "publish", "ring"]
                joined, tick = link.published()
                assert isinstance(joined, PlayerJoined)
                assert isinstance(tick, ArenaTick)
                link.events.clear()
            await join(arena, links[2])  # a tick with a join and no placement
            await trio.sleep_until(t0 + 2.5 * TICK)
            for link in links:
                kinds = [kind for kind, _ in link.events if kind != "reset"]
                assert kinds == ["publish", "ring"]
                assert [type(f) for f in link.published()] == [PlayerJoined]
            nursery.cancel_scope.cancel()


async def test_resync_sends_a_snapshot_of_the_live_board(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann", "Ann"), FakeLink("bob", "Bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await join(arena, bob)
            for k, (x, y) in enumerate([(1, 1), (2, 1), (3, 1)]):
                await trio.sleep_until(t0 + (k + 0.5) * TICK)
                await arena.ref.send(place("ann", f"a{k}", x, y))
                await arena.ref.send(place("bob", f"b{k}", x, y + 5, "crystal"))
            await trio.sleep_until(t0 + 3.5 * TICK)
            ann.clear()
            await arena.ref.send(Resync(player_id="ann"))
            await arena.ref.send(Resync(player_id="nobody"))
            view = await describe(arena)
            assert [kind for kind, _ in ann.events] == ["reset"]
            (snapshot,) = ann.snapshots()
            assert snapshot.board.to_board() == view.board
            assert view.board.tile_count == 6
            assert snapshot.tick == view.tick == 3
            assert snapshot.scores == (("ann", 3), ("bob", 3))
            assert dict(view.scores) == {"ann": 3, "bob": 3}
            assert snapshot.players == (("ann", "Ann"), ("bob", "Bob"))
            nursery.cancel_scope.cancel()


async def test_describe_gives_the_arena_and_its_tick_figures(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena(seed=99)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await trio.sleep_until(t0 + 10.5 * TICK)
            view = await describe(arena)
            assert (view.arena_id, view.mode, view.region, view.seed) == (
                "a_test",
                "arena",
                "eu",
                99,
            )
            assert view.rules == SMALL_RULES
            assert view.tick == 10
            assert view.tick_stats.count == 10
            assert view.tick_stats.skipped == 0
            assert 0 < view.tick_stats.p50_us <= view.tick_stats.p99_us <= view.tick_stats.max_us
            nursery.cancel_scope.cancel()


def test_mode_and_seed_are_checked() -> None:
    with pytest.raises(ValueError, match="mode"):
        make_arena(SMALL_RULES).__class__(
            arena_id="x", mode="battle", region="eu", rules=SMALL_RULES, seed=1
        )
    with pytest.raises(ValueError, match="seed"):
        make_arena(seed=-1)
    with pytest.raises(ValueError, match="seed"):
        make_arena(seed=1 << 64)


async def test_a_cell_no_frame_can_name_is_refused_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann = FakeLink("ann")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            await join(arena, ann)
            await arena.ref.send(place("ann", "neg", -1, 0))
            await describe(arena)  # answered before the tick ends
            (error,) = ann.replies()
            assert isinstance(error, ErrorFrame)
            assert (error.code, error.rid) == ("invalid_message", "neg")
            nursery.cancel_scope.cancel()


def test_player_input_is_backpressured() -> None:
    assert make_arena().ref.overflow is Overflow.BLOCK
