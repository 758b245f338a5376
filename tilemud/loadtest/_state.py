"""What the bots of one process share: the clock of the run, the tally, live counts.

Every bot of a process runs in the same Trio run and touches this only from its own task,
between awaits, so no lock is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from tilemud.loadtest._board import SharedBoards
from tilemud.loadtest._bot_client import StreamMemo
from tilemud.loadtest._config import LoadConfig
from tilemud.loadtest._histogram import LatencyHistogram
from tilemud.loadtest._tally import ACTION, BROADCAST, Tally

if TYPE_CHECKING:  # httpx is in the optional `loadtest` extra: only the bots import it
    import httpx

#: The histograms also kept per progress interval (for "latency over time" and the live
#: display).
INTERVAL_HISTOGRAMS = (BROADCAST, ACTION)


@attrs.define
class SwarmState:
    """The shared state of one process's bots.

    Attributes:
        config: the load test.
        http: the HTTP client for guest logins (one pool for all bots).
        start: the Trio time the run started at (bot 0's start).
        tally: what every bot counted, including streams of bots that finished.
        interval: histograms of the current progress interval; the progress reporter
            takes and resets them.
        connected: bots with an open, greeted connection now.
        seated: bots holding an arena seat now.
        boards: the occupied cells of each arena, for every bot of the process.
        memo: the stream bodies decoded once for every bot of the process.
    """

    config: LoadConfig
    http: httpx.AsyncClient
    start: float
    tally: Tally = attrs.field(factory=Tally)
    interval: dict[str, LatencyHistogram] = attrs.field(
        factory=lambda: {name: LatencyHistogram() for name in INTERVAL_HISTOGRAMS}
    )
    connected: int = 0
    seated: int = 0
    boards: SharedBoards = attrs.field(factory=SharedBoards)
    memo: StreamMemo = attrs.field(factory=StreamMemo)

    @property
    def play_until(self) -> float:
        """Trio time at which bots stop placing."""
        return self.start + self.config.duration

    @property
    def finish_at(self) -> float:
        """Trio time by which bots close, answers in flight or not."""
        return self.play_until + self.config.drain

    @property
    def storm_at(self) -> float | None:
        """Trio time of the reconnect storm, if any."""
        at = self.config.reconnect_at
        return None if at is None else self.start + at

    def record(self, name: str, seconds: float) -> None:
        """Record one latency in the run's histogram (and the interval's, if kept)."""
        self.tally.histograms[name].record(seconds)
        interval = self.interval.get(name)
        if interval is not None:
            interval.record(seconds)

    def take_interval(self) -> dict[str, LatencyHistogram]:
        """The interval's histograms; fresh ones start."""
        taken = self.interval
        self.interval = {name: LatencyHistogram() for name in INTERVAL_HISTOGRAMS}
        return taken
