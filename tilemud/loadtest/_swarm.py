"""The bots of one process: start them on the ramp, report every second, tally at the end."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

import trio

from tilemud.loadtest._bot import Bot
from tilemud.loadtest._config import LoadConfig
from tilemud.loadtest._login import open_http
from tilemud.loadtest._progress import Finished, Progress, Update
from tilemud.loadtest._state import SwarmState


def bot_start_offset(config: LoadConfig, index: int) -> float:
    """Seconds after the run's start at which bot ``index`` starts: evenly over the ramp."""
    if config.ramp <= 0 or config.players <= 1:
        return 0.0
    return config.ramp * index / (config.players - 1)


def bots_of_worker(config: LoadConfig, worker: int) -> list[int]:
    """The bot indices worker ``worker`` runs: every ``processes``-th one."""
    return list(range(worker, config.players, config.processes))


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def run_swarm(
    config: LoadConfig,
    *,
    worker: int,
    bots: Sequence[int],
    start_wall: float,
    emit: Callable[[Update], None],
) -> None:
    """Run ``bots`` until the run ends; ``emit`` gets a Progress a second, then Finished.

    Args:
        config: the load test.
        worker: this swarm's number, for its updates.
        bots: the indices of the bots to run.
        start_wall: the run's start, Unix time (every worker of a run shares it).
        emit: called with every update; must not block.
    """
    cpu_before = _cpu_seconds()
    start = trio.current_time() + (start_wall - time.time())
    async with open_http(config.http_url) as http:
        state = SwarmState(config=config, http=http, start=start)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_report_every_second, state, worker, emit)
            async with trio.open_nursery() as swarm:
                for index in bots:
                    bot = Bot(index, state, start_at=start + bot_start_offset(config, index))
                    swarm.start_soon(bot.run)
            nursery.cancel_scope.cancel()
        second = max(1, int(trio.current_time() - start) + 1)
        emit(_progress(state, worker, second))
    emit(Finished(worker=worker, tally=state.tally, cpu_seconds=_cpu_seconds() - cpu_before))


async def _report_every_second(
    state: SwarmState, worker: int, emit: Callable[[Update], None]
) -> None:
    second = 1
    while True:
        await trio.sleep_until(state.start + second)
        emit(_progress(state, worker, second))
        second += 1


def _progress(state: SwarmState, worker: int, second: int) -> Progress:
    tally = state.tally
    return Progress(
        worker=worker,
        second=second,
        connected=state.connected,
        seated=state.seated,
        places_sent=tally.events["places_sent"],
        answers=sum(tally.outcomes.values()),
        frames=tally.events["frames"],
        errors=sum(tally.errors.values()),
        interval=state.take_interval(),
        accepted=tally.outcomes["accepted"],
        rounds=max(state.boards.rounds.values(), default=0),
    )
