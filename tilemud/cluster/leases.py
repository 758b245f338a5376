"""Arena leases: every arena of a cluster has exactly one owner, a lease in Redis.

A lease is the key ``<prefix>:lease:<arena_id>`` holding the owner's node id, with an
expiry of ``cluster.node_ttl``. It is taken with ``SET NX PX`` (so of two nodes racing for
one arena, exactly one gets it), renewed by its owner's heartbeat through a
compare-and-renew script (only while the key still names the owner), and given back with
a compare-and-delete script (a node never deletes a lease another node took after its own
expired).

Fencing. A node that cannot renew must stop playing the arena before another can take
it. Redis starts a lease's expiry when it runs the command, which is after the node sent
it; so a lease renewed by a command *sent* at ``t`` lives at least until ``t + ttl`` on
Redis's clock. :class:`LeaseBook` remembers that send time per arena and says when each
must be fenced: ``t + ttl * FENCE_SHARE``, half the lease: the arena is stopped (and its
last snapshot written) while the lease still stands, with half a lease to spare for the
stop and for the clocks' drift. The bound is on time only: a node that is frozen (SIGSTOP,
a paused VM) for longer than the spare half could still write after its lease expired;
the database has no fencing token (docs/reliability.md says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import coredis

from tilemud.cluster.link import RedisLink

#: The part of a lease after its last renewal at which its holder fences the arena.
FENCE_SHARE: Final = 0.5

# KEYS: lease keys; ARGV[1]: the node id; ARGV[2]: the lease in ms. Answers 1 per key
# still held (and renewed), 0 per key lost.
_RENEW: Final = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
"""

# KEYS[1]: the lease key; ARGV[1]: the node id. Deletes only the node's own lease.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseBook:
    """The leases this node holds and when each must be fenced (Trio time).

    Plain state, touched by the arena directory (claims, releases) and its shard keeper
    (renewals) in one Trio thread, never across an ``await``.

    Args:
        ttl: the lease's length in seconds (``cluster.node_ttl``).
    """

    def __init__(self, *, ttl: float) -> None:
        self.ttl = ttl
        self._renewed: dict[str, float] = {}

    @property
    def arena_ids(self) -> list[str]:
        """The arenas whose lease this node holds."""
        return list(self._renewed)

    def holds(self, arena_id: str) -> bool:
        """Whether this node holds ``arena_id``'s lease."""
        return arena_id in self._renewed

    def renewed(self, arena_id: str, sent_at: float) -> None:
        """The lease was taken or renewed by a command sent at ``sent_at``."""
        self._renewed[arena_id] = sent_at

    def forget(self, arena_id: str) -> None:
        """The lease was given back or lost."""
        self._renewed.pop(arena_id, None)

    def fence_at(self, arena_id: str) -> float:
        """When this node must have stopped ``arena_id`` unless the lease is renewed."""
        return self._renewed[arena_id] + self.ttl * FENCE_SHARE

    def next_fence(self) -> float:
        """The earliest fence time over every lease (``inf`` with none)."""
        return min(self._renewed.values(), default=float("inf")) + self.ttl * FENCE_SHARE

    def overdue(self, now: float) -> list[str]:
        """The arenas whose fence time has come."""
        return [arena for arena in self._renewed if self.fence_at(arena) <= now]


class ArenaLeases:
    """Takes, renews and gives back arena leases in Redis for one node.

    Args:
        ttl: the lease's length in seconds (``cluster.node_ttl``).
    """

    def __init__(self, *, ttl: float) -> None:
        self.book = LeaseBook(ttl=ttl)
        self._ttl_ms = max(1, round(ttl * 1000))

    async def claim(self, link: RedisLink, arena_id: str, *, now: float) -> bool:
        """Take ``arena_id``'s lease if nobody holds it (``SET NX PX``).

        Raises:
            ClusterUnavailable: Redis did not answer; the lease may or may not be taken
                (it then expires unrenewed: this node does not count it as held).
        """
        key = link.key("lease", arena_id)
        taken = await link.run(
            lambda redis: redis.set(
                key, link.node_id, condition=coredis.PureToken.NX, px=self._ttl_ms
            )
        )
        if taken:
            self.book.renewed(arena_id, now)
        return bool(taken)

    async def renew(self, link: RedisLink, *, now: float) -> list[str]:
        """Renew every lease held; the arenas whose lease was lost are returned (and
        forgotten). Arenas claimed while the renewal ran keep their own claim time.

        Raises:
            ClusterUnavailable: Redis did not answer; nothing was renewed here.
        """
        arena_ids = self.book.arena_ids
        if not arena_ids:
            return []
        keys = [link.key("lease", arena) for arena in arena_ids]
        answers = await link.run(
            lambda redis: redis.eval(_RENEW, keys=keys, args=[link.node_id, self._ttl_ms])
        )
        assert isinstance(answers, list | tuple)
        lost: list[str] = []
        for arena_id, held in zip(arena_ids, answers, strict=True):
            if not self.book.holds(arena_id):
                continue  # released while the script ran
            if held == 1:
                self.book.renewed(arena_id, now)
            else:
                self.book.forget(arena_id)
                lost.append(arena_id)
        return lost

    async def release(self, link: RedisLink, arena_id: str) -> None:
        """Give the lease back, if this node still holds it in Redis.

        Raises:
            ClusterUnavailable: Redis did not answer; the lease then expires by itself.
        """
        self.book.forget(arena_id)
        key = link.key("lease", arena_id)
        await link.run(lambda redis: redis.eval(_RELEASE, keys=[key], args=[link.node_id]))

    async def holders(self, link: RedisLink, arena_ids: Iterable[str]) -> dict[str, str | None]:
        """Who holds each arena's lease now (None: nobody; the arena may be taken).

        Raises:
            ClusterUnavailable: Redis did not answer.
        """
        ids = list(arena_ids)
        if not ids:
            return {}
        keys = [link.key("lease", arena) for arena in ids]
        values = await link.run(lambda redis: redis.mget(keys))
        return dict(zip(ids, values, strict=True))
