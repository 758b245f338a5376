"""Cluster presence: which node each connected player is on, and a door to them anywhere.

Each node keeps its own players in its :class:`~tilemud.actors.session.PresenceRegistry`
(the session keeper writes it). :class:`ClusterPresence` watches that registry and keeps
one key per player in Redis, ``presence:<player>`` = ``"<node> <epoch>"``, written when the
player's session begins, deleted when it ends, and refreshed every
``cluster.heartbeat_interval`` with a time to live of ``cluster.node_ttl``: the players of
a node that died (``kill -9``, a cut cable) vanish within ``node_ttl``.

Rooms see it as the registry's ``Presence``: :meth:`ClusterPresence.find` is this node's
session only (a stream position cannot travel), and :meth:`ClusterPresence.publish_to`
puts a body on the player's stream here, or else forwards it over the bus to the node
that holds the player (``to.<node>``), which puts it on the stream there. The forward is
at most once, like the stream tier it feeds: a body for a player online nowhere, or sent
while Redis is down, is dropped and counted (what must not be lost is stored first).

A player connected to two nodes: the later arrival wins. Each arrival takes a number from
``presence-epoch:<player>`` (``INCR``, so Redis orders two arrivals that race) and
announces it on the ``presence`` topic; a node holding an older session of that player
closes its connection with 4009 (replaced) and stops delivering to it. The refresh finds
the same after an outage (the key names another node), so two sessions never both
receive a player's messages for longer than one heartbeat.

Redis down: the node's own players are served as before (their keys come back with the
next refresh that works); forwards and :meth:`ClusterPresence.locate` fail or are
dropped; arrivals that could not be written are written when Redis answers again.

Why one module of over 400 lines: the keys, the scripts that keep them and the forwarding
that reads them are one protocol over Redis; split, a change to a key's value would have
to be made in step in two places.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import trio

from tilemud.cluster.bus import ClusterBus
from tilemud.cluster.link import ClusterLink, ClusterUnavailable
from tilemud.config import ClusterSettings
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.cluster.presence")

DoorT = TypeVar("DoorT", covariant=True)

#: The topic every node hears arrivals on.
ARRIVALS = "presence"
#: Bodies forwarded in one bus message at most (one per node and batch).
FORWARD_BATCH = 256
#: Bodies waiting to be forwarded at most; more are dropped (and counted).
FORWARD_QUEUE = 4096
#: Seconds an arrival counter lives after the player's last arrival.
_EPOCH_TTL = 86_400

# KEYS: presence key, epoch key. ARGV: node, ttl (ms), epoch ttl (s). Returns the epoch.
_ARRIVE = """
local epoch = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. epoch, 'PX', ARGV[2])
return epoch
"""
# KEYS: presence key. ARGV: the value this node wrote. Deletes only this node's own.
_DEPART = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# KEYS: presence keys. ARGV: ttl (ms), then the value this node wrote for each key.
# Renews this node's keys, writes again those that expired (an outage), and returns the
# 1-based positions of the keys another node holds now (the player moved).
_REFRESH = """
local moved = {}
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if held == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
  elseif not held then
    redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1])
  else
    table.insert(moved, i)
  end
end
return moved
"""


class LocalPresence(Protocol[DoorT]):
    """This node's players (the session room's ``PresenceRegistry`` is one)."""

    def find(self, player_id: str) -> DoorT | None:
        """The player's session here, or None."""
        ...

    def publish_to(self, player_id: str, body: str) -> bool:
        """Append a stream frame body to the player's stream here; False when not here."""
        ...

    def players(self) -> list[str]:
        """The players with a session here."""
        ...


class HerePresence(Generic[DoorT]):
    """This node's players only, without those whose newer session is on another node:
    what rooms that hold this node's sessions (chat channels, the DM courier) use."""

    def __init__(self, local: LocalPresence[DoorT], moved: set[str]) -> None:
        self._local = local
        self._moved = moved

    def find(self, player_id: str) -> DoorT | None:
        """The player's session here, or None."""
        return None if player_id in self._moved else self._local.find(player_id)

    def publish_to(self, player_id: str, body: str) -> bool:
        """Append a stream frame body to the player's stream here; False when not here."""
        return player_id not in self._moved and self._local.publish_to(player_id, body)

    def players(self) -> list[str]:
        """The players with a session here."""
        return [p for p in self._local.players() if p not in self._moved]


