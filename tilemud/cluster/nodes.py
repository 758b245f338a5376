"""The cluster's nodes and its shard directory: one card per live node in Redis.

Each node publishes its :class:`NodeCard` at every heartbeat (and when its arenas change)
as ``<prefix>:node:<node_id>``, a JSON string that expires after ``cluster.node_ttl``, and
names itself in the set ``<prefix>:nodes``. The card says where players and HTTP clients
reach the node, its load, whether it is draining, and its arenas by mode and region with
their load: the union of the live cards *is* the shard directory, and a dead node's part
of it vanishes with its card. Readers drop the names whose card expired from the set.

:func:`choose_node` is matchmaking over the whole cluster, Mode -> Region -> Load: the
least-loaded arena of that mode and region with a free seat, wherever it runs; when none
has one, the node (not draining) that runs the fewest arenas opens a new one.
"""

from __future__ import annotations

from typing import Final

import attrs
import cattrs
import orjson

from tilemud.cluster.link import RedisLink

_converter = cattrs.Converter(forbid_extra_keys=True)

# KEYS: the card, the set of names; ARGV: the card's JSON, its ttl in ms, the node id.
_PUBLISH: Final = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""
_WITHDRAW: Final = """
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""


@attrs.frozen(kw_only=True)
class ShardLine:
    """One arena in the shard directory."""

    arena_id: str
    mode: str
    region: str
    players: int
    capacity: int


@attrs.frozen(kw_only=True)
class NodeCard:
    """What a node tells the cluster about itself."""

    node_id: str
    #: Where players reach it (``ws://host:port/v1/ws``).
    ws_url: str
    #: The base URL of its HTTP API.
    http_url: str
    players: int
    arenas: tuple[ShardLine, ...] = ()
    #: How many arenas it may run (``world.max_arenas``).
    capacity: int
    draining: bool = False

    def to_json(self) -> str:
        return orjson.dumps(_converter.unstructure(self)).decode()

    @staticmethod
    def from_json(text: str) -> NodeCard:
        return _converter.structure(orjson.loads(text), NodeCard)


@attrs.frozen(kw_only=True)
class Choice:
    """Where a player of a mode and region should play: ``node``, in ``arena_id`` (None:
    the node opens a new arena)."""

    node: NodeCard
    arena_id: str | None


def choose_node(cards: list[NodeCard], mode: str, region: str) -> Choice | None:
    """Mode -> Region -> Load over the cluster (see the module's docstring).

    Returns:
        None when every node is draining or full.
    """
    open_nodes = [card for card in cards if not card.draining]
    seats = [
        (line.players, line.arena_id, card)
        for card in open_nodes
        for line in card.arenas
        if line.mode == mode and line.region == region and line.players < line.capacity
    ]
    if seats:
        _, arena_id, card = min(seats, key=lambda seat: (seat[0], seat[1]))
        return Choice(node=card, arena_id=arena_id)
    room = [card for card in open_nodes if len(card.arenas) < card.capacity]
    if not room:
        return None
    card = min(room, key=lambda c: (len(c.arenas), c.players, c.node_id))
    return Choice(node=card, arena_id=None)


class NodeBoard:
    """Publishes this node's card and reads everyone's.

    Args:
        ttl: how long a card lives without a new heartbeat (``cluster.node_ttl``).
    """

    def __init__(self, *, ttl: float) -> None:
        self._ttl_ms = max(1, round(ttl * 1000))

    async def publish(self, link: RedisLink, card: NodeCard) -> None:
        """Put this node's card up for one ``ttl``.

        Raises:
            ClusterUnavailable: Redis did not answer.
        """
        key = link.key("node", card.node_id)
        body = card.to_json()

        await link.run(
            lambda redis: redis.eval(
                _PUBLISH, keys=[key, link.key("nodes")], args=[body, self._ttl_ms, card.node_id]
            )
        )

    async def withdraw(self, link: RedisLink, node_id: str) -> None:
        """Take this node's card down (a drained or stopping node).

        Raises:
            ClusterUnavailable: Redis did not answer; the card then expires by itself.
        """
        key = link.key("node", node_id)

        await link.run(
            lambda redis: redis.eval(_WITHDRAW, keys=[key, link.key("nodes")], args=[node_id])
        )

    async def cards(self, link: RedisLink) -> list[NodeCard]:
        """Every live node's card (the whole shard directory).

        Raises:
            ClusterUnavailable: Redis did not answer.
        """
        names = sorted(await link.run(lambda redis: redis.smembers(link.key("nodes"))))
        if not names:
            return []
        bodies = await link.run(lambda redis: redis.mget([link.key("node", n) for n in names]))
        gone = [name for name, body in zip(names, bodies, strict=True) if body is None]
        if gone:
            await link.run(lambda redis: redis.srem(link.key("nodes"), gone))
        return [NodeCard.from_json(body) for body in bodies if body is not None]
