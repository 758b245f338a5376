"""Chat relay actor: channel messages and direct messages between the nodes of a cluster.

Owns:
    the channel messages posted on this node and not yet on the bus (its mailbox), and the
    direct messages stored here whose announcement the bus did not take (kept, bounded,
    and announced again when Redis answers).
Started by:
    the chat supervisor, when the node is in a cluster (``redis.url`` set), as child
    ``relay`` after the directory and the courier. Restart type ``permanent``.
Takes:
    from channels, :meth:`ChatRelay.offer` (never blocks; False when its mailbox is full,
    and the channel then delivers on this node only); from the DM path,
    :meth:`ChatRelay.announce_direct` (never blocks).
Sends:
    every channel message (global, region, guild, party; arena channels stay with their
    arena's node) to the bus topic ``chat``; every node, this one included, hands what it
    hears to its chat directory (``Relayed``), whose channel puts it on its own
    subscribers' streams. Redis orders the publishes of all nodes, so each channel's
    messages reach every node in one order. A direct message's record goes to the topic
    ``dm``; the node that holds its recipient's session hands it to its courier, which
    puts it on the stream once per session (a repeat is dropped there).
While Redis is down:
    a channel message is delivered on this node only (``Relayed`` to the local directory;
    stored as always, so every node's history has it); a direct message is stored and
    answered, and announced once Redis answers again, or delivered at the recipient's
    next connect, whichever comes first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

import trio

from tilemud.actors.chat._courier import Deliver, DirectCourier, DmSink
from tilemud.actors.chat._directory import DirectoryMessage, Relayed
from tilemud.cluster.bus import ClusterBus
from tilemud.cluster.link import ClusterUnavailable
from tilemud.errors import ActorGone
from tilemud.mailbox import Ref
from tilemud.storage import ChatMessageRecord, DirectMessageRecord
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.chat")

CHAT_TOPIC = "chat"
DM_TOPIC = "dm"
#: Direct messages kept for a later announcement at most (beyond: next connect).
MAX_UNANNOUNCED = 10_000
#: Seconds between two attempts to announce what the bus did not take.
ANNOUNCE_RETRY = 1.0
_CHANNEL_TYPES = frozenset({"global", "region", "guild", "party"})


class LocalSessions(Protocol):
    """This node's sessions (the session room's registry)."""

    def find(self, player_id: str) -> DmSink | None:
        """The player's session here, or None."""
        ...

    def players(self) -> list[str]:
        """The players with a session here."""
        ...


