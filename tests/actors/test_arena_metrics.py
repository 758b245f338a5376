"""What an arena feeds into the server's metrics: running arenas, ticks, skips, placements.

Same policy as the other arena tests (tests/actors/test_arena_fakes.py): driven through its
``Ref``, players are fake links, Trio time under ``autojump_clock``, absolute deadlines.
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
    start_arena,
    stream_frame,
)
from tilemud.actors.arena import Arena, PlaceTile
from tilemud.game import RuleConfig
from tilemud.metrics import ServerMetrics
from tilemud.protocol import ArenaTick


def value(metrics: ServerMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    assert found is not None, (name, labels)
    return found


def metered_arena(metrics: ServerMetrics, rules: RuleConfig = SMALL_RULES) -> Arena:
    return Arena(
        arena_id="a_metered",
        mode=rules.mode,
        region="eu",
        rules=rules,
        seed=7,
        meter=metrics.arenas[rules.mode],
    )


async def test_an_arena_counts_while_it_runs_and_observes_every_tick(
    autojump_clock: trio.testing.MockClock,
) -> None:
    metrics = ServerMetrics(process=False)
    arena = metered_arena(metrics)
    mode = SMALL_RULES.mode
    ann, bob = FakeLink("ann"), FakeLink("bob")
    assert value(metrics, "tilemud_arenas", mode=mode) == 0
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            assert value(metrics, "tilemud_arenas", mode=mode) == 1
            await join(arena, ann)
            await join(arena, bob)
            await trio.sleep_until(t0 + 0.5 * TICK)
            # Both on one cell: one is accepted, the other loses the conflict.
            for link in (ann, bob):
                await arena.ref.send(
                    PlaceTile(player_id=link.player_id, rid="r1", x=3, y=3, kind="stone")
                )
            await trio.sleep_until(t0 + 1.5 * TICK)
            await arena.ref.send(PlaceTile(player_id="ann", rid="r2", x=3, y=3, kind="stone"))
            await trio.sleep_until(t0 + 10.5 * TICK)
            view = await describe(arena)
            nursery.cancel_scope.cancel()
    assert value(metrics, "tilemud_arenas", mode=mode) == 0  # cancelled, not closed: still 0
    assert view.tick_stats.count == 10
    assert value(metrics, "tilemud_tick_duration_seconds_count", mode=mode) == 10
    assert value(metrics, "tilemud_tick_duration_seconds_sum", mode=mode) > 0
    assert value(metrics, "tilemud_tick_duration_seconds_count", mode="battle") == 0
    # On time: each tick's frames reached the links at its boundary, in Trio time.
    assert value(metrics, "tilemud_broadcast_delay_seconds_count", mode=mode) == 10
    assert value(metrics, "tilemud_broadcast_delay_seconds_sum", mode=mode) == 0
    placements = "tilemud_placements_total"
    assert value(metrics, placements, mode=mode, outcome="accepted") == 1
    assert value(metrics, placements, mode=mode, outcome="lost_conflict") == 1
    assert value(metrics, placements, mode=mode, outcome="rejected") == 1  # occupied
    assert value(metrics, "tilemud_ticks_skipped_total", mode=mode) == 0


async def test_skipped_ticks_are_counted(autojump_clock: trio.testing.MockClock) -> None:
    metrics = ServerMetrics(process=False)
    arena = metered_arena(metrics, attrs.evolve(SMALL_RULES, cooldown_ticks=0))

    def slow(body: str) -> None:
        # Tick 2's fan-out "takes" 0.25 s: the ends of ticks 3 and 4 pass meanwhile.
        frame = stream_frame(body)
        if isinstance(frame, ArenaTick) and frame.tick == 2:
            autojump_clock.jump(0.25)

    ann = FakeLink("ann", on_publish=slow)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await trio.sleep_until(t0 + 1.5 * TICK)
            await arena.ref.send(PlaceTile(player_id="ann", rid="r", x=1, y=1, kind="stone"))
            await trio.sleep_until(t0 + 6.5 * TICK)
            view = await describe(arena)
            nursery.cancel_scope.cancel()
    assert view.tick_stats.skipped == 2
    assert value(metrics, "tilemud_ticks_skipped_total", mode=SMALL_RULES.mode) == 2
    assert (
        value(metrics, "tilemud_tick_duration_seconds_count", mode=SMALL_RULES.mode)
        == view.tick_stats.count
    )


async def test_a_late_tick_shows_in_the_broadcast_delay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A loop that wakes the arena late (a busy machine) delays the broadcast, not the
    tick's own processing: only ``tilemud_broadcast_delay_seconds`` sees it."""
    metrics = ServerMetrics(process=False)
    arena = metered_arena(metrics)
    mode = SMALL_RULES.mode
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await trio.sleep_until(t0 + 2.9 * TICK)
            # The clock leaps past tick 3's boundary while the arena waits for it: it
            # wakes 30 ms late, as under a starved event loop.
            autojump_clock.jump(0.04)
            await trio.sleep_until(t0 + 4.5 * TICK)
            nursery.cancel_scope.cancel()
    late = metrics.registry.get_sample_value(
        "tilemud_broadcast_delay_seconds_bucket", {"mode": mode, "le": "0.025"}
    )
    assert value(metrics, "tilemud_broadcast_delay_seconds_count", mode=mode) == 4
    assert late == 3  # ticks 1, 2 and 4 on time; tick 3 beyond 25 ms
    assert value(metrics, "tilemud_broadcast_delay_seconds_sum", mode=mode) > 0.025
