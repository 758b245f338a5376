"""The chat subtree, built in one place: what the tree runs, what sessions and others call.

:class:`ChatService` builds, from settings::

    chat (rest_for_one)
    ├── log        ChatLog: channel messages written behind (tilemud/actors/chat/_log.py)
    ├── channels   dynamic: one ChatChannel per channel (tilemud/actors/chat/_channel.py)
    ├── directory  ChatDirectory (tilemud/actors/chat/_directory.py)
    ├── dm         DirectCourier (tilemud/actors/chat/_courier.py)
    ├── purge      ChatJanitor (tilemud/actors/chat/_purge.py)
    └── relay      ChatRelay, in a cluster only (tilemud/actors/chat/_relay.py)

and hands out :attr:`ChatService.requests` (the sessions' chat route and listener) and
:attr:`ChatService.client` (:class:`ChatClient`, for the guild and party actors).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from tilemud.actors.chat._channel import ChatChannel
from tilemud.actors.chat._courier import DirectCourier
from tilemud.actors.chat._directory import (
    ChannelEnded,
    ChatDirectory,
    DirectoryMessage,
    MemberRemoved,
)
from tilemud.actors.chat._log import ChatLog
from tilemud.actors.chat._purge import ChatJanitor
from tilemud.actors.chat._relay import ChatRelay, LocalSessions
from tilemud.actors.chat._requests import ChatMemberships, ChatRequests
from tilemud.actors.chat._store import ChatStore, MemoryChatStore
from tilemud.actors.session import Presence
from tilemud.clock import utc_now
from tilemud.cluster.bus import ClusterBus
from tilemud.cluster.ratelimit import InProcessRateLimiter, RateLimiter
from tilemud.config import LimitSettings, SocialSettings
from tilemud.errors import ActorGone
from tilemud.social.chat_channels import Channel
from tilemud.social.chat_retention import RetentionPolicy
from tilemud.supervisors import ChildSpec, DynamicSupervisor, Intensity, Strategy, Supervisor

log = logging.getLogger("tilemud.chat")

#: Capacity of the directory's, each channel's and the courier's mailbox.
CHAT_MAILBOX = 1024


class ChatClient:
    """What the guild and party actors (and others) call; never blocks.

    Args:
        directory: the chat directory's mailbox.
        store: where blocks are kept.
    """

    def __init__(self, directory: ChatDirectory, store: ChatStore) -> None:
        self._directory = directory
        self._store = store

    def member_removed(self, channel: str, player_id: str) -> bool:
        """``player_id`` may no longer read ``channel`` (``guild:<id>``, ``party:<id>``,
        ``arena:<id>``): unsubscribed at once, told with ``chat_closed`` (``removed``).

        Returns:
            False when the chat is saturated and the message was not taken (logged); the
            player's next ``chat_send`` there is refused all the same (access is checked
            again on every message).
        """
        return self._offer(MemberRemoved(channel=channel, player_id=player_id))

    def channel_closed(self, channel: str) -> bool:
        """A guild or party ended: its channel closes for all (``chat_closed``, ``closed``)."""
        return self._offer(ChannelEnded(channel=channel))

    async def is_blocked(self, *, blocker_id: str, blocked_id: str) -> bool:
        """Whether ``blocker_id`` blocks ``blocked_id`` (for invites).

        Raises:
            StorageUnavailable: the database is down or too slow.
        """
        return await self._store.is_blocked(blocker_id=blocker_id, blocked_id=blocked_id)

    def _offer(self, message: DirectoryMessage) -> bool:
        try:
            taken = self._directory.ref.try_send(message)
        except ActorGone:
            return False
        if not taken:
            log.warning("chat directory saturated: %s not taken", type(message).__name__)
        return taken


class ChatService:
    """Builds the chat subtree; see the module docstring.

    Args:
        social: the ``[social]`` settings.
        limits: the ``[limits]`` settings (``chat``, ``chat_window``, ``actions``,
            ``actions_window``).
        regions: the regions the server serves.
        store: the durable store (``StorageClient.chat``), or None to keep chat in memory.
        presence: who is on this node, and their sessions.
        memberships: guilds and parties, or None (no guild or party channel readable).
        clock: the wall clock (timezone-aware UTC).
        chat_limiter: the chat rate limit; by default an in-process one from ``limits``.
        actions_limiter: the limit of joins, leaves, history reads and blocks; by default
            an in-process one of ``limits.actions`` per ``limits.actions_window``.
        bus: the cluster's bus (None: this node alone); with it, ``sessions`` are this
            node's sessions (``presence`` may then reach other nodes' players too).
        sessions: this node's sessions, for the relay (``presence`` when None).
        online_anywhere: whether a player has a session on any node (a direct message
            to a player who never played is refused); None: this node alone.
    """

    def __init__(
        self,
        social: SocialSettings,
        limits: LimitSettings,
        *,
        regions: tuple[str, ...],
        store: ChatStore | None,
        presence: Presence,
        memberships: ChatMemberships | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        chat_limiter: RateLimiter | None = None,
        actions_limiter: RateLimiter | None = None,
        bus: ClusterBus | None = None,
        sessions: LocalSessions | None = None,
        online_anywhere: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.store: ChatStore = MemoryChatStore(clock=clock) if store is None else store
        self.retention = RetentionPolicy.from_settings(social)
        self.log = ChatLog(self.store)
        self.channels = DynamicSupervisor("channels", intensity=Intensity(restarts=20, period=10.0))
        #: Channel and direct messages between nodes; None when this node runs alone.
        self.relay: ChatRelay | None = None

        def make_channel(
            channel: Channel, child_id: str, on_idle: Callable[[ChatChannel, int], None]
        ) -> ChatChannel:
            return ChatChannel(
                channel,
                child_id=child_id,
                presence=presence,
                store=self.store,
                chat_log=self.log,
                retention=self.retention,
                history=social.history_messages,
                mailbox_size=CHAT_MAILBOX,
                clock=clock,
                on_idle=on_idle,
                relay=(
                    self.relay.offer
                    if self.relay is not None and ChatRelay.crosses_nodes(channel.kind)
                    else None
                ),
            )

        self.directory = ChatDirectory(self.channels, make_channel, mailbox_size=CHAT_MAILBOX)
        self.courier = DirectCourier(self.store, presence, mailbox_size=CHAT_MAILBOX)
        if bus is not None:
            if sessions is None:
                raise ValueError("a clustered chat needs this node's sessions")
            self.relay = ChatRelay(
                bus, self.directory.ref, self.courier, sessions, mailbox_size=CHAT_MAILBOX
            )
        self.janitor = ChatJanitor(
            self.store, self.retention, interval=social.purge_interval, clock=clock
        )
        self.requests = ChatRequests(
            settings=social,
            regions=regions,
            directory=self.directory.ref,
            courier=self.courier,
            store=self.store,
            presence=presence,
            chat_limiter=chat_limiter
            or InProcessRateLimiter(limit=limits.chat, window=limits.chat_window),
            relay=self.relay,
            online_anywhere=online_anywhere,
            actions_limiter=actions_limiter
            or InProcessRateLimiter(limit=limits.actions, window=limits.actions_window),
            memberships=memberships,
            clock=clock,
        )
        self.client = ChatClient(self.directory, self.store)
        children = [
            ChildSpec(id="log", run=self.log.run, shutdown=6.0),
            ChildSpec(id="channels", run=self.channels.run, shutdown=5.0),
            ChildSpec(id="directory", run=self.directory.run),
            ChildSpec(id="dm", run=self.courier.run),
            ChildSpec(id="purge", run=self.janitor.run),
        ]
        if self.relay is not None:
            children.append(ChildSpec(id="relay", run=self.relay.run, shutdown=2.0))
        self.supervisor = Supervisor(
            "chat",
            children,
            # The directory knows only channels its supervisor runs: when that restarts,
            # the directory starts over too (and so do the courier and the purge, cheaply).
            strategy=Strategy.REST_FOR_ONE,
        )

    def child_spec(self) -> ChildSpec:
        """The chat subtree as one child of the world supervisor."""
        return ChildSpec(id="chat", run=self.supervisor.run, shutdown=10.0)
