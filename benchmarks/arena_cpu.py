"""CPU a second of one epic arena's actor under a real Trio clock (issue 13).

One :class:`~tilemud.actors.arena._actor.Arena` on the epic rules seats ``--players``
links that do nothing with what they get (the fan-out's own cost is not here); a driver
sends ``--rate`` placements a second in all, ``--burst`` at a time (the read hub hands a
session's frames over in passes, ~150 a second in epic-300), at evenly spaced moments.
Trio runs for ``--seconds`` of Trio time, on ``MockClock(autojump_threshold=0)`` (every
wake-up happens as under a real clock, but idle time costs nothing, so the figure is
steady on a shared machine) or with ``--real`` on its real clock: the figure is
``time.process_time`` over that span divided by it (the driver's own cost included; it is
the same for any arena).

Run::

    nice -n -10 flock /work/bench.lock .venv/bin/python -m benchmarks.arena_cpu --seconds 10
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import trio
import trio.testing

from tilemud.actors.arena import Arena, JoinArena, JoinOutcome, PlaceTile
from tilemud.game import ARENA_RULES
from tilemud.mailbox import Reply
from tilemud.supervisors import ChildContext

_BLOCK_W = 12
_BLOCK_H = 16
_BLOCKS_PER_ROW = ARENA_RULES.width // _BLOCK_W


def _cell(index: int, step: int) -> tuple[int, int]:
    """Player ``index``'s ``step``-th cell: the next one of its block."""
    step %= _BLOCK_W * _BLOCK_H
    bx, by = (index % _BLOCKS_PER_ROW) * _BLOCK_W, (index // _BLOCKS_PER_ROW) * _BLOCK_H
    return bx + step % _BLOCK_W, (by + step // _BLOCK_W) % ARENA_RULES.height


class QuietLink:
    """A player link that drops everything."""

    def __init__(self, player_id: str) -> None:
        self.player_id = player_id
        self.name = f"Player {player_id}"

    def publish(self, body: str, *, ring: bool = True) -> bool:
        return False

    def reset_stream(self, snapshot_body: str) -> None:
        pass

    def reply(self, rid: str, frame: str) -> None:
        pass

    def arena_closed(self, arena_id: str) -> None:
        pass


def _join_of(link: QuietLink) -> Callable[[Reply[JoinOutcome]], JoinArena]:
    return lambda reply: JoinArena(link=link, reply=reply)


async def measure(players: int, seconds: float, rate: float, burst: int) -> float:
    """CPU seconds a second while the arena runs under load."""
    arena = Arena(arena_id="a_cpu", mode="arena", region="bench", rules=ARENA_RULES, seed=7)
    links = [QuietLink(f"p{i:03d}") for i in range(players)]

    async def run(*, task_status: trio.TaskStatus[object] = trio.TASK_STATUS_IGNORED) -> None:
        await arena.run(ChildContext(arena.arena_id, task_status=task_status))

    sent = 0
    async with trio.open_nursery() as nursery:
        await nursery.start(run)
        for link in links:
            await arena.ref.ask(_join_of(link))
        t0 = trio.current_time() + 0.5
        gap = burst / rate
        k = 0
        cpu0 = 0.0
        measuring = False
        while True:
            when = t0 + k * gap
            if not measuring and when >= t0 + 1.0:  # one second to settle
                measuring, cpu0, start = True, time.process_time(), trio.current_time()
            if when >= t0 + 1.0 + seconds:
                break
            await trio.sleep_until(when)
            for n in range(burst):
                # Round robin: each player places every players / rate seconds, past its
                # cooldown, growing a block of its own (mostly accepted, as bots' are).
                index = sent % players
                x, y = _cell(index, sent // players)
                sent += 1
                await arena.ref.send(
                    PlaceTile(
                        player_id=links[index].player_id, rid=f"{k}.{n}", x=x, y=y, kind="stone"
                    )
                )
            k += 1
        cpu = time.process_time() - cpu0
        span = trio.current_time() - start
        nursery.cancel_scope.cancel()
    return cpu / span


def main(argv: Sequence[str] | None = None) -> int:
    """Run and print the CPU a second."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=600.0, help="placements/s in all")
    parser.add_argument("--burst", type=int, default=4, help="placements sent together")
    parser.add_argument(
        "--real", action="store_true", help="Trio's real clock (default: autojump, steadier)"
    )
    args = parser.parse_args(argv)
    clock = None if args.real else trio.testing.MockClock(autojump_threshold=0)
    per_second = trio.run(measure, args.players, args.seconds, args.rate, args.burst, clock=clock)
    print(f"arena CPU: {per_second * 1000:.1f} ms/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
