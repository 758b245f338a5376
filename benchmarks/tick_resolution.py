"""Tick processing time of one epic arena with 300 players placing at the rate limit.

One :class:`~tilemud.actors.arena._actor.Arena` on the default epic rules (256x256, 10 Hz,
cooldown 3 ticks) seats ``--players`` recording links; each places ``--rate`` times per
second (the action rate limit: 60 per 10 s), spread evenly over the ticks, so a tick
resolves about ``players * rate / 10`` placements (~180). Each player grows a block of the
board of its own, retrying a cell until it is accepted; one action in ten aims at a random
cell instead (mostly rejected: occupied, not adjacent, or a conflict).

Trio runs on ``MockClock(autojump_threshold=0)``: simulated time jumps to the next tick as
soon as everything is idle, so N simulated seconds take only the CPU time they need. Tick
processing time is the arena's own measurement (``time.perf_counter`` around resolve,
encode and fan-out; real CPU-bound time even though the clock is mocked), read from its
HdrHistogram through ``DescribeArena``. The links only count what they get: the sessions'
own per-frame work (stamping, queueing, sockets) is not in these figures.

Run::

    .venv/bin/python -m benchmarks.tick_resolution --seconds 60
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence

import trio
import trio.testing

from tilemud.actors.arena import (
    Arena,
    ArenaView,
    DescribeArena,
    JoinArena,
    JoinOutcome,
    PlaceTile,
)
from tilemud.game import ARENA_RULES
from tilemud.supervisors import ChildContext

_BLOCK_W = 12
_BLOCK_H = 16
_BLOCKS_PER_ROW = ARENA_RULES.width // _BLOCK_W


class CountingLink:
    """A player link that counts what it receives and notices its accepted placements."""

    def __init__(self, player_id: str) -> None:
        self.player_id = player_id
        self.name = f"Player {player_id}"
        self.frames = 0
        self.replies = 0
        self.accepted = 0

    def publish(self, body: str, *, ring: bool = True) -> bool:
        self.frames += 1
        return False

    def reset_stream(self, snapshot_body: str) -> None:
        self.frames += 1

    def reply(self, rid: str, frame: str) -> None:
        self.replies += 1
        if '"outcome":"accepted"' in frame:
            self.accepted += 1

    def arena_closed(self, arena_id: str) -> None:
        pass


def next_cell(index: int, link: CountingLink, rng: random.Random) -> tuple[int, int]:
    """Where player ``index`` places next: the next cell of its block, or now and then a
    random cell anywhere."""
    if rng.random() < 0.1:
        return rng.randrange(ARENA_RULES.width), rng.randrange(ARENA_RULES.height)
    step = link.accepted % (_BLOCK_W * _BLOCK_H)
    bx, by = (index % _BLOCKS_PER_ROW) * _BLOCK_W, (index // _BLOCKS_PER_ROW) * _BLOCK_H
    return bx + step % _BLOCK_W, (by + step // _BLOCK_W) % ARENA_RULES.height


async def drive(
    arena: Arena, links: Sequence[CountingLink], t0: float, seconds: float, rate: float
) -> int:
    """Send every player's placements at ``rate`` per second each; returns how many."""
    hz = ARENA_RULES.tick_rate_hz
    per_tick = rate / hz
    rng = random.Random(1)
    sent = 0
    for k in range(round(seconds * hz)):
        await trio.sleep_until(t0 + (k + 0.5) / hz)
        for i, link in enumerate(links):
            phase = i / len(links)
            count = int((k + 1) * per_tick + phase) - int(k * per_tick + phase)
            for n in range(count):
                x, y = next_cell(i, link, rng)
                await arena.ref.send(
                    PlaceTile(player_id=link.player_id, rid=f"{k}.{n}", x=x, y=y, kind="stone")
                )
                sent += 1
    return sent


async def join(arena: Arena, link: CountingLink) -> JoinOutcome:
    """Seat ``link``."""
    return await arena.ref.ask(lambda reply: JoinArena(link=link, reply=reply))


async def describe(arena: Arena) -> ArenaView:
    """The arena's view."""
    return await arena.ref.ask(lambda reply: DescribeArena(reply=reply))


async def measure(players: int, seconds: float, rate: float) -> tuple[ArenaView, int]:
    """Run the scenario; returns the arena's view at the end and the placements sent."""
    arena = Arena(arena_id="a_bench", mode="arena", region="bench", rules=ARENA_RULES, seed=12345)
    links = [CountingLink(f"p{i:03d}") for i in range(players)]

    async def run(*, task_status: trio.TaskStatus[object] = trio.TASK_STATUS_IGNORED) -> None:
        await arena.run(ChildContext(arena.arena_id, task_status=task_status))

    async with trio.open_nursery() as nursery:
        await nursery.start(run)
        for link in links:
            await join(arena, link)
        t0 = trio.current_time()
        sent = await drive(arena, links, t0, seconds, rate)
        await trio.sleep_until(t0 + seconds + 0.5 / ARENA_RULES.tick_rate_hz)
        view = await describe(arena)
        nursery.cancel_scope.cancel()
    return view, sent


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the tick processing percentiles."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated seconds")
    parser.add_argument("--rate", type=float, default=6.0, help="placements/s per player")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    view, sent = trio.run(
        measure,
        args.players,
        args.seconds,
        args.rate,
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    wall = time.perf_counter() - began
    stats = view.tick_stats
    print(
        f"{args.players} players x {args.rate:g} placements/s, {args.seconds:g} simulated s "
        f"({wall:.1f} s wall): {stats.count} ticks, {sent} placements "
        f"(~{sent / max(stats.count, 1):.0f}/tick), {view.board.tile_count} tiles on the board"
    )
    print(
        f"tick processing ms: p50 {stats.p50_us / 1000:.2f}  p95 {stats.p95_us / 1000:.2f}  "
        f"p99 {stats.p99_us / 1000:.2f}  max {stats.max_us / 1000:.2f}  "
        f"(skipped ticks: {stats.skipped})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
