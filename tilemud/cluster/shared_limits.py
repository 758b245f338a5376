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

import attrs
import trio
from coredis.commands.script import Script

from tilemud.cluster.link import ClusterLink, ClusterUnavailable
from tilemud.cluster.ratelimit import InProcessRateLimiter, RateLimiter

#: KEYS: one window's sorted set per check (a key may come twice: checked in order).
#: ARGV: limit, window (µs), then one member per check, unique per event. Answers, per
#: check, -1 when the event was counted, else the microseconds until a slot frees.
_SLIDING_WINDOW_LOG = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2])
local window_ms = math.ceil(window_us / 1000)
local answers = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now_us - window_us)
  if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now_us, ARGV[2 + i])
    redis.call('PEXPIRE', key, window_ms)
    answers[i] = -1
  else
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    answers[i] = tonumber(oldest[2]) + window_us - now_us
  end
end
return answers
"""

#: The shortest ``retry_after`` told (a slot freeing within the same microsecond).
_MIN_RETRY = 1e-6


@attrs.define
class _Check:
    """One waiting check: its key, its event's member, and (once landed) its answer."""

    key: str
    member: str
    #: Microseconds to wait (-1: counted); None while pending; False: Redis failed.
    answer: int | bool | None = None


def _microseconds(answer: Any) -> list[int]:
    """The script's answers (Lua numbers come back as Redis integers)."""
    return [int(a) for a in answer]


class RedisRateLimiter:
    """A :class:`~tilemud.cluster.RateLimiter` whose windows every node shares.

    Checks that come while one is on its way to Redis wait and go together in the next
    round trip (one script run for all of them): under load the cost of a check is a
    fraction of a round trip's, and a lone check still goes at once.

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
        self._waiting: list[_Check] = []
        self._flying = False
        self._landed = trio.Event()
        #: Used while Redis is unavailable: the same limit, on this node alone.
        self.fallback = InProcessRateLimiter(limit=limit, window=window)
        #: Checks decided by the fallback because Redis did not answer.
        self.fallbacks = 0
        #: Round trips to Redis (each carries one or more checks).
        self.flights = 0

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
            node_id = self._cluster.link.node_id
        except ClusterUnavailable:
            self.fallbacks += 1
            return await self.fallback.acquire(key, at=at)
        check = _Check(key=key, member=f"{node_id}:{next(self._events)}")
        self._waiting.append(check)
        try:
            while check.answer is None:
                if self._flying:
                    await self._landed.wait()
                else:
                    await self._fly(check)
        finally:
            if check.answer is None and check in self._waiting:
                self._waiting.remove(check)  # cancelled before its flight: never counted
        if check.answer is False:
            self.fallbacks += 1
            return await self.fallback.acquire(key, at=at)
        if check.answer < 0:
            return None
        return max(check.answer / 1_000_000, _MIN_RETRY)

    async def _fly(self, own: _Check) -> None:
        """Take every waiting check to Redis in one script run; wake their callers."""
        batch, self._waiting = self._waiting, []
        self._flying = True
        landed = self._landed
        try:
            link = self._cluster.link
            keys = [link.key("limit", self._name, check.key) for check in batch]
            args: list[str | int] = [self._limit, self._window_us]
            args.extend(check.member for check in batch)
            self.flights += 1
            answers = await link.run(
                lambda redis: self._script(
                    keys=keys, args=args, client=redis, callback=_microseconds
                )
            )
            for check, answer in zip(batch, answers, strict=True):
                check.answer = answer
        except ClusterUnavailable:
            for check in batch:
                check.answer = False
        except BaseException:
            # Cancelled on its way: the others go again with the next flight (should
            # Redis have counted them already, they count twice: a stricter limit for
            # a moment, never a looser one).
            self._waiting[:0] = [check for check in batch if check is not own]
            own.answer = False
            raise
        finally:
            self._flying = False
            self._landed = trio.Event()
            landed.set()


class SharedLimits:
    """Builds the rate limits that follow a player or an address across nodes.

    With a cluster they live in Redis (a player who reconnects to another node keeps their
    window; an address spread over nodes by a load balancer gets one window, not one per
    node); alone, in process. docs/operations.md ("Rate limits and guilds across nodes")
    says which limits are shared, and why connection attempts and NPC actions stay per
    node.

    Args:
        cluster: the node's cluster link; None: this node runs alone.
    """

    def __init__(self, cluster: ClusterLink | None) -> None:
        self._cluster = cluster
        #: Every limit built, by name.
        self.built: dict[str, RateLimiter] = {}

    def limit(self, name: str, limit: int, window: float, *, shared: bool = True) -> RateLimiter:
        """The limit ``name``: in Redis when there is a cluster and ``shared``."""
        built: RateLimiter
        if self._cluster is None or not shared:
            built = InProcessRateLimiter(limit=limit, window=window)
        else:
            built = RedisRateLimiter(self._cluster, name=name, limit=limit, window=window)
        self.built[name] = built
        return built
