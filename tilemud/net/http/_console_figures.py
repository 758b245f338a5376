"""The figures operators watch, sampled from the server's own metrics into a small ring.

No task of its own: :meth:`FigureRing.sample` is called by the console's chart requests
and takes a sample when the last one is at least :data:`SAMPLE_EVERY` seconds old (Trio
time), so the ring fills while someone watches and costs nothing otherwise. Each sample
reads the server's Prometheus registry once (the same numbers ``GET /metrics`` shows):

- ``broadcast_p95_ms``: the 95th percentile of the server's part of a broadcast's latency
  (from a tick's boundary until its frames were handed to every player's socket,
  ``tilemud_broadcast_delay_seconds``) over the interval since the previous sample;
- ``tick_p95_ms``: the same of arena tick processing (resolve, encode and fan-out,
  ``tilemud_tick_duration_seconds``); both are the upper bound of the bucket the
  percentile falls in (a histogram knows no finer), None when no tick ended in the
  interval;
- ``actions_per_s``: players' critical requests (``tilemud_actions_total``) per second;
- ``ticks_skipped``: tick boundaries passed over in the interval;
- ``connections``: open player connections now;
- ``storage_backlog``: rows waiting for the database's write-behind now.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs
import trio
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

#: Seconds between two samples, at least.
SAMPLE_EVERY: Final = 1.0
#: Samples kept (five minutes at one a second).
RING_SIZE: Final = 300

_TICK: Final = "tilemud_tick_duration_seconds_bucket"
_BROADCAST: Final = "tilemud_broadcast_delay_seconds_bucket"
_HISTOGRAMS: Final = (_TICK, _BROADCAST)


@attrs.frozen(kw_only=True)
class Figures:
    """One sample: Trio time ``at`` and the figures of the interval that ended then."""

    at: float
    broadcast_p95_ms: float | None
    tick_p95_ms: float | None
    actions_per_s: float
    ticks_skipped: int
    connections: int
    storage_backlog: int

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class _Reading:
    """Raw cumulative values at one instant."""

    at: float
    # (upper bound, cumulative count), by bound
    tick_buckets: tuple[tuple[float, float], ...]
    broadcast_buckets: tuple[tuple[float, float], ...]
    actions: float
    skipped: float
    connections: float
    backlog: float


class FigureRing:
    """The last :data:`RING_SIZE` samples of one server's figures."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        clock: Callable[[], float] = trio.current_time,
        size: int = RING_SIZE,
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._ring: collections.deque[Figures] = collections.deque(maxlen=size)
        self._last: _Reading | None = None

    def sample(self) -> tuple[Figures, ...]:
        """Take a sample if the last is old enough; every sample kept, oldest first."""
        now = self._clock()
        if self._last is None or now - self._last.at >= SAMPLE_EVERY:
            reading = _read(self._registry.collect(), now)
            if self._last is not None:
                self._ring.append(_figures(self._last, reading))
            self._last = reading
        return tuple(self._ring)


def _read(families: Iterable[Metric], now: float) -> _Reading:
    buckets: dict[str, dict[float, float]] = {
        name: collections.defaultdict(float) for name in _HISTOGRAMS
    }
    totals: dict[str, float] = collections.defaultdict(float)
    for family in families:
        for sample in family.samples:
            if sample.name in buckets:
                buckets[sample.name][float(sample.labels["le"])] += sample.value
            elif sample.name in (
                "tilemud_actions_total",
                "tilemud_ticks_skipped_total",
                "tilemud_connections_open",
                "tilemud_storage_backlog_rows",
            ):
                totals[sample.name] += sample.value
    return _Reading(
        at=now,
        tick_buckets=tuple(sorted(buckets[_TICK].items())),
        broadcast_buckets=tuple(sorted(buckets[_BROADCAST].items())),
        actions=totals["tilemud_actions_total"],
        skipped=totals["tilemud_ticks_skipped_total"],
        connections=totals["tilemud_connections_open"],
        backlog=totals["tilemud_storage_backlog_rows"],
    )


def _figures(before: _Reading, now: _Reading) -> Figures:
    elapsed = max(now.at - before.at, 1e-9)
    return Figures(
        at=now.at,
        broadcast_p95_ms=_p95_ms(before.broadcast_buckets, now.broadcast_buckets),
        tick_p95_ms=_p95_ms(before.tick_buckets, now.tick_buckets),
        actions_per_s=round((now.actions - before.actions) / elapsed, 3),
        ticks_skipped=int(now.skipped - before.skipped),
        connections=int(now.connections),
        storage_backlog=int(now.backlog),
    )


def _p95_ms(
    before: tuple[tuple[float, float], ...], now: tuple[tuple[float, float], ...]
) -> float | None:
    """The upper bound of the bucket holding the 95th percentile of the new observations
    (the largest finite bound when it is in the ``+Inf`` bucket: "at least that")."""
    earlier = dict(before)
    deltas = [(bound, count - earlier.get(bound, 0.0)) for bound, count in now]
    if not deltas or deltas[-1][1] <= 0:
        return None
    wanted = 0.95 * deltas[-1][1]
    finite = [bound for bound, _ in deltas if not math.isinf(bound)]
    for bound, cumulative in deltas:
        if cumulative >= wanted:
            shown = bound if not math.isinf(bound) else (finite[-1] if finite else 0.0)
            return round(shown * 1000.0, 3)
    return None
