"""Latency histograms with true percentiles (HdrHistogram), mergeable across processes.

Values are recorded in microseconds, from 1 µs to one hour, to three significant digits
(every percentile is within 0.1 % of the exact one). A value outside that range is clamped
to it and counted in :attr:`LatencyHistogram.clamped`, never silently dropped. Histograms
travel between processes as HdrHistogram's compressed, base64 encoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from hdrh.histogram import HdrHistogram

#: Highest value tracked, in microseconds: one hour.
HIGHEST_US: Final = 3_600_000_000
SIGNIFICANT_DIGITS: Final = 3
#: The percentiles every report shows.
PERCENTILES: Final = (50.0, 95.0, 99.0)


class LatencyHistogram:
    """A latency distribution: record seconds, read percentiles in milliseconds."""

    __slots__ = ("_hdr", "clamped")

    def __init__(self) -> None:
        self._hdr = HdrHistogram(1, HIGHEST_US, SIGNIFICANT_DIGITS)
        #: Values that were below 0 or above an hour (recorded as 0 or an hour).
        self.clamped = 0

    def record(self, seconds: float) -> None:
        """Record one latency, in seconds."""
        micros = round(seconds * 1_000_000)
        if micros < 0 or micros > HIGHEST_US:
            self.clamped += 1
            micros = min(max(micros, 0), HIGHEST_US)
        self._hdr.record_value(micros)

    @property
    def count(self) -> int:
        """How many values were recorded."""
        return int(self._hdr.get_total_count())

    def percentile_ms(self, percentile: float) -> float | None:
        """The value at ``percentile`` (0-100), in ms; None when nothing was recorded."""
        if self.count == 0:
            return None
        return float(self._hdr.get_value_at_percentile(percentile)) / 1000.0

    def max_ms(self) -> float | None:
        """The largest value recorded, in ms (to the histogram's precision)."""
        if self.count == 0:
            return None
        return float(self._hdr.get_max_value()) / 1000.0

    def min_ms(self) -> float | None:
        """The smallest value recorded, in ms (to the histogram's precision)."""
        if self.count == 0:
            return None
        return float(self._hdr.get_min_value()) / 1000.0

    def summary(self) -> dict[str, float | int | None]:
        """count, p50, p95, p99, max (ms) and clamped: what a report shows of it."""
        out: dict[str, float | int | None] = {"count": self.count}
        for p in PERCENTILES:
            out[f"p{p:g}"] = _round(self.percentile_ms(p))
        out["max"] = _round(self.max_ms())
        out["clamped"] = self.clamped
        return out

    def distribution(self, ticks_per_half: int = 5) -> list[tuple[float, float]]:
        """(percentile, ms) points for a percentile plot, denser towards the tail."""
        if self.count == 0:
            return []
        iterator: Iterator[object] = self._hdr.get_percentile_iterator(ticks_per_half)
        points: list[tuple[float, float]] = []
        for item in iterator:
            percentile = float(item.percentile_level_iterated_to)  # type: ignore[attr-defined]
            value = float(item.value_iterated_to) / 1000.0  # type: ignore[attr-defined]
            points.append((percentile, value))
        return points

    def add(self, other: LatencyHistogram) -> None:
        """Add every value of ``other`` to this histogram."""
        if other.count:
            self._hdr.add(other._hdr)
        self.clamped += other.clamped

    def reset(self) -> None:
        """Forget every value."""
        self._hdr.reset()
        self.clamped = 0

    def encode(self) -> str:
        """This histogram as text (HdrHistogram's compressed base64 form)."""
        return f"{self.clamped}:{self._hdr.encode().decode('ascii')}"

    @classmethod
    def decode(cls, text: str) -> LatencyHistogram:
        """The inverse of :meth:`encode`."""
        clamped, _, encoded = text.partition(":")
        histogram = cls()
        histogram._hdr.decode_and_add(encoded.encode("ascii"))
        histogram.clamped = int(clamped)
        return histogram

    @classmethod
    def merged(cls, parts: Iterable[LatencyHistogram]) -> LatencyHistogram:
        """A new histogram holding every value of ``parts``."""
        total = cls()
        for part in parts:
            total.add(part)
        return total


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
