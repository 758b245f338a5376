"""What a swarm tells its coordinator while it runs, and at its end.

Workers in other processes send these as JSON lines on their standard output; a swarm in
the coordinator's own process hands the same objects over directly. Either way the
coordinator sees one :class:`Progress` per worker and second, then one :class:`Finished`.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from tilemud.loadtest._histogram import LatencyHistogram
from tilemud.loadtest._tally import Tally


@attrs.frozen(kw_only=True)
class Progress:
    """One worker's state at the end of one second of the run.

    Attributes:
        worker: the worker's number.
        second: which second of the run this is (1 for the first).
        connected: bots with an open, greeted connection.
        seated: bots holding an arena seat.
        places_sent: placements sent since the start.
        answers: placement answers received since the start.
        frames: stream frames received since the start.
        errors: errors counted since the start.
        accepted: placement answers ``accepted`` (placed or captured) since the start.
        rounds: the highest round number the worker's bots saw end (0: none).
        interval: latency histograms of this second only.
    """

    worker: int
    second: int
    connected: int
    seated: int
    places_sent: int
    answers: int
    frames: int
    errors: int
    interval: dict[str, LatencyHistogram]
    accepted: int = 0
    rounds: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly values (histograms encoded)."""
        data = attrs.asdict(self, recurse=False)
        data["interval"] = {name: h.encode() for name, h in self.interval.items()}
        return {"type": "progress", **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        """The inverse of :meth:`to_dict`."""
        fields = {k: v for k, v in data.items() if k not in ("type", "interval")}
        interval = {k: LatencyHistogram.decode(v) for k, v in data["interval"].items()}
        return cls(**fields, interval=interval)


@attrs.frozen(kw_only=True)
class Finished:
    """A worker's whole tally, once its bots are gone.

    Attributes:
        worker: the worker's number.
        tally: everything its bots counted.
        cpu_seconds: CPU time the worker's process used (user + system), to tell whether
            the client side was the bottleneck.
    """

    worker: int
    tally: Tally
    cpu_seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly values."""
        return {
            "type": "finished",
            "worker": self.worker,
            "tally": self.tally.to_dict(),
            "cpu_seconds": self.cpu_seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finished:
        """The inverse of :meth:`to_dict`."""
        return cls(
            worker=data["worker"],
            tally=Tally.from_dict(data["tally"]),
            cpu_seconds=data["cpu_seconds"],
        )


Update: TypeAlias = Progress | Finished


def decode_update(data: dict[str, Any]) -> Update:
    """A :class:`Progress` or :class:`Finished` from its dict.

    Raises:
        ValueError: not an update.
    """
    kind = data.get("type")
    if kind == "progress":
        return Progress.from_dict(data)
    if kind == "finished":
        return Finished.from_dict(data)
    raise ValueError(f"not a worker update: type {kind!r}")
