"""Arena tick loop: exact rate, overrun policy, stop, restart, and a 300-player measurement."""

from __future__ import annotations

import logging

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
from tilemud.actors.arena import Arena, ArenaJoined, PlaceTile
from tilemud.actors.arena._clock import TickSchedule, TickTimes
from tilemud.game import ARENA_RULES
from tilemud.protocol import ArenaTick
from tilemud.supervisors import ChildSpec, DynamicSupervisor, Restart, run_root


def test_tick_ends_are_computed_not_accumulated() -> None:
    schedule = TickSchedule(start=1000.0, rate_hz=10, base=0)
    assert schedule.end_of(1) == 1000.1
    assert schedule.end_of(36_000) == 4600.0
    restarted = TickSchedule(start=50.0, rate_hz=20, base=400)
    assert restarted.end_of(401) == 50.05
    assert restarted.end_of(420) == 51.0


def test_an_overrun_skips_to_the_next_boundary_ahead() -> None:
    schedule = TickSchedule(start=0.0, rate_hz=10, base=0)
    assert schedule.next_after(5, now=0.5) == 6  # on time
    assert schedule.next_after(5, now=0.55) == 6  # late, but tick 6 still ahead
    assert schedule.next_after(5, now=0.6) == 7  # tick 6's end is now: skipped
    assert schedule.next_after(5, now=0.93) == 10
    for now in (0.7, 1.0, 12.3, 3599.9):
        following = schedule.next_after(5, now)
        assert schedule.end_of(following) > now >= schedule.end_of(following - 1)


def test_tick_times_are_recorded_in_microseconds() -> None:
    times = TickTimes()
    assert times.stats().count == 0
    for seconds in (0.000_1, 0.000_2, 0.003):
        times.record(seconds)
    times.record(0.0)  # clamped to the histogram's 1 µs floor
    stats = times.stats()
    assert stats.count == 4
    assert stats.p50_us == pytest.approx(100, rel=0.01)
    assert stats.max_us == pytest.approx(3000, rel=0.01)


async def test_an_hour_at_10_hz_is_36000_ticks(autojump_clock: trio.testing.MockClock) -> None:
    arena = make_arena()
    with trio.fail_after(4000):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await trio.sleep_until(t0 + 3600.0 + TICK / 2)
            view = await describe(arena)
            assert view.tick == 36_000
            assert view.tick_stats.count == 36_000
            assert view.tick_stats.skipped == 0
            nursery.cancel_scope.cancel()


async def test_tick_numbers_are_consecutive_when_every_tick_places(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rules = attrs.evolve(SMALL_RULES, width=64, height=64)
    arena = make_arena(rules)
    ann = FakeLink("ann")
    ticks = 600  # a simulated minute
    with trio.fail_after(ticks * TICK + 5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            for k in range(ticks):
                await trio.sleep_until(t0 + (k + 0.5) * TICK)
                await arena.ref.send(
                    PlaceTile(player_id="ann", rid=f"r{k}", x=k % 64, y=k // 64, kind="stone")
                )
            await trio.sleep_until(t0 + (ticks + 0.5) * TICK)
            seen = [frame.tick for frame in ann.published_of(ArenaTick)]
            assert seen == list(range(1, ticks + 1))
            assert [r.outcome for r in ann.results()] == ["accepted"] * ticks
            nursery.cancel_scope.cancel()


async def test_an_overrun_skips_ticks_instead_of_catching_up(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    arena = make_arena(attrs.evolve(SMALL_RULES, cooldown_ticks=0))

    def slow(body: str) -> None:
        # Simulates a tick whose processing takes 0.25 s: the fan-out of tick 3 ends
        # after the ends of ticks 4 and 5.
        frame = stream_frame(body)
        if isinstance(frame, ArenaTick) and frame.tick == 3:
            autojump_clock.jump(0.25)

    ann = FakeLink("ann", on_publish=slow)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            for k in range(8):
                await trio.sleep_until(t0 + (k + 0.5) * TICK)
                if k != 3:  # placed in the tick after the slow one: lands in tick 6
                    await arena.ref.send(
                        PlaceTile(player_id="ann", rid=f"r{k}", x=k, y=0, kind="stone")
                    )
            await trio.sleep_until(t0 + 8.5 * TICK)
            view = await describe(arena)
            nursery.cancel_scope.cancel()
    assert [frame.tick for frame in ann.published_of(ArenaTick)] == [1, 2, 3, 6, 7, 8]
    assert view.tick == 8
    assert view.tick_stats.skipped == 2
    assert view.tick_stats.count == 6
    assert any("overran" in record.message for record in caplog.records)


class Glitch(Exception):
    """A bug in a player link, to crash the arena."""


async def test_a_crashed_arena_restarts_with_its_board_seats_and_ref(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="tilemud.supervisor")
    arena = make_arena()
    glitches = [True]

    def glitch_once(body: str) -> None:
        if isinstance(stream_frame(body), ArenaTick) and glitches:
            glitches.pop()
            raise Glitch("link bug")

    ann = FakeLink("ann", "Ann", on_publish=glitch_once)
    arenas = DynamicSupervisor("arenas")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_root, arenas)
            ref = await arenas.start_child(
                ChildSpec(id=arena.arena_id, run=arena.run, restart=Restart.TRANSIENT)
            )
            assert ref is arena.ref
            assert isinstance(await join(arena, ann), ArenaJoined)
            await arena.ref.send(PlaceTile(player_id="ann", rid="r1", x=3, y=3, kind="stone"))
            await trio.sleep(1.0)
            view = await describe(arena)
            assert view.players == ("ann",)
            assert view.board.get(3, 3) is not None
            assert view.tick > 1  # the new incarnation goes on ticking from where it was
            # The state was committed before the crash: the placement was answered once,
            # and the restart reset the stream with a snapshot of the live board.
            assert ann.rids == ["r1"]
            snapshot = ann.snapshots()[-1]
            assert snapshot.board.to_board() == view.board
            assert snapshot.tick == 1
            arenas.stop()


async def test_300_players_placing_at_their_cooldown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Measures, does not assert, the processing time of busy ticks (printed with -s)."""
    seconds = 3
    arena = make_arena(ARENA_RULES)
    links = [FakeLink(f"p{i:03d}", f"Player {i}") for i in range(300)]
    with trio.fail_after(seconds + 5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            for link in links:
                await join(arena, link)
            nursery.start_soon(place_every_cooldown, arena, links, t0, seconds)
            await trio.sleep_until(t0 + seconds + TICK / 2)
            stats = (await describe(arena)).tick_stats
            nursery.cancel_scope.cancel()
    print(
        f"\n300 players, {stats.count} ticks: tick processing p50 {stats.p50_us} µs, "
        f"p99 {stats.p99_us} µs, max {stats.max_us} µs"
    )
    assert sum(len(link.of("reply")) for link in links) > 0


async def place_every_cooldown(
    arena: Arena, links: list[FakeLink], t0: float, seconds: float
) -> None:
    """Each player places once every ``cooldown_ticks``, spread over the ticks, walking a
    line from a spawn cell of their own so most placements are accepted."""
    cooldown = ARENA_RULES.cooldown_ticks
    for k in range(round(seconds / TICK)):
        await trio.sleep_until(t0 + (k + 0.5) * TICK)
        for i, link in enumerate(links):
            if (k + i) % cooldown:
                continue
            step = (k + i) // cooldown
            x, y = (i % 20) * 12 + step % 12, (i // 20) * 16 + step // 12
            await arena.ref.send(
                PlaceTile(player_id=link.player_id, rid=f"{k}", x=x, y=y, kind="stone")
            )
