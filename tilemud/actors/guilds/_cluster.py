"""How the guilds actors of a cluster's nodes keep one truth: the database's.

Every node's guilds actor caches the guilds in a book. Across nodes three things keep the
caches honest (docs/social.md, "Guilds across nodes"):

- **One writer per guild at a time.** A change takes the guild's lock in Redis
  (``SET NX PX``, released by a compare-and-delete script), reads the guild again from
  the database, plans on that fresh state, commits, then releases. Two nodes changing one
  guild at once are put in order; the second one decides on what the first committed. What
  no lock orders (two guilds inviting one player, two guilds founded with one name, one
  player joining two guilds) the database's unique constraints decide, and the loser is
  refused with the rule's own code after its book is read again.
- **Store first, then announce.** After the commit, the node publishes the ids of the
  guilds it changed on the bus topic ``guild``; every other node reads those guilds again
  from the database (it never trusts the message's content) and tells its own chat who
  left a guild channel. The events to players go through presence from the node that made
  the change.
- **A lost announcement is a full reload.** After the bus's subscription was made again
  (messages may have been lost) the whole book is read again.

Without Redis a change cannot take its lock: it is refused with ``unavailable`` and the
link's ``retry_after`` (reads go on from the book).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from typing import Any

import trio
from coredis.commands.script import Script
from coredis.tokens import PureToken

from tilemud.cluster import ClusterBus, ClusterLink, ClusterUnavailable

log = logging.getLogger("tilemud.guilds")

#: The bus topic of guild changes.
TOPIC = "guild"

#: Delete the lock only if it is still ours (it may have expired and been taken).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: Seconds between two tries of a lock another node holds.
_LOCK_POLL = 0.01


class GuildBusy(Exception):
    """Another node held the guild's lock for longer than the wait."""


class GuildSync:
    """The guilds actor's link to the other nodes (see the module docstring).

    Args:
        cluster: the node's cluster link.
        bus: the node's bus; :meth:`listen` registers on it before the tree starts.
        lock_ttl: seconds a lock lives if its holder dies before releasing it (longer
            than a change takes: a database round trip bounded by its statement timeout).
        lock_wait: seconds a change waits for a lock another node holds, then gives up.
    """

    def __init__(
        self,
        cluster: ClusterLink,
        bus: ClusterBus,
        *,
        lock_ttl: float = 10.0,
        lock_wait: float = 2.0,
    ) -> None:
        self._cluster = cluster
        self._bus = bus
        self._lock_ttl_ms = round(lock_ttl * 1000)
        self._lock_wait = lock_wait
        self._release: Script[str] = Script(script=_RELEASE)

    @property
    def retry_after(self) -> float:
        """What a change refused for want of Redis tells the client."""
        try:
            return self._cluster.link.retry_after
        except ClusterUnavailable as exc:
            return exc.retry_after

    def listen(
        self,
        on_changed: Callable[[tuple[str, ...]], None],
        on_lost: Callable[[], None],
    ) -> None:
        """Call ``on_changed(guild_ids)`` when another node changed guilds, ``on_lost()``
        when announcements may have been lost. Both run in the bus's task: they must not
        block."""
        node_id = self._bus.node_id

        def heard(origin: str, message: dict[str, Any]) -> None:
            if origin == node_id:
                return
            ids = message.get("guilds")
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                log.warning("guild announcement ignored", extra={"from": origin})
                return
            on_changed(tuple(ids))

        self._bus.on(TOPIC, heard)
        self._bus.on_reconnect(on_lost)

    @asynccontextmanager
    async def changing(self, guild_id: str) -> AsyncIterator[None]:
        """Hold the guild's lock for the block.

        Raises:
            ClusterUnavailable: Redis did not answer.
            GuildBusy: another node held it for longer than ``lock_wait``.
        """
        link = self._cluster.link
        key = link.key("guild-lock", guild_id)
        token = f"{link.node_id}:{secrets.token_hex(8)}"
        ttl = self._lock_ttl_ms
        with trio.move_on_after(self._lock_wait) as waiting:
            # Polled, not waited on: the holder is on another node (no event to wait for).
            taken = False
            while not taken:
                taken = bool(
                    await link.run(
                        lambda redis: redis.set(key, token, px=ttl, condition=PureToken.NX)
                    )
                )
                if not taken:
                    await trio.sleep(_LOCK_POLL)
        if waiting.cancelled_caught:
            raise GuildBusy(f"guild {guild_id} is being changed on another node")
        try:
            yield
        finally:
            with trio.move_on_after(self._lock_wait, shield=True):
                with contextlib.suppress(ClusterUnavailable):  # else it expires (lock_ttl)
                    await link.run(
                        lambda redis: self._release(keys=[key], args=[token], client=redis)
                    )

    async def announce(self, guild_ids: Collection[str]) -> None:
        """Tell the other nodes these guilds changed (committed already). A failure is
        logged: the other nodes read everything again when their bus is back."""
        try:
            await self._bus.publish(TOPIC, {"guilds": sorted(guild_ids)})
        except ClusterUnavailable as exc:
            log.warning("guild change not announced", extra={"why": str(exc)})
