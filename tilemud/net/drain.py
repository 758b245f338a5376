"""A graceful stop answers what it has read before it closes (issue 11, item 7).

When the gateway begins a graceful stop, every connection stops reading the player's
frames (the frame being handled is finished first), and the gateway waits, at most
``gateway.drain_timeout``, until each is *settled*: no critical request of its session
waits for an answer (a placement's answer waits for its tick and its commit; the arenas
and storage still run, as they stop after the gateway) and its outbox is written. Then
every connection is closed with 1001. So a client that gets 1001 knows: every request
without an answer was not read, hence not applied, and is to be repeated after
reconnecting (docs/protocol.md).

A connection still unsettled at the deadline (the database did not commit in time, or the
client stopped reading) is closed all the same; the count is logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs
import trio

from tilemud.actors.session import Connection

log = logging.getLogger("tilemud.gateway")

#: Seconds between two looks at the connections while they settle.
_POLL = 0.01


@attrs.frozen(kw_only=True)
class DrainReport:
    """How a drain ended."""

    connections: int
    #: Connections still waiting for an answer or a write at the deadline.
    unsettled: int
    #: Critical requests still without an answer at the deadline.
    unanswered: int


async def drain_connections(connections: Sequence[Connection], *, within: float) -> DrainReport:
    """Stop reading on every connection and wait until all are settled, within ``within`` seconds.

    Args:
        connections: the live connections (each keeps running; this closes none).
        within: the longest wait, in seconds of Trio time.
    """
    for connection in connections:
        connection.stop_reading()
    with trio.move_on_after(within):
        # Polled: settling is many small events in many actors (arena replies, writes),
        # and this runs once per process life, for a few ticks.
        while not all(_done(c) for c in connections):  # noqa: ASYNC110
            await trio.sleep(_POLL)
    waiting = [c for c in connections if not _done(c)]
    report = DrainReport(
        connections=len(connections),
        unsettled=len(waiting),
        unanswered=sum(c.session.requests.pending for c in waiting),
    )
    if waiting:
        log.warning(
            "stopping with %d critical requests unanswered on %d connections",
            report.unanswered,
            report.unsettled,
            extra={"unanswered": report.unanswered, "connections": report.unsettled},
        )
    return report


def _done(connection: Connection) -> bool:
    return connection.closing is not None or connection.settled
