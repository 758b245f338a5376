"""A long run cut into windows (``--report-every``): one row per window of the run.

Each row covers ``[start, end)`` seconds of the run and says what a soak test watches for
drift: the placements sent, answered and accepted (placed or captured) in the window and
the share accepted; the broadcast latency's p95 (the bots' per-second histograms merged);
the server's tick duration p99 (from two scrapes of ``/metrics``, at the window's edges:
Prometheus buckets, so the figure is the upper bound of the bucket it falls in); the
server's RSS at the window's end; and the rounds that ended in it (the highest round
number a bot saw ended).
"""

from __future__ import annotations

from typing import Any, Final

from tilemud.loadtest._aggregate import RunAggregate
from tilemud.loadtest._histogram import LatencyHistogram
from tilemud.loadtest._metrics import Scrape, tick_duration
from tilemud.loadtest._tally import BROADCAST

#: The least share of answered placements accepted (placed or captured) in any window or
#: minute of an epic-arena run under captures and rounds (docs/performance.md, "soak-60").
ACCEPTANCE_FLOOR: Final = 0.5


def below_floor(rows: list[dict[str, Any]]) -> list[str]:
    """A problem line for each row (a window or a minute) whose acceptance is under
    :data:`ACCEPTANCE_FLOOR`."""
    return [
        f"acceptance {row['acceptance']:.1%} in {row['from_s']}-{row['to_s']} s is below the"
        f" floor of {ACCEPTANCE_FLOOR:.0%}"
        for row in rows
        if row["acceptance"] is not None and row["acceptance"] < ACCEPTANCE_FLOOR
    ]


def windows(
    aggregate: RunAggregate, scrapes: dict[int, Scrape], every: int
) -> list[dict[str, Any]]:
    """One row per window of ``every`` seconds.

    Args:
        aggregate: the run's per-second progress and server samples.
        scrapes: ``/metrics`` read at second ``k * every`` of the run, by ``k``.
        every: the window's length in seconds.
    """
    seconds = aggregate.seconds
    if not seconds or every < 1:
        return []
    rows: list[dict[str, Any]] = []
    last = seconds[-1]
    previous = dict.fromkeys(("places_sent", "answers", "accepted"), 0)
    rounds_before = 0
    for index, start in enumerate(range(0, last, every)):
        end = min(start + every, last)
        totals = aggregate.totals_at(end)
        moved = {key: totals[key] - previous[key] for key in previous}
        previous = {key: totals[key] for key in previous}
        broadcast = LatencyHistogram()
        for second in range(start + 1, end + 1):
            found = aggregate.interval(second).get(BROADCAST)
            if found is not None:
                broadcast.add(found)
        rss = None
        for second in range(end, start, -1):
            sample = aggregate.server.get(second)
            if sample is not None and sample.rss_bytes is not None:
                rss = round(sample.rss_bytes / 2**20, 1)
                break
        tick = None
        if index in scrapes and index + 1 in scrapes:
            tick = tick_duration(scrapes[index], scrapes[index + 1])
        rounds = aggregate.rounds_at(end)
        rows.append(
            {
                "from_s": start,
                "to_s": end,
                "sent": moved["places_sent"],
                "answered": moved["answers"],
                "accepted": moved["accepted"],
                "acceptance": (
                    round(moved["accepted"] / moved["answers"], 4) if moved["answers"] else None
                ),
                "broadcast_p95_ms": broadcast.percentile_ms(95),
                "tick_p99_ms": None if tick is None else tick.get("p99"),
                "server_rss_mb": rss,
                "rounds_ended": rounds - rounds_before,
            }
        )
        rounds_before = rounds
    return rows
