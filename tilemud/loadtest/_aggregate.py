"""The coordinator's sum of every worker's updates: the run's totals and its timeline."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import attrs

from tilemud.loadtest._histogram import LatencyHistogram
from tilemud.loadtest._progress import Finished, Progress, Update
from tilemud.loadtest._state import INTERVAL_HISTOGRAMS
from tilemud.loadtest._tally import Tally


@attrs.define
class Sample:
    """One second of the machine and of the server process, as seen from outside."""

    machine_cpu_percent: float
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    #: The server's CPU time (user + system) from the run's start to this sample.
    cpu_seconds: float | None = None


@attrs.define
class RunAggregate:
    """Everything the coordinator knows of the run so far.

    Attributes:
        workers: how many workers the run has.
        tally: the sum of the workers' final tallies (complete once all have finished).
        finished: workers whose final tally arrived.
        client_cpu_seconds: CPU time used by the workers' processes.
        server: samples of the machine and the server process, by second of the run.
    """

    workers: int
    tally: Tally = attrs.field(factory=Tally)
    finished: set[int] = attrs.field(factory=set)
    client_cpu_seconds: float = 0.0
    server: dict[int, Sample] = attrs.field(factory=dict)
    _progress: dict[int, dict[int, Progress]] = attrs.field(
        factory=lambda: defaultdict(dict), init=False
    )
    _interval: dict[int, dict[str, LatencyHistogram]] = attrs.field(factory=dict, init=False)

    def add(self, update: Update) -> None:
        """Take one worker update."""
        if isinstance(update, Finished):
            self.tally.add(update.tally)
            self.finished.add(update.worker)
            self.client_cpu_seconds += update.cpu_seconds
            return
        self._progress[update.second][update.worker] = update
        merged = self._interval.setdefault(
            update.second, {name: LatencyHistogram() for name in INTERVAL_HISTOGRAMS}
        )
        for name, histogram in update.interval.items():
            merged.setdefault(name, LatencyHistogram()).add(histogram)

    def add_server_sample(self, second: int, sample: Sample) -> None:
        """Take one sample of the server process."""
        self.server[second] = sample

    @property
    def seconds(self) -> list[int]:
        """The seconds some worker reported, in order."""
        return sorted(self._progress)

    def totals_at(self, second: int) -> dict[str, int]:
        """Counters summed over workers, each at its latest report up to ``second``."""
        totals = dict.fromkeys(
            ("connected", "seated", "places_sent", "answers", "frames", "errors", "accepted"), 0
        )
        for worker in range(self.workers):
            latest = self._latest(worker, second)
            if latest is None:
                continue
            for key in totals:
                totals[key] += getattr(latest, key)
        return totals

    def rounds_at(self, second: int) -> int:
        """The highest round number any worker saw end, up to ``second``."""
        latest = (self._latest(worker, second) for worker in range(self.workers))
        return max((p.rounds for p in latest if p is not None), default=0)

    def _latest(self, worker: int, second: int) -> Progress | None:
        for s in range(second, 0, -1):
            found = self._progress.get(s, {}).get(worker)
            if found is not None:
                return found
        return None

    def interval(self, second: int) -> dict[str, LatencyHistogram]:
        """The latency histograms of one second, merged over workers."""
        return self._interval.get(second, {})

    def latest_complete_second(self) -> int | None:
        """The last second every worker reported (else the last any did)."""
        seconds = self.seconds
        for second in reversed(seconds):
            if len(self._progress[second]) >= self.workers:
                return second
        return seconds[-1] if seconds else None

    def steady(self, until: int, settle: int = 2) -> dict[str, Any] | None:
        """The server's CPU per delivered frame once every bot is seated, as Colyseus counts it.

        The Colyseus harness measures from ``settle`` seconds after its last client joined;
        the whole run's figure also holds the joins (logins, handshakes, snapshots) and the
        ramp, so the two are compared over the same kind of window.

        Args:
            until: the last second of the window (the run's planned end, before its drain).
            settle: seconds after the last bot was seated before the window opens.
        """
        seconds = [s for s in self.seconds if s <= until]
        if not seconds:
            return None
        most = max(self.totals_at(s)["seated"] for s in seconds)
        seated_at = next(s for s in seconds if self.totals_at(s)["seated"] == most)
        start, end = seated_at + settle, seconds[-1]
        first, last = self.server.get(start), self.server.get(end)
        if first is None or last is None or first.cpu_seconds is None or last.cpu_seconds is None:
            return None
        frames = self.totals_at(end)["frames"] - self.totals_at(start)["frames"]
        cpu = last.cpu_seconds - first.cpu_seconds
        return {
            "from_s": start,
            "to_s": end,
            "cpu_seconds": round(cpu, 3),
            "frames": frames,
            "cpu_percent_avg": round(100 * cpu / (end - start), 1) if end > start else None,
            "cpu_us_per_delivered_frame": round(1e6 * cpu / frames, 2) if frames > 0 else None,
        }

    def timeline(self) -> list[dict[str, Any]]:
        """One point per second: counts, rates, latency percentiles and server samples."""
        points: list[dict[str, Any]] = []
        previous = dict.fromkeys(("places_sent", "answers", "accepted", "frames", "errors"), 0)
        for second in self.seconds:
            totals = self.totals_at(second)
            point: dict[str, Any] = {
                "t": second,
                "connected": totals["connected"],
                "seated": totals["seated"],
            }
            for key in ("places_sent", "answers", "accepted", "frames", "errors"):
                point[f"{key}_per_s"] = totals[key] - previous[key]
                previous[key] = totals[key]
            for name, histogram in self.interval(second).items():
                point[name] = {
                    "count": histogram.count,
                    "p50": histogram.percentile_ms(50),
                    "p95": histogram.percentile_ms(95),
                    "p99": histogram.percentile_ms(99),
                    "max": histogram.max_ms(),
                }
            sample = self.server.get(second)
            if sample is not None:
                point["machine_cpu_percent"] = round(sample.machine_cpu_percent, 1)
                if sample.cpu_percent is not None and sample.rss_bytes is not None:
                    point["server_cpu_percent"] = sample.cpu_percent
                    point["server_rss_mb"] = round(sample.rss_bytes / 2**20, 1)
            points.append(point)
        return points
