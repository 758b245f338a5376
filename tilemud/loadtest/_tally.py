"""What a swarm counted: events by name, errors by code, closes, streams and latencies.

A :class:`Tally` is a plain, mergeable value: each worker process keeps one, sends it to
the coordinator as a dict, and the coordinator adds them up. Nothing here does I/O.

Drop accounting, per bot stream (:class:`StreamAccount`): the server numbers every stream
frame 1, 2, 3 ... per session, so the highest seq a bot saw is how many frames the server
sent it up to then. A frame never received shows as a hole in the numbers: either a gap
(``missing``, which must never happen on one connection) or seqs skipped right before a
``snapshot`` (``skipped_before_snapshot``: the server dropped them from a full resend
buffer and sent the snapshot instead). The drop rate is their sum over the highest seq.
Frames the server sent after the last one a bot received (its connection died with them
in flight) cannot be seen by the bot and are not counted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

import attrs

from tilemud.loadtest._histogram import LatencyHistogram
from tilemud.player_client import StreamCheck

#: The latency histograms every tally holds.
JOIN: Final = "join_handshake"
ACTION: Final = "action_round_trip"
BROADCAST: Final = "broadcast"
RESUME: Final = "resume_handshake"
REPLAY: Final = "resume_replay"
#: The parts of the join handshake: the guest login, then connect + hello -> welcome.
LOGIN: Final = "join_part_login"
WELCOME: Final = "join_part_welcome"
HISTOGRAMS: Final = (JOIN, ACTION, BROADCAST, RESUME, REPLAY, LOGIN, WELCOME)


@attrs.define
class StreamAccount(StreamCheck):
    """A :class:`StreamCheck` that also counts how many frames each gap lost."""

    #: Seqs never received in gaps that no snapshot explains.
    missing: int = 0

    def see(self, seq: int, *, snapshot: bool) -> None:
        """Record one stream frame."""
        if seq > self.last_seq + 1 and not snapshot:
            self.missing += seq - self.last_seq - 1
        super().see(seq, snapshot=snapshot)


@attrs.define
class StreamTotals:
    """Stream accounting added up over bots."""

    #: Sum over bots of the highest seq seen: frames the server sent them.
    sent: int = 0
    #: Stream frames received (duplicates included).
    received: int = 0
    missing: int = 0
    skipped_before_snapshot: int = 0
    duplicates: int = 0
    #: Gaps (occurrences, not frames) outside snapshots.
    gaps: int = 0

    def add_stream(self, account: StreamAccount) -> None:
        """Add one bot's stream."""
        self.sent += account.last_seq
        self.received += account.frames
        self.missing += account.missing
        self.skipped_before_snapshot += account.skipped_before_snapshot
        self.duplicates += account.duplicates
        self.gaps += account.gaps

    def add(self, other: StreamTotals) -> None:
        """Add another total."""
        for field in attrs.fields(StreamTotals):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    @property
    def dropped(self) -> int:
        """Frames the bots never received, of those the server numbered for them."""
        return self.missing + self.skipped_before_snapshot

    @property
    def drop_rate(self) -> float | None:
        """``dropped / sent``; None when no frame was sent."""
        return drop_rate(dropped=self.dropped, sent=self.sent)


def drop_rate(*, dropped: int, sent: int) -> float | None:
    """The share of frames never received; None when nothing was sent."""
    if sent <= 0:
        return None
    return dropped / sent


@attrs.define
class Tally:
    """Everything a swarm counts.

    Attributes:
        events: what happened, by name (``bots_started``, ``joined``, ``places_sent``,
            ``resumed`` ...).
        outcomes: placement answers by outcome (``accepted``, ``lost_conflict``,
            ``rejected:cooldown`` ...).
        errors: failures by stage and code (``login:connect_refused``,
            ``join:arena_unavailable``, ``place:rate_limited``, ``connect:timeout`` ...).
        closes: connections the server closed, by close code and reason (``1001
            shutting_down``; ``1006`` when it went away without a close frame).
        arenas: how many bots were seated in each arena id.
        stream: stream accounting over every bot.
        histograms: the latency histograms (see ``HISTOGRAMS``).
    """

    events: Counter[str] = attrs.field(factory=Counter)
    outcomes: Counter[str] = attrs.field(factory=Counter)
    errors: Counter[str] = attrs.field(factory=Counter)
    closes: Counter[str] = attrs.field(factory=Counter)
    arenas: Counter[str] = attrs.field(factory=Counter)
    stream: StreamTotals = attrs.field(factory=StreamTotals)
    histograms: dict[str, LatencyHistogram] = attrs.field(
        factory=lambda: {name: LatencyHistogram() for name in HISTOGRAMS}
    )

    def add(self, other: Tally) -> None:
        """Add another tally to this one."""
        self.events.update(other.events)
        self.outcomes.update(other.outcomes)
        self.errors.update(other.errors)
        self.closes.update(other.closes)
        self.arenas.update(other.arenas)
        self.stream.add(other.stream)
        for name, histogram in other.histograms.items():
            self.histograms.setdefault(name, LatencyHistogram()).add(histogram)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (histograms encoded), for the trip between processes."""
        return {
            "events": dict(self.events),
            "outcomes": dict(self.outcomes),
            "errors": dict(self.errors),
            "closes": dict(self.closes),
            "arenas": dict(self.arenas),
            "stream": attrs.asdict(self.stream),
            "histograms": {name: h.encode() for name, h in self.histograms.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        """The inverse of :meth:`to_dict`."""
        return cls(
            events=Counter(data["events"]),
            outcomes=Counter(data["outcomes"]),
            errors=Counter(data["errors"]),
            closes=Counter(data["closes"]),
            arenas=Counter(data["arenas"]),
            stream=StreamTotals(**data["stream"]),
            histograms={
                name: LatencyHistogram.decode(text) for name, text in data["histograms"].items()
            },
        )
