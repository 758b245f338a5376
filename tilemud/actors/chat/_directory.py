"""Chat directory actor: which channels run, who is in which, and the chat's public client.

Owns:
    the running channels by name (:class:`~tilemud.actors.chat._channel.ChatChannel`), each
    player's channels and block list (for the players in at least one channel), across
    incarnations. A restart forgets the channels the channels supervisor no longer runs.
Started by:
    the chat supervisor (:class:`ChatService` builds it), after the ``channels`` dynamic
    supervisor. Restart type ``permanent``.
Takes (mailbox ``chat_mailbox`` messages, ``BLOCK``: players' chat requests wait when it is
busy; the non-blocking :class:`ChatClient` calls use ``try_send`` and log a full mailbox):
    ``JoinChannel``, ``LeaveChannel``, ``ReadChannel``, ``PostToChannel`` (forwarded to the
    channel, which answers the caller itself), ``BlocksChanged``, ``SessionStarted``,
    ``MemberRemoved``, ``ChannelEnded``, ``ChannelIdle``, ``Relayed`` (a channel message
    from the cluster bus: handed to the channel if it runs here, else nobody here reads it).
Sends:
    the forwarded requests and ``Subscribe``/``Unsubscribe``/``UpdateBlocks``/
    ``CloseChannel`` to channel actors (``send``: a channel's mailbox is ``BLOCK``);
    ``start_child`` to the channels supervisor.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import TypeAlias, assert_never

import attrs

from tilemud.actors.chat._channel import (
    ChannelMessage,
    ChatChannel,
    CloseChannel,
    NotSubscribed,
    Post,
    Posted,
    ReadHistory,
    Spread,
    Subscribe,
    Unsubscribe,
    UpdateBlocks,
)
from tilemud.errors import ActorGone, MailboxFull
from tilemud.mailbox import Mailbox, Overflow, Ref, Reply, open_mailbox
from tilemud.protocol import ChatClosedReason
from tilemud.social.chat_channels import Channel
from tilemud.storage import ChatMessageRecord
from tilemud.supervisors import ChildContext, ChildSpec, DynamicSupervisor, Restart

log = logging.getLogger("tilemud.chat")


@attrs.frozen(kw_only=True)
class JoinChannel:
    """Subscribe a player (access already checked); answered with the history."""

    channel: Channel
    player_id: str
    blocked: frozenset[str]
    reply: Reply[tuple[ChatMessageRecord, ...]]


@attrs.frozen(kw_only=True)
class LeaveChannel:
    """Unsubscribe a player (silently)."""

    channel: str
    player_id: str


@attrs.frozen(kw_only=True)
class ReadChannel:
    """The history of a channel (access already checked)."""

    channel: Channel
    blocked: frozenset[str]
    reply: Reply[tuple[ChatMessageRecord, ...]]


@attrs.frozen(kw_only=True)
class PostToChannel:
    """A player says something in a channel."""

    channel: str
    sender_id: str
    sender_name: str
    text: str
    reply: Reply[Posted | NotSubscribed]


@attrs.frozen(kw_only=True)
class BlocksChanged:
    """A player's block list is now ``blocked``."""

    player_id: str
    blocked: frozenset[str]


@attrs.frozen(kw_only=True)
class SessionStarted:
    """A fresh session of the player began: its older session's subscriptions end."""

    player_id: str


@attrs.frozen(kw_only=True)
class MemberRemoved:
    """A player may no longer read ``channel`` (left or was kicked from the guild ...)."""

    channel: str
    player_id: str


@attrs.frozen(kw_only=True)
class ChannelEnded:
    """A guild or party ended: its channel closes for everyone."""

    channel: str


@attrs.frozen(kw_only=True)
class Relayed:
    """A channel message every node puts on its own readers' streams (the cluster bus
    brought it, or the bus was down and it stays on this node)."""

    record: ChatMessageRecord


@attrs.frozen(kw_only=True)
class ChannelIdle:
    """A channel's last subscriber left, after it took ``subscribes`` subscribes."""

    actor: ChatChannel
    subscribes: int


DirectoryMessage: TypeAlias = (
    JoinChannel
    | LeaveChannel
    | ReadChannel
    | PostToChannel
    | BlocksChanged
    | SessionStarted
    | MemberRemoved
    | ChannelEnded
    | ChannelIdle
    | Relayed
)

#: Builds a channel actor: (channel, child id, idle callback) -> actor.
ChannelFactory: TypeAlias = Callable[
    [Channel, str, Callable[[ChatChannel, int], None]], ChatChannel
]


@attrs.define(kw_only=True, eq=False)
class _Running:
    actor: ChatChannel
    #: Subscribes sent to it, compared with those it handled when it says it is idle.
    subscribes_sent: int = 0


