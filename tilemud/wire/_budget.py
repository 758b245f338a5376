"""A connection's frame budget: a token bucket for every frame a client sends.

Every frame counts: data frames of any kind, pings and pongs (a close ends the connection
and is not counted). The bucket holds up to ``burst`` frames and refills at ``rate`` frames
per second of the caller's clock. A frame that finds it empty is refused. Refusals come
in *runs* (refused frames with no admitted frame between them): the first of a run is
answered (``rate_limited`` with ``retry_after``), the later ones are dropped unanswered so
that a flood never makes the server write as much as it reads, and a run longer than
``burst`` means the client ignores ``retry_after``: its connection is closed (1008).

Pure: the time is passed in (Trio time in the server), no I/O.
"""

from __future__ import annotations

import enum


class Verdict(enum.Enum):
    """What happens to one frame."""

    #: Within budget: the frame is served.
    ADMIT = "admit"
    #: The first refusal of a run: answer ``rate_limited`` with ``retry_after``.
    REFUSE = "refuse"
    #: A later refusal of the same run: dropped without an answer.
    DROP = "drop"
    #: The run of refusals grew beyond ``burst``: close the connection.
    ABUSE = "abuse"


class FrameBudget:
    """The token bucket of one connection.

    Args:
        rate: frames per second the bucket refills (the sustained rate allowed).
        burst: frames the bucket holds (and the longest run of refusals tolerated).
        now: the clock's reading when the connection opened; the bucket starts full.

    Raises:
        ValueError: ``rate`` or ``burst`` is not positive.
    """

    __slots__ = ("_burst", "_rate", "_refused_in_row", "_tokens", "_updated")

    def __init__(self, *, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a frame budget needs a positive rate and burst")
        self._rate = rate
        self._burst = burst
        self._tokens = float(burst)
        self._updated = now
        self._refused_in_row = 0

    def spend(self, now: float) -> Verdict:
        """Count one frame received at ``now``."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self._refused_in_row = 0
            return Verdict.ADMIT
        self._refused_in_row += 1
        if self._refused_in_row > self._burst:
            return Verdict.ABUSE
        return Verdict.REFUSE if self._refused_in_row == 1 else Verdict.DROP

    def retry_after(self, now: float) -> float:
        """Seconds from ``now`` until the bucket admits a frame again."""
        self._refill(now)
        return max(0.0, (1.0 - self._tokens) / self._rate)

    def _refill(self, now: float) -> None:
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate)
            self._updated = now
