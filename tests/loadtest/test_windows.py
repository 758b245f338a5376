"""A long run cut into windows: what each row counts, and the acceptance floor."""

from __future__ import annotations

from typing import Any

from tests.loadtest.test_metrics import exposition
from tilemud.loadtest._aggregate import RunAggregate, Sample
from tilemud.loadtest._histogram import LatencyHistogram
from tilemud.loadtest._progress import Progress
from tilemud.loadtest._tally import BROADCAST
from tilemud.loadtest._windows import ACCEPTANCE_FLOOR, below_floor, windows


def _second(second: int, *, latency: float, accepted_per_s: int, rounds: int) -> Progress:
    broadcast = LatencyHistogram()
    broadcast.record(latency)
    return Progress(
        worker=0,
        second=second,
        connected=10,
        seated=10,
        places_sent=20 * second,
        answers=20 * second,
        frames=100 * second,
        errors=0,
        interval={BROADCAST: broadcast},
        accepted=accepted_per_s * second,
        rounds=rounds,
    )


def test_each_window_counts_its_own_seconds() -> None:
    aggregate = RunAggregate(workers=1)
    for at in range(1, 21):
        # 10 s windows: the second window is slower and sees a round end.
        slow = at > 10
        aggregate.add(
            _second(
                at,
                latency=0.3 if slow else 0.01,
                accepted_per_s=20,
                rounds=1 if at >= 15 else 0,
            )
        )
        aggregate.add_server_sample(
            at, Sample(machine_cpu_percent=50.0, cpu_percent=40.0, rss_bytes=at * 2**20)
        )
    scrapes = {
        0: exposition(fast=0, slow=0, dropped=0, tick_sum=0.0),
        1: exposition(fast=100, slow=0, dropped=0, tick_sum=0.05),
        2: exposition(fast=100, slow=100, dropped=0, tick_sum=6.0),
    }
    first, second = windows(aggregate, scrapes, 10)
    assert (first["from_s"], first["to_s"], second["from_s"], second["to_s"]) == (0, 10, 10, 20)
    assert (first["sent"], first["answered"], first["accepted"]) == (200, 200, 200)
    assert first["acceptance"] == 1.0
    assert first["broadcast_p95_ms"] < 20
    assert second["broadcast_p95_ms"] > 250
    assert (first["tick_p99_ms"], second["tick_p99_ms"]) == (1.0, 75.0)
    assert (first["server_rss_mb"], second["server_rss_mb"]) == (10.0, 20.0)
    assert (first["rounds_ended"], second["rounds_ended"]) == (0, 1)
    assert below_floor([first, second]) == []


def test_a_window_under_the_floor_is_a_problem() -> None:
    rows: list[dict[str, Any]] = [
        {"from_s": 0, "to_s": 300, "acceptance": ACCEPTANCE_FLOOR - 0.01},
        {"from_s": 300, "to_s": 600, "acceptance": None},
        {"from_s": 600, "to_s": 900, "acceptance": ACCEPTANCE_FLOOR},
    ]
    [problem] = below_floor(rows)
    assert "0-300 s" in problem
