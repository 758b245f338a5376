"""The cluster bus: messages from one node to every node, over Redis pub/sub.

Rooms that act across nodes (chat, direct messages, guilds, parties, moderation) name a
*topic* (``"chat"``, ``"guild"`` …), register a handler for it before the tree starts, and
publish small JSON objects to it. Every node subscribed to a topic, the publisher
included, gets each message once, in the order one publisher sent them, with the name of
the node it came from (so a room that already acted locally can skip its own).

What the bus does not promise, and why that is enough: Redis pub/sub delivers to the
nodes connected at that moment, at most once. A message published while a node's
subscription is down (a Redis outage, the few milliseconds of a reconnect) does not reach
that node. So nothing that must not be lost travels only on the bus: a direct message is
stored before it is announced, a membership change is in the database before its
invalidation is published; the bus says "look again", storage says what is true.
:attr:`ClusterBus.reconnects` counts the subscription's restarts, so a room can resync
what it caches after one (a restart may have lost messages).

Handlers run in the bus's task and must not block: they hand the message to an actor's
mailbox (``send_nowait``) or update a small in-memory table. A handler that raises is
logged with its topic and does not stop the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import trio

from tilemud.cluster.link import UNREACHABLE, ClusterLink, ClusterUnavailable
from tilemud.supervisors import ChildContext

log = logging.getLogger(__name__)

#: A topic's handler: (the node the message came from, the message).
Handler = Callable[[str, dict[str, Any]], None]

#: Seconds between two attempts to subscribe again while Redis is unavailable (doubling).
_RETRY_FIRST = 0.1
_RETRY_MAX = 2.0


class ClusterBus:
    """Publish to every node; receive from every node. One subscription per node.

    Args:
        cluster: the node's cluster link (the bus runs after it in the tree).
    """

    def __init__(self, cluster: ClusterLink) -> None:
        self._cluster = cluster
        self._handlers: dict[str, list[Handler]] = {}
        self._listening = False
        #: Times the subscription was made again after it failed (messages may be lost).
        self.reconnects = 0
        self._on_reconnect: list[Callable[[], None]] = []

    @property
    def node_id(self) -> str:
        """This node's name: the ``origin`` its own messages arrive with."""
        return self._cluster.node_id

    def on(self, topic: str, handler: Handler) -> None:
        """Call ``handler`` for every message of ``topic`` (register before the bus runs).

        Raises:
            RuntimeError: the bus is already listening.
        """
        if self._listening:
            raise RuntimeError("register the bus's handlers before it runs")
        self._handlers.setdefault(topic, []).append(handler)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after the subscription was made again (messages may be lost)."""
        self._on_reconnect.append(callback)

    async def publish(self, topic: str, message: Mapping[str, Any]) -> int:
        """Send ``message`` to every node listening to ``topic``; how many nodes got it.

        Raises:
            ClusterUnavailable: Redis did not take it (nobody got it).
        """
        link = self._cluster.link
        body = orjson.dumps({"o": link.node_id, "m": message}).decode()
        channel = link.key("bus", topic)
        return await link.run(lambda redis: redis.publish(channel, body))

    async def run(self, ctx: ChildContext) -> None:
        """Listen until the stop; after a failure, subscribe again (with a backoff)."""
        self._listening = True
        delay = _RETRY_FIRST
        started = False
        while not ctx.stopping.is_set():
            try:
                link = self._cluster.link
                channels = {link.key("bus", topic): topic for topic in self._handlers}
                if not channels:
                    if not started:
                        ctx.started()
                    await ctx.stopping.wait()
                    return
                # No retries inside coredis: a lost subscription must end here, so that it
                # is counted and the rooms are told that messages may have been lost.
                subscribing = link.client.pubsub(channels=list(channels), retry_policy=None)
                async with subscribing as subscription:
                    if started:
                        self._reconnected()
                    else:
                        started = True
                        ctx.started()
                    delay = _RETRY_FIRST
                    with trio.CancelScope() as listening:
                        stop_watch = _cancel_on(ctx.stopping, listening)
                        async with trio.open_nursery() as nursery:
                            nursery.start_soon(stop_watch)
                            async for message in subscription:
                                if message["type"] == "message":
                                    self._deliver(channels.get(str(message["channel"])), message)
                            nursery.cancel_scope.cancel()
            except ClusterUnavailable:
                pass
            except BaseExceptionGroup as group:
                if not _unreachable_only(group):
                    raise
            except UNREACHABLE as exc:
                log.debug("bus subscription lost", extra={"why": str(exc)})
            if ctx.stopping.is_set():
                return
            if not started:
                # The first subscription failed: report started all the same, so the tree
                # goes on; the node works on, degraded, until Redis is back.
                started = True
                ctx.started()
            await trio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)

    def _reconnected(self) -> None:
        self.reconnects += 1
        log.warning("bus subscribed again", extra={"reconnects": self.reconnects})
        for callback in self._on_reconnect:
            callback()

    def _deliver(self, topic: str | None, message: Mapping[str, Any]) -> None:
        if topic is None:
            return
        try:
            envelope = orjson.loads(message["data"])
            origin, body = envelope["o"], envelope["m"]
            if not isinstance(origin, str) or not isinstance(body, dict):
                raise TypeError("not a bus envelope")
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            log.warning("bus message ignored", extra={"topic": topic, "why": str(exc)})
            return
        for handler in self._handlers.get(topic, ()):
            try:
                handler(origin, body)
            except Exception:
                log.exception("bus handler failed", extra={"topic": topic})


def _cancel_on(event: trio.Event, scope: trio.CancelScope) -> Callable[[], Any]:
    async def watch() -> None:
        await event.wait()
        scope.cancel()

    return watch


def _unreachable_only(group: BaseExceptionGroup[BaseException]) -> bool:
    """Whether every exception in ``group`` says Redis could not be reached."""
    kinds: tuple[type[BaseException], ...] = (ClusterUnavailable, *UNREACHABLE)
    rest = group.split(kinds)[1]
    return rest is None
