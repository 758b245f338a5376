"""Reading the server's /metrics: tick duration over the run, counters' growth."""

from __future__ import annotations

import pytest

from tilemud.loadtest._metrics import (
    Scrape,
    counter_delta,
    parse_metrics,
    server_metrics,
    tick_duration,
)


def exposition(*, fast: int, slow: int, dropped: int, tick_sum: float) -> Scrape:
    """A server's /metrics with ``fast`` ticks under 1 ms and ``slow`` ones of 50-75 ms."""
    total = fast + slow
    text = f"""\
# HELP tilemud_tick_duration_seconds Arena tick processing time.
# TYPE tilemud_tick_duration_seconds histogram
tilemud_tick_duration_seconds_bucket{{le="0.001",mode="arena"}} {fast}
tilemud_tick_duration_seconds_bucket{{le="0.05",mode="arena"}} {fast}
tilemud_tick_duration_seconds_bucket{{le="0.075",mode="arena"}} {total}
tilemud_tick_duration_seconds_bucket{{le="+Inf",mode="arena"}} {total}
tilemud_tick_duration_seconds_count{{mode="arena"}} {total}
tilemud_tick_duration_seconds_sum{{mode="arena"}} {tick_sum}
tilemud_tick_duration_seconds_bucket{{le="0.001",mode="battle"}} 0
tilemud_tick_duration_seconds_bucket{{le="0.05",mode="battle"}} 0
tilemud_tick_duration_seconds_bucket{{le="0.075",mode="battle"}} 0
tilemud_tick_duration_seconds_bucket{{le="+Inf",mode="battle"}} 0
tilemud_tick_duration_seconds_count{{mode="battle"}} 0
tilemud_tick_duration_seconds_sum{{mode="battle"}} 0
# TYPE tilemud_frames_dropped_total counter
tilemud_frames_dropped_total{{mode="arena"}} {dropped}
tilemud_frames_dropped_total{{mode="battle"}} 1
"""
    return Scrape(families=parse_metrics(text))


def test_tick_duration_comes_from_the_buckets_that_grew_during_the_run() -> None:
    # Before the run: 1000 fast ticks. During it: 90 fast and 10 slow ones.
    before = exposition(fast=1000, slow=0, dropped=5, tick_sum=0.5)
    after = exposition(fast=1090, slow=10, dropped=8, tick_sum=1.2)
    tick = tick_duration(before, after)
    assert tick is not None
    assert tick["metric"] == "tilemud_tick_duration_seconds"
    assert tick["count"] == 100
    assert tick["p50"] == pytest.approx(1.0)  # upper bound of the bucket, in ms
    assert tick["p95"] == pytest.approx(75.0)
    assert tick["max"] == pytest.approx(75.0)
    assert tick["mean"] == pytest.approx(7.0)  # (1.2 - 0.5) s / 100 ticks


def test_no_tick_during_the_run_means_no_figure() -> None:
    same = exposition(fast=10, slow=0, dropped=0, tick_sum=0.01)
    assert tick_duration(same, same) is None


def test_quantile_samples_give_the_worst_arena() -> None:
    after = Scrape(
        families=parse_metrics(
            """\
# TYPE tilemud_arena_tick_seconds gauge
tilemud_arena_tick_seconds{arena="a",quantile="0.95"} 0.004
tilemud_arena_tick_seconds{arena="b",quantile="0.95"} 0.009
tilemud_arena_tick_seconds{arena="a",quantile="1"} 0.02
"""
        )
    )
    tick = tick_duration(Scrape(), after)
    assert tick == {
        "metric": "tilemud_arena_tick_seconds",
        "source": "quantiles (worst arena)",
        "p95": pytest.approx(9.0),
        "max": pytest.approx(20.0),
    }


def test_counters_are_summed_over_labels_and_taken_as_growth() -> None:
    before = exposition(fast=0, slow=0, dropped=5, tick_sum=0)
    after = exposition(fast=0, slow=0, dropped=8, tick_sum=0)
    assert counter_delta(before, after, "drop") == {"tilemud_frames_dropped": 3.0}
    report = server_metrics(before, after)
    assert report["available"] is True
    assert report["dropped"] == {"tilemud_frames_dropped": 3.0}


def test_a_missing_endpoint_is_reported_as_not_available() -> None:
    missing = Scrape(error="GET http://127.0.0.1:7351/metrics: HTTP 404")
    assert server_metrics(missing, missing) == {
        "available": False,
        "reason": "GET http://127.0.0.1:7351/metrics: HTTP 404",
    }


def test_ticks_beyond_the_largest_bucket_give_a_lower_bound() -> None:
    before = exposition(fast=0, slow=0, dropped=0, tick_sum=0)
    text = """\
# TYPE tilemud_tick_duration_seconds histogram
tilemud_tick_duration_seconds_bucket{le="0.1",mode="arena"} 90
tilemud_tick_duration_seconds_bucket{le="0.2",mode="arena"} 95
tilemud_tick_duration_seconds_bucket{le="+Inf",mode="arena"} 100
tilemud_tick_duration_seconds_count{mode="arena"} 100
tilemud_tick_duration_seconds_sum{mode="arena"} 15
"""
    tick = tick_duration(before, Scrape(families=parse_metrics(text)))
    assert tick is not None
    assert tick["p95"] == pytest.approx(200.0)
    assert tick["p99"] is None
    assert tick["p99_above"] == pytest.approx(200.0)
    assert tick["max_above"] == pytest.approx(200.0)
