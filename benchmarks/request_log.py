"""CPU per placement in the players' request logs, in the steady state of epic-300.

::

    .venv/bin/python -m benchmarks.request_log --players 300 --rounds 200 --runs 5

Each of ``--players`` request logs (``RequestLog``, the default window: the reconnect
grace and the margin, 150 s) sees a placement every half second, as an active player's
does: ``begin`` for its rid (as the read hub calls it), then ``finish`` with its
``place_result`` answer (as ``Session.reply`` calls it when the arena's journal releases
it), made by ``ArenaFrames.place_result`` at a 10 Hz tick, the rid as the load bots name
theirs (``p17``). The logs are first filled past their window (Trio's mock clock), so
that every log holds ~300 answers and forgets about one old answer per new one; then
``--rounds`` rounds are timed (the garbage collector off while they are). A repeat of an
old rid is checked to return its very text.

Prints, per placement, the median over ``--runs`` runs of µs of CPU
(``time.process_time``) in ``begin``, in ``finish`` and both. Warm caches: the live
server's cost per answer is higher (other work evicts the logs between two placements).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time

import trio
import trio.testing

from tilemud.actors.arena._frames import ArenaFrames
from tilemud.actors.session._critical import Answered, RequestLog, answer_window
from tilemud.config import GatewaySettings
from tilemud.game import Placement, PlacementResult

#: Seconds between two placements of a player (2 a second) and ticks per second.
_EVERY = 0.5
_TICK_HZ = 10


async def run(players: int, rounds: int) -> dict[str, float]:
    """One run: the logs filled past their window, then ``rounds`` rounds timed."""
    window = answer_window(GatewaySettings().reconnect_grace)
    logs = [RequestLog(window=window, max_entries=1024) for _ in range(players)]
    frames = ArenaFrames("arena-1")
    fill = int(window / _EVERY) + 20
    begun = finished = 0.0
    first: tuple[str, str] | None = None
    for n in range(fill + rounds):
        tick = 1000 + int(n * _EVERY * _TICK_HZ)
        # Each player's own counter (a rid's hash is the same in every log it is in).
        rids = [f"p{p * 100_000 + n}" for p in range(players)]
        answers = [
            frames.place_result(
                PlacementResult(
                    placement=Placement(
                        player_id=f"player-{p}",
                        x=(p * 7 + n) % 128,
                        y=(p * 3 + n * 5) % 128,
                        kind="stone",
                        rid=rid,
                    ),
                    outcome="accepted",
                ),
                rid=rid,
                tick=tick,
            )
            for p, rid in enumerate(rids)
        ]
        gc.disable()  # a collection now and then would swing the figures
        started = time.process_time()
        for log, rid in zip(logs, rids, strict=True):
            log.begin(rid)
        middle = time.process_time()
        for log, rid, answer in zip(logs, rids, answers, strict=True):
            log.finish(rid, answer)
        ended = time.process_time()
        gc.enable()
        if n >= fill:
            begun += middle - started
            finished += ended - middle
            if first is None:
                first = rids[0], answers[0]
        await trio.sleep(_EVERY)
    assert first is not None
    repeat = logs[0].begin(first[0])
    if repeat != Answered(frame=first[1]):
        raise SystemExit(f"a repeat of {first[0]} got {repeat!r}, not its answer")
    if not 250 <= logs[0].answered <= 350:
        raise SystemExit(f"a log held {logs[0].answered} answers, not ~300")
    placements = players * rounds
    return {"begin": begun * 1e6 / placements, "finish": finished * 1e6 / placements}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.request_log", description=__doc__)
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if not 1 <= args.players <= 2000 or not 1 <= args.rounds <= 10_000 or args.runs < 1:
        parser.error("--players 1..2000, --rounds 1..10000, --runs at least 1")
    runs = [
        trio.run(run, args.players, args.rounds, clock=trio.testing.MockClock(autojump_threshold=0))
        for _ in range(args.runs)
    ]
    for what in ("begin", "finish"):
        us = statistics.median(r[what] for r in runs)
        print(f"{what:<7} {us:6.2f} µs of CPU per placement", end="")
        print(f" (median of {args.runs} runs; {args.players} players, {args.rounds} rounds)")
    both = statistics.median(r["begin"] + r["finish"] for r in runs)
    print(f"{'both':<7} {both:6.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