class ClusterPresence(Generic[DoorT]):
    """Presence over the whole cluster; see the module docstring.

    Built by the composition root when ``redis.url`` is set, watching the node's registry
    (``registry.watch(presence)``); it runs as the root's ``presence`` child after the bus.

    Args:
        local: this node's registry.
        cluster: the node's cluster link.
        bus: the node's bus (the topics are registered here, before it runs).
        settings: ``[cluster]`` (``heartbeat_interval``, ``node_ttl``).
        on_moved: closes this node's connection of a player who arrived on another node
            since (4009); never blocks.
    """

    def __init__(
        self,
        local: LocalPresence[DoorT],
        cluster: ClusterLink,
        bus: ClusterBus,
        settings: ClusterSettings,
        *,
        on_moved: Callable[[str], object] = lambda player_id: None,
    ) -> None:
        self._local = local
        self._cluster = cluster
        self._bus = bus
        self._settings = settings
        self._on_moved = on_moved
        self.node_id = cluster.node_id
        #: Players of this node and the value of their key ("<node> <epoch>"); None: the
        #: arrival is not written yet.
        self._held: dict[str, str | None] = {}
        #: Players whose key is to be deleted, with the value this node wrote.
        self._leaving: dict[str, str] = {}
        #: Players here whose newer session is on another node: not delivered to here.
        self._moved: set[str] = set()
        #: This node's players only (chat channels and the DM courier use it).
        self.here = HerePresence(local, self._moved)
        self._wake = trio.Event()
        self._forward_in, self._forward_out = trio.open_memory_channel[tuple[str, str]](
            FORWARD_QUEUE
        )
        #: Bodies handed to another node; bodies dropped (nobody online, Redis down, full).
        self.forwarded = 0
        self.forwards_lost = 0
        #: Bus messages of this room that were not what it sends (logged, ignored).
        self.garbage = 0
        bus.on(ARRIVALS, self._heard_arrival)
        bus.on(self._inbox_topic(self.node_id), self._heard_forward)

    # -- the rooms' side (the ``Presence`` protocol) ----------------------------------------

    def find(self, player_id: str) -> DoorT | None:
        """The player's session on this node, or None (also when it was replaced by a
        newer one on another node)."""
        if player_id in self._moved:
            return None
        return self._local.find(player_id)

    def publish_to(self, player_id: str, body: str) -> bool:
        """Append a stream frame body to the player's stream, on whichever node holds it.

        Never blocks. True when it went on the stream here or was handed to the
        forwarder (which drops it, counted, when the player is online nowhere); False when
        the forwarder's queue is full.
        """
        if player_id not in self._moved and self._local.publish_to(player_id, body):
            return True
        try:
            self._forward_in.send_nowait((player_id, body))
        except trio.WouldBlock:
            self.forwards_lost += 1
            return False
        return True

    async def locate(self, player_id: str) -> str | None:
        """The node the player's session is on, or None when online nowhere.

        Raises:
            ClusterUnavailable: Redis did not answer (this node's own players are still
                found: their node is this one).
        """
        if player_id not in self._moved and self._local.find(player_id) is not None:
            return self.node_id
        link = self._cluster.link
        held = await link.run(lambda redis: redis.get(link.key("presence", player_id)))
        return None if held is None else _node_of(held)

    async def online(self, player_id: str) -> bool:
        """Whether the player has a session on any node (see :meth:`locate`)."""
        return await self.locate(player_id) is not None

    # -- the registry's side (the session keeper's arrivals and departures) -----------------

    def arrived(self, player_id: str) -> None:
        """A session began here: write its key (in the background; never blocks)."""
        self._moved.discard(player_id)
        self._held[player_id] = None
        self._wake.set()

    def departed(self, player_id: str) -> None:
        """The player's session here ended: delete its key (if still this node's)."""
        self._moved.discard(player_id)
        written = self._held.pop(player_id, None)
        if written is not None:
            self._leaving[player_id] = written
            self._wake.set()

    def cleared(self) -> None:
        """Every session here ended (the gateway stopped or started afresh)."""
        for player_id in list(self._held):
            self.departed(player_id)

    # -- the child ---------------------------------------------------------------------------

    async def run(self, ctx: ChildContext) -> None:
        """Keep this node's keys and forward bodies until the stop (the child's entry point)."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._forward_all)
                ctx.started()
                await self._keep_keys(ctx.stopping)
                nursery.cancel_scope.cancel()
        finally:
            # A graceful stop: this node's players vanish now, not after ``node_ttl``.
            with trio.move_on_after(1.0, shield=True):
                self.cleared()
                await self._write_changes(quiet=True)

    async def _keep_keys(self, stopping: trio.Event) -> None:
        interval = self._settings.heartbeat_interval
        next_refresh = trio.current_time()
        while not stopping.is_set():
            with trio.move_on_at(next_refresh):
                await _first_of(self._wake, stopping)
            if stopping.is_set():
                return
            self._wake = trio.Event()
            try:
                await self._write_changes()
                if trio.current_time() >= next_refresh:
                    await self._refresh()
                    next_refresh = trio.current_time() + interval
            except ClusterUnavailable:
                # Degraded: the node's players play on here; their keys come back with the
                # first write that works (tried again within a heartbeat).
                next_refresh = trio.current_time() + min(interval, 1.0)

    async def _write_changes(self, *, quiet: bool = False) -> None:
        link = self._cluster.link
        ttl_ms = _ttl_ms(self._settings.node_ttl)
        for player_id, written in list(self._leaving.items()):
            try:
                await self._eval(_DEPART, [link.key("presence", player_id)], [written])
            except ClusterUnavailable:
                if quiet:
                    return
                raise
            if self._leaving.get(player_id) == written:
                del self._leaving[player_id]
        for player_id in [p for p, written in self._held.items() if written is None]:
            epoch = await self._eval(
                _ARRIVE,
                [link.key("presence", player_id), link.key("presence-epoch", player_id)],
                [self.node_id, ttl_ms, _EPOCH_TTL],
            )
            value = f"{self.node_id} {int(str(epoch))}"
            if player_id not in self._held:
                self._leaving[player_id] = value  # departed meanwhile: deleted next write
                self._wake.set()
                continue
            self._held[player_id] = value
            # Announced after it is written: a node that hears it finds it in Redis too.
            await self._bus.publish(ARRIVALS, {"p": player_id, "v": value})
        for player_id, held in list(self._held.items()):
            if held is not None and player_id in self._leaving:
                del self._leaving[player_id]  # came back before its key was deleted

    async def _refresh(self) -> None:
        held: list[tuple[str, str]] = [(p, v) for p, v in self._held.items() if v is not None]
        if not held:
            return
        link = self._cluster.link
        keys = [link.key("presence", p) for p, _ in held]
        args: list[str | int] = [_ttl_ms(self._settings.node_ttl), *(v for _, v in held)]
        moved = await self._eval(_REFRESH, keys, args)
        for position in moved if isinstance(moved, (list, tuple)) else ():
            player_id = held[int(str(position)) - 1][0]
            self._replaced(player_id, "refresh")

    async def _eval(self, script: str, keys: list[str], args: list[str | int]) -> object:
        """Run one of this module's scripts (atomic in Redis)."""
        return await self._cluster.link.run(lambda redis: redis.eval(script, keys=keys, args=args))

    async def _forward_all(self) -> None:
        async for first in self._forward_out:
            batch = [first]
            while len(batch) < FORWARD_BATCH:
                try:
                    batch.append(self._forward_out.receive_nowait())
                except trio.WouldBlock:
                    break
            try:
                await self._forward(batch)
            except ClusterUnavailable:
                self.forwards_lost += len(batch)
                log.warning("bodies not forwarded: redis unavailable", extra={"n": len(batch)})

    async def _forward(self, batch: list[tuple[str, str]]) -> None:
        link = self._cluster.link
        keys = [link.key("presence", p) for p, _ in batch]
        found = await link.run(lambda redis: redis.mget(keys))
        by_node: dict[str, list[list[str]]] = {}
        for (player_id, body), held in zip(batch, found, strict=True):
            node = None if held is None else _node_of(held)
            if node is None:
                self.forwards_lost += 1
            elif node == self.node_id:
                if not self._local.publish_to(player_id, body):  # arrived here meanwhile
                    self.forwards_lost += 1
            else:
                by_node.setdefault(node, []).append([player_id, body])
        for node, bodies in by_node.items():
            await self._bus.publish(self._inbox_topic(node), {"d": bodies})
            self.forwarded += len(bodies)

    # -- bus handlers (the bus's task: never block) ------------------------------------------

    def _heard_forward(self, origin: str, message: dict[str, Any]) -> None:
        bodies = message.get("d")
        if not isinstance(bodies, list):
            self._garbage("forward", origin)
            return
        for item in bodies:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not all(isinstance(part, str) for part in item)
            ):
                self._garbage("forward", origin)
                continue
            player_id, body = item
            if player_id in self._moved or not self._local.publish_to(player_id, body):
                self.forwards_lost += 1

    def _heard_arrival(self, origin: str, message: dict[str, Any]) -> None:
        player_id, value = message.get("p"), message.get("v")
        if not isinstance(player_id, str) or not isinstance(value, str) or _epoch_of(value) < 0:
            self._garbage(ARRIVALS, origin)
            return
        if origin == self.node_id or _node_of(value) == self.node_id:
            return
        mine = self._held.get(player_id)
        if mine is not None and _epoch_of(mine) < _epoch_of(value):
            self._replaced(player_id, origin)

    def _replaced(self, player_id: str, by: str) -> None:
        if player_id in self._moved or player_id not in self._held:
            return
        self._moved.add(player_id)
        log.info("session replaced on another node", extra={"player_id": player_id, "by": by})
        self._on_moved(player_id)

    def _garbage(self, topic: str, origin: str) -> None:
        self.garbage += 1
        log.warning("bus message ignored", extra={"topic": topic, "origin": origin})

    @staticmethod
    def _inbox_topic(node_id: str) -> str:
        return f"to.{node_id}"


def _node_of(value: str) -> str | None:
    node, _, epoch = value.rpartition(" ")
    return (node or None) if epoch.isdigit() else None


def _epoch_of(value: str) -> int:
    _, _, epoch = value.rpartition(" ")
    return int(epoch) if epoch.isdigit() else -1


def _ttl_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


async def _first_of(*events: trio.Event) -> None:
    async with trio.open_nursery() as nursery:
        for event in events:

            async def wait(event: trio.Event = event) -> None:
                await event.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(wait)
