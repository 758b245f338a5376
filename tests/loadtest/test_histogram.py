"""Latency histograms: true percentiles, merging across processes, the wire form."""

from __future__ import annotations

import random

import pytest

from tilemud.loadtest import LatencyHistogram


def filled(values_ms: list[float]) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for value in values_ms:
        histogram.record(value / 1000)
    return histogram


def test_percentiles_are_the_recorded_values_not_averages() -> None:
    # 99 fast answers and one very slow one: the mean (~60 ms) describes none of them.
    histogram = filled([10.0] * 99 + [5000.0])
    assert histogram.count == 100
    assert histogram.percentile_ms(50) == pytest.approx(10.0, rel=1e-3)
    assert histogram.percentile_ms(95) == pytest.approx(10.0, rel=1e-3)
    assert histogram.percentile_ms(99) == pytest.approx(10.0, rel=1e-3)
    assert histogram.max_ms() == pytest.approx(5000.0, rel=1e-3)


def test_percentiles_of_a_uniform_spread() -> None:
    histogram = filled([float(ms) for ms in range(1, 1001)])
    summary = histogram.summary()
    assert summary["count"] == 1000
    assert summary["p50"] == pytest.approx(500, rel=2e-3)
    assert summary["p95"] == pytest.approx(950, rel=2e-3)
    assert summary["p99"] == pytest.approx(990, rel=2e-3)
    assert summary["max"] == pytest.approx(1000, rel=2e-3)
    assert summary["clamped"] == 0


def test_an_empty_histogram_has_no_percentiles() -> None:
    histogram = LatencyHistogram()
    assert histogram.percentile_ms(95) is None
    assert histogram.max_ms() is None
    assert histogram.summary()["p95"] is None
    assert histogram.distribution() == []


def test_merged_parts_equal_the_whole() -> None:
    rng = random.Random(4)
    values = [rng.lognormvariate(3, 1) for _ in range(5000)]
    whole = filled(values)
    parts = [filled(values[i::3]) for i in range(3)]
    merged = LatencyHistogram.merged(parts)
    assert merged.count == whole.count
    for percentile in (50, 90, 95, 99, 99.9, 100):
        assert merged.percentile_ms(percentile) == whole.percentile_ms(percentile)


def test_the_wire_form_keeps_every_value() -> None:
    histogram = filled([1.5, 20.0, 300.0, 4000.0])
    histogram.record(-1.0)  # a clock that stepped back: clamped, and counted as such
    copy = LatencyHistogram.decode(histogram.encode())
    assert copy.summary() == histogram.summary()
    assert copy.clamped == 1
    assert LatencyHistogram.decode(LatencyHistogram().encode()).count == 0


def test_out_of_range_values_are_clamped_and_counted_not_lost() -> None:
    histogram = LatencyHistogram()
    histogram.record(-0.5)
    histogram.record(10_000.0)  # longer than the one hour tracked
    assert histogram.count == 2
    assert histogram.clamped == 2
    assert histogram.min_ms() == 0
    assert histogram.max_ms() == pytest.approx(3_600_000, rel=1e-3)


def test_reset_forgets_everything() -> None:
    histogram = filled([1.0, 2.0])
    histogram.reset()
    assert histogram.count == 0
