"""The end of an arena: a battle that ends, a graceful stop, and what was still queued."""

from __future__ import annotations

import logging

import attrs
import pytest
import trio
import trio.testing

from tests.actors.test_arena_fakes import (
    TICK,
    FakeLink,
    join,
    make_arena,
    start_arena,
    stream_frame,
)
from tilemud.actors.arena import (
    ArenaJoined,
    ArenaView,
    DescribeArena,
    JoinArena,
    JoinOutcome,
    JoinRefused,
    LeaveArena,
    PlaceTile,
    Resync,
)
from tilemud.errors import ActorGone
from tilemud.game import BATTLE_RULES
from tilemud.mailbox import Reply
from tilemud.protocol import BattleEnded, ErrorFrame
from tilemud.supervisors import ChildSpec, DynamicSupervisor, Restart, run_root

#: A 2-second battle (20 ticks at 10 Hz) on a small board.
SHORT_BATTLE = attrs.evolve(BATTLE_RULES, battle_ticks=20, require_adjacency=False)


def place(player_id: str, rid: str, x: int, y: int) -> PlaceTile:
    return PlaceTile(player_id=player_id, rid=rid, x=x, y=y, kind="stone")


async def test_a_battle_ends_by_time_and_its_supervisor_forgets_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    closed: list[str] = []
    arena = make_arena(SHORT_BATTLE, arena_id="b_1", on_closed=closed.append)
    ann, bob = FakeLink("ann"), FakeLink("bob")
    arenas = DynamicSupervisor("arenas")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_root, arenas)
            await arenas.start_child(ChildSpec(id="b_1", run=arena.run, restart=Restart.TRANSIENT))
            t0 = trio.current_time()
            await join(arena, ann)
            await join(arena, bob)
            await arena.ref.send(place("ann", "a1", 1, 1))
            await trio.sleep_until(t0 + 19.5 * TICK)
            assert closed == []
            await trio.sleep_until(t0 + 20 * TICK)
            await trio.testing.wait_all_tasks_blocked()
            assert closed == ["b_1"]
            assert arenas.child_ids() == []  # a transient child that returned is gone
            arenas.stop()
    for link in (ann, bob):
        (end,) = link.published_of(BattleEnded)
        assert (end.arena_id, end.tick, end.reason) == ("b_1", 20, "time")
        assert end.scores == (("ann", 1),)
        assert end.winners == ("ann",)
        assert link.events[-1] == ("closed", "b_1")
    with pytest.raises(ActorGone):
        await arena.ref.send(Resync(player_id="ann"))


async def test_a_battle_ends_when_the_board_fills(autojump_clock: trio.testing.MockClock) -> None:
    rules = attrs.evolve(SHORT_BATTLE, width=2, height=1, cooldown_ticks=0)
    arena = make_arena(rules)
    ann = FakeLink("ann")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await arena.ref.send(place("ann", "a1", 0, 0))
            await arena.ref.send(place("ann", "a2", 1, 0))
        assert trio.current_time() == pytest.approx(t0 + TICK)
    (end,) = ann.published_of(BattleEnded)
    assert (end.tick, end.reason, end.winners) == (1, "board_full", ("ann",))


async def test_what_is_queued_at_the_end_is_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena(SHORT_BATTLE)
    answer: Reply[JoinOutcome] = Reply()
    view: Reply[ArenaView] = Reply()

    def queue_more(body: str) -> None:
        # Runs inside the arena's task, like a session's resync request: the messages
        # land in the mailbox between the last tick and the close.
        if isinstance(stream_frame(body), BattleEnded):
            assert arena.ref.try_send(place("ann", "late", 3, 3))
            assert arena.ref.try_send(JoinArena(link=FakeLink("zed"), reply=answer))
            assert arena.ref.try_send(LeaveArena(player_id="ann", reason="left"))
            assert arena.ref.try_send(DescribeArena(reply=view))

    ann = FakeLink("ann", on_publish=queue_more)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            await join(arena, ann)
    assert answer.value == JoinRefused(code="arena_closed")
    assert view.value.tick == 20
    (late,) = ann.results()
    assert (late.rid, late.outcome, late.reason, late.tick) == (
        "late",
        "rejected",
        "battle_over",
        20,
    )


async def test_a_graceful_stop_finishes_the_tick_and_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    closed: list[str] = []
    arena = make_arena(on_closed=closed.append)
    answer: Reply[JoinOutcome] = Reply()
    stopping = trio.Event()

    def queue_more(body: str) -> None:
        assert arena.ref.try_send(place("ann", "late", 3, 3))
        assert arena.ref.try_send(JoinArena(link=FakeLink("zed"), reply=answer))

    ann = FakeLink("ann")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena, stopping)
            await join(arena, ann)
            await trio.sleep_until(t0 + 2.5 * TICK)
            await arena.ref.send(place("ann", "r1", 1, 1))
            ann.on_publish = queue_more  # the tick frame of tick 3 queues more
            stopping.set()
        assert trio.current_time() == pytest.approx(t0 + 3 * TICK)
    (result, late) = ann.replies()
    assert (result.TYPE, getattr(result, "outcome", None)) == ("place_result", "accepted")
    assert isinstance(late, ErrorFrame)
    assert (late.code, late.rid, late.retry_after) == ("arena_unavailable", "late", 1.0)
    assert answer.value == JoinRefused(code="arena_closed")
    assert ann.events[-1] == ("closed", "a_test")
    assert ann.published_of(BattleEnded) == []
    assert closed == ["a_test"]
    with pytest.raises(ActorGone):
        await arena.ref.send(Resync(player_id="ann"))


class Glitch(Exception):
    """A bug in a player link."""


async def test_a_crash_while_closing_is_finished_by_the_restart(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="tilemud.supervisor")
    closed: list[str] = []
    arena = make_arena(SHORT_BATTLE, on_closed=closed.append)
    arenas = DynamicSupervisor("arenas")

    @attrs.define(eq=False)
    class BrittleLink(FakeLink):
        glitches: int = 1

        def arena_closed(self, arena_id: str) -> None:
            if self.glitches:
                self.glitches -= 1
                raise Glitch("link bug")
            super().arena_closed(arena_id)

    ann = BrittleLink("ann")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_root, arenas)
            await arenas.start_child(
                ChildSpec(id=arena.arena_id, run=arena.run, restart=Restart.TRANSIENT)
            )
            assert isinstance(await join(arena, ann), ArenaJoined)
            await trio.sleep(2.5)
            assert arenas.child_ids() == []
            arenas.stop()
    assert closed == ["a_test"]
    assert len(ann.published_of(BattleEnded)) == 1
    assert ann.events[-1] == ("closed", "a_test")
