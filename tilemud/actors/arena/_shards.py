"""This node's door to the cluster's shard directory: leases and routing.

:class:`ClusterShards` is what the arena directory asks when ``redis.url`` is set: take or
give back an arena's lease, and where a player of a mode and region should play
(:func:`~tilemud.cluster.nodes.choose_node` over every node's card, this node's own part
read live from the directory). Its heartbeat is :mod:`tilemud.actors.arena._shard_keeper`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import trio

from tilemud.cluster.leases import ArenaLeases
from tilemud.cluster.link import ClusterUnavailable, RedisLink
from tilemud.cluster.nodes import NodeBoard, NodeCard, ShardLine, choose_node
from tilemud.config import ClusterSettings

if TYPE_CHECKING:
    from tilemud.actors.arena._directory import ArenaListing

log = logging.getLogger("tilemud.shards")


class LinkHolder(Protocol):
    """Whoever holds the node's Redis link (:class:`~tilemud.cluster.ClusterLink`)."""

    node_id: str

    @property
    def link(self) -> RedisLink:
        """The open link (raises ClusterUnavailable when it is not open)."""
        ...


class NoRoom(Exception):
    """No node of the cluster can take the player (all draining or full)."""


class ClusterShards:
    """The arena directory's door to the cluster (see the module's docstring).

    Args:
        cluster: the node's cluster link.
        settings: the ``[cluster]`` settings.
        capacity: how many arenas this node may run (``world.max_arenas``).
        addresses: this node's public (ws URL, HTTP URL), None until both are bound.
    """

    def __init__(
        self,
        cluster: LinkHolder,
        settings: ClusterSettings,
        *,
        capacity: int,
        addresses: Callable[[], tuple[str, str] | None],
    ) -> None:
        self.cluster = cluster
        self.settings = settings
        self.capacity = capacity
        self.addresses = addresses
        self.leases = ArenaLeases(ttl=settings.node_ttl)
        self.board = NodeBoard(ttl=settings.node_ttl)
        #: Set by a drain: no new arena, no adoption, players sent elsewhere.
        self.draining = False
        self.poked = trio.Event()

    @property
    def node_id(self) -> str:
        return self.cluster.node_id

    def poke(self) -> None:
        """The directory changed (an arena, a seat): publish the card soon."""
        self.poked.set()

    async def claim(self, arena_id: str) -> bool:
        """Take ``arena_id``'s lease (raises ClusterUnavailable)."""
        return await self.leases.claim(self.cluster.link, arena_id, now=trio.current_time())

    async def release(self, arena_id: str) -> None:
        """Give ``arena_id``'s lease back; if Redis does not answer it expires by itself."""
        try:
            await self.leases.release(self.cluster.link, arena_id)
        except ClusterUnavailable as exc:
            log.warning("lease not released: %s", exc, extra={"arena_id": arena_id})

    def card(self, listing: Sequence[ArenaListing]) -> NodeCard | None:
        """This node's card from the directory's listing (None before it is reachable)."""
        addresses = self.addresses()
        if addresses is None:
            return None
        return self.card_of(
            self.node_id, addresses, listing, capacity=self.capacity, draining=self.draining
        )

    @staticmethod
    def card_of(
        node_id: str,
        addresses: tuple[str, str],
        listing: Sequence[ArenaListing],
        *,
        capacity: int,
        draining: bool,
    ) -> NodeCard:
        """A node's card: its addresses, its directory's listing, its state."""
        ws_url, http_url = addresses
        return NodeCard(
            node_id=node_id,
            ws_url=ws_url,
            http_url=http_url,
            players=sum(entry.players for entry in listing),
            arenas=tuple(
                ShardLine(
                    arena_id=entry.arena_id,
                    mode=entry.mode,
                    region=entry.region,
                    players=entry.players,
                    capacity=entry.capacity,
                )
                for entry in listing
            ),
            capacity=capacity,
            draining=draining,
        )

    async def route(
        self, mode: str, region: str, listing: Sequence[ArenaListing]
    ) -> NodeCard | None:
        """Where a player of ``mode`` and ``region`` should play: another node's card, or
        None for here. Redis unavailable: here (the node keeps serving what it can).

        Raises:
            NoRoom: this node is draining and no other node can take the player.
        """
        try:
            cards = await self.cluster_cards()
        except ClusterUnavailable:
            if self.draining:
                raise NoRoom("this node is draining and the cluster cannot be asked") from None
            return None
        mine = self.card(listing)
        others = [card for card in cards if card.node_id != self.node_id]
        choice = choose_node(others if mine is None else [*others, mine], mode, region)
        if choice is None:
            if self.draining:
                raise NoRoom("this node is draining and no other node has room")
            return None
        if choice.node.node_id == self.node_id:
            return None
        return choice.node

    async def cluster_cards(self) -> list[NodeCard]:
        """Every live node's card (raises ClusterUnavailable)."""
        return await self.board.cards(self.cluster.link)