class ChatRelay:
    """The chat relay; see the module docstring.

    Args:
        bus: the node's cluster bus (the topics are registered here, before it runs).
        directory: the chat directory's mailbox (what the bus brings goes there).
        courier: the direct message courier.
        sessions: this node's sessions.
        mailbox_size: the capacity of the queue of channel messages to publish.
    """

    def __init__(
        self,
        bus: ClusterBus,
        directory: Ref[DirectoryMessage],
        courier: DirectCourier,
        sessions: LocalSessions,
        *,
        mailbox_size: int,
    ) -> None:
        self._bus = bus
        self._directory = directory
        self._courier = courier
        self._sessions = sessions
        self._to_publish, self._publishing = trio.open_memory_channel[ChatMessageRecord](
            mailbox_size
        )
        self._unannounced: dict[str, DirectMessageRecord] = {}
        self._announce_wake = trio.Event()
        #: Messages heard on the bus that were not what this room sends (logged, ignored).
        self.garbage = 0
        #: Channel messages heard that the directory could not take (its mailbox was full).
        self.dropped = 0
        #: Channel messages delivered on this node only (the bus did not take them).
        self.local_only = 0
        bus.on(CHAT_TOPIC, self._heard_chat)
        bus.on(DM_TOPIC, self._heard_direct)
        bus.on_reconnect(self._resubscribed)

    # -- the channels' and the DM path's side (never blocking) ------------------------------

    @staticmethod
    def crosses_nodes(channel_type: str) -> bool:
        """Whether a channel of this type is shared by every node (arena channels are not)."""
        return channel_type in _CHANNEL_TYPES

    def offer(self, record: ChatMessageRecord) -> bool:
        """Queue a channel message for every node; False when the queue is full."""
        try:
            self._to_publish.send_nowait(record)
        except (trio.WouldBlock, trio.ClosedResourceError):
            return False
        return True

    def announce_direct(self, record: DirectMessageRecord) -> None:
        """A direct message was stored: tell the node that holds its recipient."""
        if len(self._unannounced) >= MAX_UNANNOUNCED:
            log.warning("direct message not announced (comes at next connect)")
            return
        self._unannounced[record.message_id] = record
        self._announce_wake.set()

    # -- the child ---------------------------------------------------------------------------

    async def run(self, ctx: ChildContext) -> None:
        """Publish until cancelled (the child's entry point)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._announce_all)
            ctx.started()
            async for record in self._publishing:
                await self._publish_chat(record)

    async def _publish_chat(self, record: ChatMessageRecord) -> None:
        try:
            await self._bus.publish(CHAT_TOPIC, _chat_to_wire(record))
        except ClusterUnavailable:
            # Degraded: this node's readers get it; it is stored for every node's history.
            self.local_only += 1
            with contextlib.suppress(ActorGone):
                await self._directory.send(Relayed(record=record))

    async def _announce_all(self) -> None:
        while True:
            await self._announce_wake.wait()
            self._announce_wake = trio.Event()
            for message_id, record in list(self._unannounced.items()):
                try:
                    await self._bus.publish(DM_TOPIC, _direct_to_wire(record))
                except ClusterUnavailable:
                    # Kept: announced again after a pause, or when the bus is back.
                    await trio.sleep(ANNOUNCE_RETRY)
                    self._announce_wake.set()
                    break
                self._unannounced.pop(message_id, None)

    # -- bus handlers (the bus's task: never block) ------------------------------------------

    def _heard_chat(self, origin: str, message: dict[str, Any]) -> None:
        record = _chat_from_wire(message)
        if record is None:
            self._garbage(CHAT_TOPIC, origin)
            return
        try:
            taken = self._directory.try_send(Relayed(record=record))
        except ActorGone:
            taken = False
        if not taken:
            self.dropped += 1

    def _heard_direct(self, origin: str, message: dict[str, Any]) -> None:
        record = _direct_from_wire(message)
        if record is None:
            self._garbage(DM_TOPIC, origin)
            return
        if self._sessions.find(record.recipient_id) is None:
            return  # not here: its node delivers it, or the recipient's next connect does
        with contextlib.suppress(ActorGone):
            # A full courier: it comes with the recipient's next session (it is stored).
            self._courier.ref.try_send(Deliver(record=record))

    def _resubscribed(self) -> None:
        # Announcements may have been lost while the subscription was down: every
        # session here looks up its stored messages again (each is put once per session).
        for player_id in self._sessions.players():
            session = self._sessions.find(player_id)
            if session is not None:
                self._courier.session_started(session)
        self._announce_wake.set()

    def _garbage(self, topic: str, origin: str) -> None:
        self.garbage += 1
        log.warning("bus message ignored", extra={"topic": topic, "origin": origin})


def _chat_to_wire(record: ChatMessageRecord) -> dict[str, Any]:
    return {
        "id": record.message_id,
        "ch": record.channel,
        "ct": record.channel_type,
        "s": record.sender_id,
        "sn": record.sender_name,
        "t": record.text,
        "at": record.sent_at.timestamp(),
    }


def _direct_to_wire(record: DirectMessageRecord) -> dict[str, Any]:
    return {
        "id": record.message_id,
        "s": record.sender_id,
        "sn": record.sender_name,
        "r": record.recipient_id,
        "t": record.text,
        "at": record.sent_at.timestamp(),
    }


def _strings(message: dict[str, Any], *keys: str) -> list[str] | None:
    values = [message.get(key) for key in keys]
    if not all(isinstance(value, str) for value in values):
        return None
    return [str(value) for value in values]


def _moment(message: dict[str, Any]) -> dt.datetime | None:
    at = message.get("at")
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        return None
    try:
        return dt.datetime.fromtimestamp(at, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _chat_from_wire(message: dict[str, Any]) -> ChatMessageRecord | None:
    parts, sent_at = _strings(message, "id", "ch", "ct", "s", "sn", "t"), _moment(message)
    if parts is None or sent_at is None or parts[2] not in _CHANNEL_TYPES:
        return None
    message_id, channel, channel_type, sender_id, sender_name, text = parts
    return ChatMessageRecord(
        message_id=message_id,
        channel=channel,
        channel_type=channel_type,
        sender_id=sender_id,
        sender_name=sender_name,
        text=text,
        sent_at=sent_at,
    )


def _direct_from_wire(message: dict[str, Any]) -> DirectMessageRecord | None:
    parts, sent_at = _strings(message, "id", "s", "sn", "r", "t"), _moment(message)
    if parts is None or sent_at is None:
        return None
    message_id, sender_id, sender_name, recipient_id, text = parts
    return DirectMessageRecord(
        message_id=message_id,
        sender_id=sender_id,
        sender_name=sender_name,
        recipient_id=recipient_id,
        text=text,
        sent_at=sent_at,
    )


#: What a channel is handed: queue a record for every node (False: deliver here only).
Offer = Callable[[ChatMessageRecord], bool]
