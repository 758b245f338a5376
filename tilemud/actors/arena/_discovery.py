"""Discovery: which node a player should connect to, for a mode and region or an arena.

One node alone (no ``redis.url``): always this node (an ``arena_id`` it does not run is
not found). In a cluster: the node that owns ``arena_id`` (its card lists it), or, for a
mode and region, the node :func:`~tilemud.cluster.nodes.choose_node` picks over every
node's card, this node's own read live from the directory; with Redis unavailable, this
node (it serves what it can, docs/operations.md "Running a cluster").
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import trio

from tilemud.actors.arena._directory import ArenaListing, DirectoryMessage, ListArenas
from tilemud.actors.arena._shards import ClusterShards
from tilemud.cluster.link import ClusterUnavailable
from tilemud.cluster.nodes import NodeCard, choose_node
from tilemud.mailbox import Ref

#: Seconds discovery waits for the directory's listing.
_LISTING_TIMEOUT = 5.0


@attrs.frozen(kw_only=True)
class Route:
    """Where to connect: a node, and the arena it runs for the player if one is known."""

    node_id: str
    ws_url: str
    http_url: str
    arena_id: str | None
    draining: bool


class Discovery:
    """Answers ``GET /v1/discovery`` (see the module's docstring).

    Args:
        directory: the arena directory.
        shards: the cluster's shard directory; None for one node alone.
        addresses: this node's public (ws URL, HTTP URL), None until bound.
        node_id: this node's name.
    """

    def __init__(
        self,
        directory: Ref[DirectoryMessage],
        shards: ClusterShards | None,
        addresses: Callable[[], tuple[str, str] | None],
        node_id: str,
    ) -> None:
        self._directory = directory
        self._shards = shards
        self._addresses = addresses
        self._node_id = node_id

    async def find(
        self, *, mode: str | None = None, region: str | None = None, arena_id: str | None = None
    ) -> Route | None:
        """Where to play ``arena_id``, or a game of ``mode`` in ``region``.

        Returns:
            None when no node can take it (unknown arena; every node draining or full).
        """
        with trio.fail_after(_LISTING_TIMEOUT):
            listing: tuple[ArenaListing, ...] = await self._directory.ask(
                lambda reply: ListArenas(reply=reply)
            )
        shards = self._shards
        mine = self._own_card(listing)
        if mine is None:
            return None
        cards = [mine]
        if shards is not None:
            try:
                others = await shards.cluster_cards()
            except ClusterUnavailable:
                others = []
            cards += [card for card in others if card.node_id != mine.node_id]
        if arena_id is not None:
            for card in cards:
                if any(line.arena_id == arena_id for line in card.arenas):
                    return _route(card, arena_id)
            return None
        assert mode is not None
        assert region is not None
        choice = choose_node(cards, mode, region)
        if choice is None:
            return None
        return _route(choice.node, choice.arena_id)

    def _own_card(self, listing: tuple[ArenaListing, ...]) -> NodeCard | None:
        if self._shards is not None:
            return self._shards.card(listing)
        addresses = self._addresses()
        if addresses is None:
            return None
        # One node alone takes everyone: the choice over one card, never "full".
        return ClusterShards.card_of(
            self._node_id, addresses, listing, capacity=len(listing) + 1, draining=False
        )


def _route(card: NodeCard, arena_id: str | None) -> Route:
    return Route(
        node_id=card.node_id,
        ws_url=card.ws_url,
        http_url=card.http_url,
        arena_id=arena_id,
        draining=card.draining,
    )
