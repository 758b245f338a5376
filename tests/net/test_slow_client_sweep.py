"""The gateway's sweep for slow clients looks at suspects only, and closes them on time.

Autojump clock; fake connections with the real ``StallWatch``. The reference is the sweep
before issue 13's tick pass: every connection looked at every ``interval``, so a backlog
full from ``f`` is closed at the first sweep at or after ``f + timeout``.
"""

from __future__ import annotations

import math

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from tilemud.actors.session._stall import StallWatch
from tilemud.net.gateway import SLOW_CLIENT_SWEEP, close_slow_clients


class FakeConnection:
    """A connection whose backlog fills and drains when the test says."""

    def __init__(self, timeout: float) -> None:
        self.watch = StallWatch(high_water=1, low_water=0, slow_after=timeout)
        self.closed_at: float | None = None
        self.looks = 0

    @property
    def backlog_full(self) -> bool:
        return self.watch.full

    def close_if_stalled(self, now: float) -> bool:
        self.looks += 1
        if self.closed_at is None and self.watch.stalled(now):
            self.closed_at = now
        return self.closed_at is not None


async def run_sweep(
    slow_after: float, episodes: list[list[tuple[float, float]]]
) -> tuple[list[FakeConnection], float]:
    """Each connection's backlog is full over its ``(start, length)`` episodes (seconds
    after the sweep starts, in order, apart); returns the connections and the start."""
    connections = [FakeConnection(slow_after) for _ in episodes]
    live = set(connections)
    t0 = trio.current_time()

    async def drive(connection: FakeConnection, spans: list[tuple[float, float]]) -> None:
        for start, length in spans:
            await trio.sleep_until(t0 + start)
            connection.watch.update(1)
            await trio.sleep_until(t0 + start + length)
            if connection.closed_at is not None:
                return
            connection.watch.update(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(close_slow_clients, live, slow_after)
        for connection, spans in zip(connections, episodes, strict=True):
            nursery.start_soon(drive, connection, spans)
        end = max((s + n for spans in episodes for s, n in spans), default=0.0)
        await trio.sleep_until(t0 + end + slow_after + 1)
        nursery.cancel_scope.cancel()
    return connections, t0


def expected_close(
    timeout: float, interval: float, spans: list[tuple[float, float]]
) -> float | None:
    """When sweeping every connection every ``interval`` closes it (after the start)."""
    for start, length in spans:
        first = math.ceil((start + timeout) / interval) * interval
        if first < start + length:
            return first
    return None


#: Episodes start at 0.037 s past a tenth and last tenths, so that no fill, drain or
#: timeout falls on a sweep (multiples of 1/8 s): the reference is then exact.
episode = st.tuples(st.integers(min_value=0, max_value=30), st.integers(min_value=1, max_value=300))


@settings(max_examples=60, deadline=None)
@given(
    timeout=st.sampled_from([0.5, 2.0, 10.0]),
    gaps=st.lists(st.lists(episode, min_size=1, max_size=3), min_size=1, max_size=6),
)
def test_each_stalled_connection_is_closed_at_the_sweep_of_looking_at_all(
    timeout: float, gaps: list[list[tuple[int, int]]]
) -> None:
    # Each episode starts its gap (tenths) after the previous one ended.
    episodes: list[list[tuple[float, float]]] = []
    for spans in gaps:
        at, stalls = 0, []
        for gap, length in spans:
            at += gap
            stalls.append((at / 10 + 0.037, length / 10))
            at += length
        episodes.append(stalls)
    interval = min(SLOW_CLIENT_SWEEP, timeout / 4)

    connections, t0 = trio.run(
        run_sweep, timeout, episodes, clock=trio.testing.MockClock(autojump_threshold=0)
    )

    for connection, timeline in zip(connections, episodes, strict=True):
        expected = expected_close(timeout, interval, timeline)
        closed = None if connection.closed_at is None else connection.closed_at - t0
        if expected is None:
            assert closed is None
        else:
            assert closed is not None
            assert abs(closed - expected) < 1e-6


async def test_a_quiet_gateway_looks_at_no_connection_between_surveys(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timeout = 10.0
    connections = [FakeConnection(timeout) for _ in range(300)]
    full = connections[7]
    full.watch.update(1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(close_slow_clients, set(connections), timeout)
        await trio.sleep(timeout + 1.1)
        nursery.cancel_scope.cancel()
    # The full one is looked at every sweep (4 a second) and closed on time; the others
    # only at the surveys (they answer backlog_full there, not close_if_stalled).
    assert full.closed_at is not None
    assert full.looks == int((timeout + 1.1) / SLOW_CLIENT_SWEEP)
    assert all(c.looks == 0 for c in connections if c is not full)
