"""Rate limits shared by every node of a cluster: the sliding window log in Redis.

A limit that follows a player (chat, game actions, reports) or a client address (guest
logins, admin sign-ins) must hold across nodes: a player who reconnects to another node,
or an address whose requests a load balancer spreads, must not get a fresh window there.
:class:`RedisRateLimiter` keeps the window in Redis, with the rule of
:mod:`tilemud.cluster.ratelimit` (an event at ``t`` counts on ``[t, t + window)``), in one
Lua script so that counting and recording are one atomic step on the Redis server: two
nodes can never both take the last slot.

Time is Redis's (``TIME``), in microseconds: the nodes' clocks do not agree, and an event
judged on one node and checked again on another must be measured on one clock. Scores stay
below 2**53, exact in a Lua number. Each key lives ``window`` after its last accepted event
(``PEXPIRE``), so idle players cost nothing.

Redis unavailable (docs/operations.md, "Redis outage"): play goes on. Each check falls back
to this node's in-process limiter of the same limit and window, so every limit still holds
per node; what is lost is only the sharing (a player on two nodes during an outage may get
up to one window per node). Nobody is refused or disconnected because Redis is down. The
fallback's own window starts empty: events counted in Redis before the outage are not
known to it.
"""

from __future__ import annotations

import itertools
from typing import Any

from coredis.commands.script import Script

from tilemud.cluster.link import ClusterLink, ClusterUnavailable
from tilemud.cluster.ratelimit import InProcessRateLimiter

#: KEYS[1]: the window's sorted set. ARGV: limit, window (µs), a member unique per event.
#: Answers -1 when the event was counted, else the microseconds until a slot frees.
_SLIDING_WINDOW_LOG = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_us - window_us)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now_us, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window_us / 1000))
  return -1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window_us - now_us
"""

#: The shortest ``retry_after`` told (a slot freeing within the same microsecond).
_MIN_RETRY = 1e-6


def _microseconds(answer: Any) -> int:
    """The script's answer (a Lua number comes back as a Redis integer)."""
    return int(answer)


class RedisRateLimiter:
    """A :class:`~tilemud.cluster.RateLimiter` whose windows every node shares.

    Args:
        cluster: the node's cluster link (asked for the open connection at each check).
        name: what is limited (``"chat"``, ``"actions"`` …): the keys are
            ``<prefix>:limit:<name>:<key>``, so two limits never share a window.
        limit: accepted events allowed in any window (at least 1).
        window: the window's length in seconds (at least a millisecond).

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(self, cluster: ClusterLink, *, name: str, limit: int, window: float) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window < 0.001:
            raise ValueError("window must be at least a millisecond")
        self._cluster = cluster
        self._name = name
        self._limit = limit
        self._window_us = round(window * 1_000_000)
        self._script: Script[str] = Script(script=_SLIDING_WINDOW_LOG)
        # Members must differ between events of one key, on every node: node id + counter.
        self._events = itertools.count()
        #: Used while Redis is unavailable: the same limit, on this node alone.
        self.fallback = InProcessRateLimiter(limit=limit, window=window)
        #: Checks decided by the fallback because Redis did not answer.
        self.fallbacks = 0

    async def acquire(self, key: str, *, at: float | None = None) -> float | None:
        """Count one event for ``key`` if the cluster-wide limit allows it.

        Args:
            key: what is being limited.
            at: ignored while Redis answers (Redis's clock decides); passed to the
                fallback otherwise.

        Returns:
            None when allowed and counted; otherwise seconds until a slot frees.
        """
        try:
            link = self._cluster.link
            redis_key = link.key("limit", self._name, key)
            member = f"{link.node_id}:{next(self._events)}"
            args = (self._limit, self._window_us, member)
            wait_us = await link.run(
                lambda redis: self._script(
                    keys=[redis_key], args=args, client=redis, callback=_microseconds
                )
            )
        except ClusterUnavailable:
            self.fallbacks += 1
            return await self.fallback.acquire(key, at=at)
        if wait_us < 0:
            return None
        return max(wait_us / 1_000_000, _MIN_RETRY)
