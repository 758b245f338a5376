"""The arena's tick schedule (Trio time) and its tick processing times (perf_counter).

Tick ``n`` ends at ``start + (n - base) / rate_hz``, computed from the start every time and
never by adding periods, so the schedule does not drift however long the arena runs.
``base`` is the last tick resolved before this incarnation started (0 for a new arena),
so a restarted arena keeps numbering where it stopped.
"""

from __future__ import annotations

import math
from typing import Final

from hdrh.histogram import HdrHistogram

from tilemud.actors.arena._messages import TickStats

#: Tick processing times are recorded in microseconds, from 1 µs to one minute, within
#: 1 % (2 significant digits): 25 KB of counts an arena, where 3 digits took 145 KB, made
#: as the first player joins and kept for the arena's life (0.5 KB a player of four
#: epic arenas, docs/performance.md, "The join's memory"); the targets are in ms.
_LOWEST_US: Final = 1
_HIGHEST_US: Final = 60_000_000
_SIGNIFICANT_DIGITS: Final = 2


class TickSchedule:
    """When each tick of one arena incarnation ends, in Trio time."""

    __slots__ = ("_base", "_rate_hz", "_start")

    def __init__(self, *, start: float, rate_hz: int, base: int) -> None:
        """Start a schedule.

        Args:
            start: the Trio time tick ``base`` ended at (the incarnation's start).
            rate_hz: ticks per second.
            base: the last tick already resolved; tick ``base + 1`` ends one period later.
        """
        self._start = start
        self._rate_hz = rate_hz
        self._base = base

    def end_of(self, tick: int) -> float:
        """The Trio time at which ``tick`` ends."""
        return self._start + (tick - self._base) / self._rate_hz

    def next_after(self, tick: int, now: float) -> int:
        """The first tick after ``tick`` whose end is still ahead of ``now``.

        It is ``tick + 1`` unless processing ``tick`` overran later boundaries; those ticks
        are skipped (never resolved), which keeps tick numbers tied to time: a battle of
        ``battle_ticks`` still lasts ``battle_ticks / rate_hz`` seconds.
        """
        following = tick + 1
        if self.end_of(following) > now:
            return following
        following = max(following, self._base + math.floor((now - self._start) * self._rate_hz))
        while self.end_of(following) <= now:
            following += 1
        return following


class TickTimes:
    """A histogram of tick processing times and a count of skipped ticks."""

    __slots__ = ("_histogram", "skipped")

    def __init__(self) -> None:
        self._histogram = HdrHistogram(_LOWEST_US, _HIGHEST_US, _SIGNIFICANT_DIGITS)
        #: Tick boundaries passed over because a tick's processing overran them.
        self.skipped = 0

    def record(self, seconds: float) -> None:
        """Record one tick's processing time (clamped into the histogram's range)."""
        micros = min(max(round(seconds * 1e6), _LOWEST_US), _HIGHEST_US)
        self._histogram.record_value(micros)

    def stats(self) -> TickStats:
        """The current figures."""
        histogram = self._histogram
        return TickStats(
            count=int(histogram.get_total_count()),
            skipped=self.skipped,
            max_us=int(histogram.get_max_value()),
            p50_us=int(histogram.get_value_at_percentile(50)),
            p95_us=int(histogram.get_value_at_percentile(95)),
            p99_us=int(histogram.get_value_at_percentile(99)),
        )
