"""CPU of :func:`~tilemud.game.resolve_tick` alone on an epic arena's load (issue 13).

The tick inputs are made once, without an actor: ``--players`` players on the epic rules
(256x256, cooldown 3 ticks, captures) each place ``--rate`` times a second, spread evenly
over the ticks (~60 a tick at the default 2/s: epic-300's rate). By default each chooses
its cell as the load test's bots do (:func:`tilemud.loadtest._moves.choose_cell`: grow
next to recent tiles, contest the frontier with captures, a random kind), seeing the
board as it was after the previous tick; with ``--blocks``, as
``benchmarks.tick_resolution`` drives its arena (a block of its own, one action in ten at
a random cell, no captures). Then the recorded ticks are resolved again from the empty
board, ``--repeats`` times, each timed with ``time.process_time``; the figure is the
median CPU a tick (the board fills as the ticks go, so the figure covers a growing board).

Run::

    PYTHONPATH=$PWD nice -n 5 .venv/bin/python -m benchmarks.resolve_cpu --seconds 60
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import random
import statistics
import time
from collections.abc import Sequence

from tilemud.game import ARENA_RULES, ArenaState, Placement, resolve_tick
from tilemud.loadtest._moves import choose_cell

_BLOCK_W = 12
_BLOCK_H = 16
_BLOCKS_PER_ROW = ARENA_RULES.width // _BLOCK_W
_SEED = 12345


def record(players: int, seconds: float, rate: float, *, blocks: bool) -> list[list[Placement]]:
    """Each tick's placements, made by resolving them as they come."""
    rules = ARENA_RULES
    hz = rules.tick_rate_hz
    per_tick = rate / hz
    rng = random.Random(1)
    accepted = [0] * players
    ids = [f"p{i:03d}" for i in range(players)]
    own: list[list[tuple[int, int]]] = [[] for _ in range(players)]
    occupied: dict[tuple[int, int], str] = {}
    kinds = rules.kind_names
    state = ArenaState.start(rules)
    ticks: list[list[Placement]] = []
    tally: collections.Counter[str] = collections.Counter()
    for k in range(round(seconds * hz)):
        placements = []
        for i in range(players):
            phase = i / players
            for n in range(int((k + 1) * per_tick + phase) - int(k * per_tick + phase)):
                if not blocks:
                    me = ids[i]
                    own[i] = [c for c in own[i][-64:] if occupied.get(c) == me]
                    x, y = choose_cell(
                        rng,
                        width=rules.width,
                        height=rules.height,
                        occupied=occupied,
                        own=own[i],
                        pending=(),
                        require_adjacency=rules.require_adjacency,
                        me=me,
                        captures=rules.captures,
                        capture_margin=rules.capture_margin,
                    )
                    kind = kinds[rng.randrange(len(kinds))]
                    placements.append(Placement(player_id=me, x=x, y=y, kind=kind, rid=f"{k}.{n}"))
                    continue
                if rng.random() < 0.1:
                    x, y = rng.randrange(ARENA_RULES.width), rng.randrange(ARENA_RULES.height)
                else:
                    step = accepted[i] % (_BLOCK_W * _BLOCK_H)
                    bx = (i % _BLOCKS_PER_ROW) * _BLOCK_W
                    by = (i // _BLOCKS_PER_ROW) * _BLOCK_H
                    x, y = bx + step % _BLOCK_W, (by + step // _BLOCK_W) % ARENA_RULES.height
                placements.append(
                    Placement(player_id=ids[i], x=x, y=y, kind="stone", rid=f"{k}.{n}")
                )
        state, outcome = resolve_tick(state, placements, tick=k + 1, seed=_SEED, rules=ARENA_RULES)
        for result in outcome.results:
            tally[result.reason or result.outcome] += 1
            if result.outcome == "accepted":
                placement = result.placement
                accepted[int(placement.player_id[1:])] += 1
                own[int(placement.player_id[1:])].append((placement.x, placement.y))
        for item in outcome.placed:
            occupied[item.x, item.y] = item.tile.owner
        tally["captures"] += len(outcome.captures)
        ticks.append(placements)
    print(f"{state.board.tile_count} tiles at the end; {dict(sorted(tally.items()))}")
    return ticks


def replay(ticks: Sequence[Sequence[Placement]]) -> tuple[float, str]:
    """CPU seconds to resolve ``ticks`` from the empty board, and the last checksum."""
    state = ArenaState.start(ARENA_RULES)
    checksum = ""
    began = time.process_time()
    for k, placements in enumerate(ticks):
        state, outcome = resolve_tick(state, placements, tick=k + 1, seed=_SEED, rules=ARENA_RULES)
        checksum = outcome.checksum
    return time.process_time() - began, checksum


def main(argv: Sequence[str] | None = None) -> int:
    """Record the ticks, resolve them ``--repeats`` times, print the median a tick."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated seconds")
    parser.add_argument("--rate", type=float, default=2.0, help="placements/s per player")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also one run under cProfile")
    parser.add_argument("--blocks", action="store_true", help="benchmarks.tick_resolution's moves")
    args = parser.parse_args(argv)
    ticks = record(args.players, args.seconds, args.rate, blocks=args.blocks)
    runs = [replay(ticks) for _ in range(args.repeats)]
    per_tick = [cpu / len(ticks) * 1e6 for cpu, _ in runs]
    placements = sum(map(len, ticks))
    if args.profile:
        cProfile.runctx("replay(ticks)", globals(), {"ticks": ticks}, sort="tottime")
    print(
        f"{len(ticks)} ticks, {placements / len(ticks):.0f} placements a tick; "
        f"resolve_tick CPU µs a tick: median {statistics.median(per_tick):.0f} "
        f"(min {min(per_tick):.0f}, max {max(per_tick):.0f}); checksum {runs[0][1]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
