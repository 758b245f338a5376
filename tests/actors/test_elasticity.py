"""The elasticity supervisor on the autojump clock, fed by a scripted sampler.

Every window (10 s of Trio time) takes the next scripted sample; the test reads the
allowance (what arenas read) and the metrics between windows.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import trio
import trio.testing

from tests.actors.test_arena_fakes import SMALL_RULES, FakeLink, describe, join, make_arena
from tests.actors.test_arena_fakes import start_arena as start_arena_task
from tilemud.actors.arena import NpcPolicy
from tilemud.actors.elasticity import Elasticity, NpcAllowance, Sample, Thresholds
from tilemud.metrics import NpcMeter
from tilemud.protocol import PlayerLeft
from tilemud.supervisors import ChildContext

WINDOW = 10.0
OVER = Sample(cpu=0.9, memory=0.2)
UNDER = Sample(cpu=0.1, memory=0.2)
BETWEEN = Sample(cpu=0.6, memory=0.2)
MEMORY_ONLY = Sample(cpu=0.1, memory=0.8)


class Script:
    """A sampler that gives the scripted samples in order, then ``UNDER`` forever."""

    def __init__(self, samples: list[Sample]) -> None:
        self._samples: Iterator[Sample] = iter(samples)
        self.taken = 0

    def sample(self) -> Sample:
        self.taken += 1
        return next(self._samples, UNDER)


async def run_windows(
    samples: list[Sample], *, allowance: NpcAllowance | None = None
) -> tuple[list[int], NpcMeter]:
    """Run the supervisor through ``len(samples)`` windows; the steps after each window."""
    allowance = NpcAllowance() if allowance is None else allowance
    script = Script(samples)
    meter = NpcMeter.standalone()
    elasticity = Elasticity(allowance=allowance, sampler=lambda: script, meter=meter, window=WINDOW)
    steps: list[int] = []
    stopping = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: elasticity.run(
                ChildContext("elasticity", task_status=task_status, stopping=stopping)
            )
        )
        start = trio.current_time()
        for window in range(1, len(samples) + 1):
            await trio.sleep_until(start + window * WINDOW + WINDOW / 2)
            steps.append(allowance.steps)
        stopping.set()
    assert script.taken == len(samples)
    return steps, meter


async def test_two_windows_over_shed_nothing(autojump_clock: trio.testing.MockClock) -> None:
    steps, meter = await run_windows([OVER, OVER, UNDER, OVER, OVER])
    assert steps == [0, 0, 0, 0, 0]
    assert meter.sheds._value.get() == 0


async def test_three_windows_over_shed_one_step_and_three_more_another(
    autojump_clock: trio.testing.MockClock,
) -> None:
    steps, meter = await run_windows([OVER] * 7)
    assert steps == [0, 0, 1, 1, 1, 2, 2]
    assert meter.sheds._value.get() == 2
    assert meter.steps._value.get() == 2
    assert meter.cpu._value.get() == 0.9


async def test_over_and_under_alternating_never_sheds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    steps, _ = await run_windows([OVER, UNDER] * 6 + [OVER, OVER, BETWEEN, OVER, OVER])
    assert set(steps) == {0}


async def test_memory_alone_triggers(autojump_clock: trio.testing.MockClock) -> None:
    steps, meter = await run_windows([MEMORY_ONLY] * 3)
    assert steps == [0, 0, 1]
    assert meter.memory._value.get() == 0.8


async def test_restore_only_after_the_hysteresis(autojump_clock: trio.testing.MockClock) -> None:
    windows_under = Thresholds().windows_under
    # Shed twice, then: under for one window less than the hysteresis, a window between the
    # thresholds (restarts the count), then long enough under to restore both steps.
    samples = [OVER] * 6 + [UNDER] * (windows_under - 1) + [BETWEEN] + [UNDER] * (2 * windows_under)
    steps, meter = await run_windows(samples)
    assert steps[5] == 2
    assert set(steps[6 : 6 + windows_under]) == {2}  # not yet: the count was reset
    assert steps[6 + windows_under + windows_under - 1] == 1
    assert steps[-1] == 0
    assert meter.restores._value.get() == 2
    # Never above the static caps: more windows under restore nothing more.
    more, _ = await run_windows([UNDER] * (2 * windows_under))
    assert set(more) == {0}


async def test_shedding_sheds_npcs_of_every_arena_and_never_a_player(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allowance = NpcAllowance(step_percent=50)
    rules = attrs.evolve(SMALL_RULES, npc_cap=4, player_cap=3)
    arenas = [
        make_arena(rules, arena_id=f"a_{i}", npcs=NpcPolicy(allowance=allowance)) for i in range(2)
    ]
    links = [FakeLink(f"p{i}") for i in range(3)]
    script = Script([OVER] * 6)
    elasticity = Elasticity(
        allowance=allowance, sampler=lambda: script, meter=NpcMeter.standalone(), window=WINDOW
    )
    with trio.fail_after(200):
        async with trio.open_nursery() as nursery:
            for arena in arenas:
                await start_arena_task(nursery, arena)
            for link in links:
                await join(arenas[0], link)
            await nursery.start(
                lambda task_status: elasticity.run(ChildContext("e", task_status=task_status))
            )
            await trio.sleep(3.5 * WINDOW)
            for arena in arenas:
                view = await describe(arena)
                assert view.npcs == ("npc:1", "npc:2")  # newest first: 4 and 3 left
                assert len(view.players) == (3 if arena is arenas[0] else 0)
            await trio.sleep(3 * WINDOW)
            for arena in arenas:
                view = await describe(arena)
                assert view.npcs == ()
            assert (await describe(arenas[0])).players == ("p0", "p1", "p2")
            left = links[0].published_of(PlayerLeft)
            assert all(frame.npc for frame in left)
            assert {frame.player_id for frame in left} == {f"npc:{n}" for n in range(1, 5)}
            nursery.cancel_scope.cancel()
