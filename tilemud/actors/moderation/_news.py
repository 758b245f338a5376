"""Moderation across a cluster: each act, once stored, told to every node over the bus.

A mute, unmute, ban, unban or kick made on one node (admin API, console, a report's
decision) is stored first (storage is shared: a node that starts or reloads finds it),
then published on the bus topic ``moderation``. Every other node's moderation actor
applies it to its own book at once (``Heard``): a ban closes the player's connection
there (4010 after the ``banned`` frame) and refuses their next ``hello``; a mute refuses
their next ``chat_send`` there.

The bus is at most once, so a node also reloads every sanction from storage when its
subscription was made again (``Resync``: it may have missed acts meanwhile), and a node
whose announcement the bus did not take (Redis went down between the store and the
publish) tells every node to reload once the bus is back. A moderator's act needs the
cluster: while this node cannot reach Redis it is refused (``unavailable`` with
``retry_after``) before anything is stored.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from tilemud.actors.moderation._orders import (
    Act,
    Heard,
    ModerationMessage,
    ModerationRefused,
    Resync,
)
from tilemud.cluster.bus import ClusterBus
from tilemud.cluster.link import ClusterLink, ClusterUnavailable
from tilemud.errors import ActorGone
from tilemud.mailbox import Ref
from tilemud.protocol import ErrorCode

log = logging.getLogger("tilemud.moderation")

TOPIC = "moderation"

_ACTS: dict[str, Act] = {
    "mute": "mute",
    "unmute": "unmute",
    "ban": "ban",
    "unban": "unban",
    "kick": "kick",
    "reload": "reload",
}


class SanctionNews:
    """The moderation actor's door to the other nodes; see the module docstring.

    Args:
        cluster: the node's cluster link.
        bus: the node's bus (its topic is registered here, before it runs).
    """

    def __init__(self, cluster: ClusterLink, bus: ClusterBus) -> None:
        self._cluster = cluster
        self._bus = bus
        self._inbox: Ref[ModerationMessage] | None = None
        #: Whether an act was stored here but not announced (tell every node to reload).
        self.unannounced = False
        #: Messages heard that were not what this room sends (logged, ignored).
        self.garbage = 0
        bus.on(TOPIC, self._heard)
        bus.on_reconnect(self._resubscribed)

    def deliver_to(self, inbox: Ref[ModerationMessage]) -> None:
        """Hand what is heard to the moderation actor's mailbox."""
        self._inbox = inbox

    async def check_reachable(self) -> None:
        """Refuse an act while Redis is unreachable from here (nothing is stored then).

        Raises:
            ModerationRefused: ``unavailable``, with the ``retry_after`` a client is told.
        """
        try:
            link = self._cluster.link
            await link.run(lambda redis: redis.ping())
        except ClusterUnavailable as exc:
            raise ModerationRefused(
                "the cluster cannot be reached: the act would not reach every node",
                code=ErrorCode.UNAVAILABLE,
                retry_after=exc.retry_after,
            ) from exc

    async def announce(self, act: str, player_id: str, reason: str, until: float | None) -> None:
        """Tell every other node of an act this node stored; never raises."""
        try:
            await self._bus.publish(TOPIC, {"a": act, "p": player_id, "r": reason, "u": until})
        except ClusterUnavailable:
            # Stored but not told: every node reloads from storage once the bus is back.
            self.unannounced = True
            log.warning("moderation act not announced", extra={"player_id": player_id})

    async def announce_reload(self) -> None:
        """Tell every node to reload from storage, if an act went unannounced here."""
        if not self.unannounced:
            return
        self.unannounced = False
        await self.announce("reload", "", "", None)

    def _heard(self, origin: str, message: dict[str, Any]) -> None:
        if origin == self._bus.node_id:
            return  # applied here already, by the actor that stored it
        heard = _parse(message)
        if heard is None:
            self.garbage += 1
            log.warning("bus message ignored", extra={"topic": TOPIC, "origin": origin})
            return
        self._offer(Resync() if heard.act == "reload" else heard)

    def _resubscribed(self) -> None:
        self._offer(Resync())

    def _offer(self, message: Heard | Resync) -> None:
        if self._inbox is None:
            return
        taken = False
        with contextlib.suppress(ActorGone):
            taken = self._inbox.try_send(message)
        if not taken and isinstance(message, Heard):
            # A full mailbox: load everything again instead (the act is stored).
            with contextlib.suppress(ActorGone):
                self._inbox.try_send(Resync())


def _parse(message: dict[str, Any]) -> Heard | None:
    """The act in a bus message, or None when it is not one this room sends."""
    act, player_id, reason, until = (message.get(k) for k in ("a", "p", "r", "u"))
    known = _ACTS.get(act) if isinstance(act, str) else None
    if known is None or not isinstance(player_id, str) or not isinstance(reason, str):
        return None
    if until is not None and (isinstance(until, bool) or not isinstance(until, (int, float))):
        return None
    return Heard(
        act=known,
        player_id=player_id,
        reason=reason,
        until=None if until is None else float(until),
    )