class ChatDirectory:
    """The chat directory; see the module docstring.

    Args:
        channels: the dynamic supervisor the channel actors run under.
        make_channel: builds a channel actor.
        mailbox_size: the mailbox's capacity.
    """

    def __init__(
        self, channels: DynamicSupervisor, make_channel: ChannelFactory, *, mailbox_size: int
    ) -> None:
        self._channels = channels
        self._make_channel = make_channel
        self._mailbox: Mailbox[DirectoryMessage] = open_mailbox(
            "chat", mailbox_size, Overflow.BLOCK
        )
        self._running: dict[str, _Running] = {}
        self._members: dict[str, set[str]] = {}
        self._blocked: dict[str, frozenset[str]] = {}
        self._starts = itertools.count(1)

    @property
    def ref(self) -> Ref[DirectoryMessage]:
        """The directory's mailbox (valid across restarts)."""
        return self._mailbox.ref

    def channel_of(self, name: str) -> ChatChannel | None:
        """The running channel called ``name`` (for tests and metrics)."""
        running = self._running.get(name)
        return None if running is None else running.actor

    async def run(self, ctx: ChildContext) -> None:
        """Serve until cancelled (the child's entry point)."""
        alive = set(self._channels.child_ids())
        for name in [n for n, r in self._running.items() if r.actor.child_id not in alive]:
            self._forget(name)
        ctx.started(self.ref)
        async for message in self._mailbox.inbox:
            await self._handle(message)

    async def _handle(self, message: DirectoryMessage) -> None:
        match message:
            case JoinChannel(channel=channel, player_id=player_id, blocked=blocked):
                running = await self._open(channel)
                running.subscribes_sent += 1
                self._members.setdefault(player_id, set()).add(channel.name)
                self._blocked[player_id] = blocked
                await self._tell(
                    running, Subscribe(player_id=player_id, blocked=blocked, reply=message.reply)
                )
            case LeaveChannel(channel=name, player_id=player_id):
                await self._unsubscribe(name, player_id, None)
            case ReadChannel(channel=channel, blocked=blocked, reply=reply):
                running = await self._open(channel)
                await self._tell(running, ReadHistory(blocked=blocked, reply=reply))
            case PostToChannel(channel=name):
                found = self._running.get(name)
                if found is None:
                    message.reply.send(NotSubscribed())
                    return
                await self._tell(
                    found,
                    Post(
                        sender_id=message.sender_id,
                        sender_name=message.sender_name,
                        text=message.text,
                        reply=message.reply,
                    ),
                )
            case BlocksChanged(player_id=player_id, blocked=blocked):
                if player_id in self._members:
                    self._blocked[player_id] = blocked
                    for name in self._members[player_id]:
                        found = self._running.get(name)
                        if found is not None:
                            await self._tell(
                                found, UpdateBlocks(player_id=player_id, blocked=blocked)
                            )
            case SessionStarted(player_id=player_id):
                for name in list(self._members.get(player_id, ())):
                    await self._unsubscribe(name, player_id, None)
            case MemberRemoved(channel=name, player_id=player_id):
                await self._unsubscribe(name, player_id, "removed")
            case ChannelEnded(channel=name):
                found = self._running.get(name)
                if found is not None:
                    self._forget(name)
                    await self._tell(found, CloseChannel(reason="closed"))
            case ChannelIdle(actor=actor, subscribes=subscribes):
                found = self._running.get(actor.channel.name)
                # Close it only if it is still the running one and no subscribe is on the way.
                if (
                    found is not None
                    and found.actor is actor
                    and found.subscribes_sent == subscribes
                    and not actor.subscribers
                ):
                    self._forget(actor.channel.name)
                    await self._tell(found, CloseChannel())
            case Relayed(record=record):
                found = self._running.get(record.channel)
                if found is not None:
                    await self._tell(found, Spread(record=record))
            case _:
                assert_never(message)

    async def _open(self, channel: Channel) -> _Running:
        found = self._running.get(channel.name)
        if found is not None:
            return found
        child_id = f"{channel.name}#{next(self._starts)}"
        actor = self._make_channel(channel, child_id, self._idle)
        await self._channels.start_child(
            ChildSpec(id=child_id, run=actor.run, restart=Restart.TRANSIENT, shutdown=1.0)
        )
        running = _Running(actor=actor)
        self._running[channel.name] = running
        return running

    async def _unsubscribe(
        self, name: str, player_id: str, reason: ChatClosedReason | None
    ) -> None:
        channels = self._members.get(player_id)
        if channels is not None:
            channels.discard(name)
            if not channels:
                del self._members[player_id]
                self._blocked.pop(player_id, None)
        found = self._running.get(name)
        if found is not None:
            await self._tell(found, Unsubscribe(player_id=player_id, reason=reason))

    def _forget(self, name: str) -> None:
        self._running.pop(name, None)
        for player_id in [p for p, names in self._members.items() if name in names]:
            self._members[player_id].discard(name)
            if not self._members[player_id]:
                del self._members[player_id]
                self._blocked.pop(player_id, None)

    def _idle(self, actor: ChatChannel, subscribes: int) -> None:
        # Called from the channel's task: never wait. A full mailbox leaves the channel
        # open until it is idle again; nothing is lost.
        with contextlib.suppress(ActorGone):
            self.ref.try_send(ChannelIdle(actor=actor, subscribes=subscribes))

    async def _tell(self, running: _Running, message: ChannelMessage) -> None:
        try:
            await running.actor.ref.send(message)
        except (ActorGone, MailboxFull):
            log.warning("chat %s: channel gone; forgotten", running.actor.channel.name)
            self._forget(running.actor.channel.name)
