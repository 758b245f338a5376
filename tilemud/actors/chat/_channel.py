"""Chat channel actor: one channel's subscribers, its recent messages and its fan-out.

Owns:
    the channel's subscribers (player id -> whom that player blocks) and its recent
    messages (the last ``social.history_messages``, loaded from storage when the channel
    starts), across incarnations: both belong to the :class:`ChatChannel` object.
Started by:
    the chat directory, in the chat supervisor's dynamic ``channels`` supervisor, on the
    first join (or history read) of the channel. Restart type ``transient``: a crash
    restarts it with its subscribers; it ends when the directory closes it (it became
    empty, or its guild or party ended).
Takes (mailbox ``chat_mailbox`` messages, ``BLOCK``: senders wait, which backpressures the
players' input; only the directory and sessions send):
    ``Subscribe``, ``Unsubscribe``, ``UpdateBlocks``, ``Post``, ``ReadHistory``,
    ``CloseChannel``, ``Spread`` (a message every node delivers: from the cluster bus).
In a cluster:
    a channel shared by every node (not an arena's) hands each posted message to the chat
    relay (``offer``) instead of its subscribers: it comes back from the bus as ``Spread``,
    on every node in the same order, and each node delivers it to its own subscribers
    (once: a repeated message id is dropped). A full relay delivers it here only.
Sends:
    each message once encoded (``encode_stream_body``) to every subscriber's session stream
    through :class:`~tilemud.actors.session._presence.Presence`, skipping subscribers who block the
    sender (a set lookup, no re-encoding); ``chat_closed`` frames when it closes or removes
    a player; every message to the chat log (never blocking); ``ChannelIdle`` to the
    directory when its last subscriber left.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import TypeAlias, assert_never

import attrs

from tilemud.actors.chat._log import ChatLog
from tilemud.actors.chat._store import ChatStore
from tilemud.actors.session import Presence
from tilemud.mailbox import Mailbox, Overflow, Ref, Reply, open_mailbox
from tilemud.protocol import (
    UNSTAMPED,
    ChatClosed,
    ChatClosedReason,
    ChatMessage,
    encode_stream_body,
)
from tilemud.social.chat_channels import Channel
from tilemud.social.chat_retention import RetentionPolicy
from tilemud.storage import ChatMessageRecord, StorageUnavailable
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.chat")

#: Message ids a channel remembers having delivered (to drop one heard twice).
_SPREAD_MEMORY = 1024


@attrs.frozen(kw_only=True)
class Subscribe:
    """Add (or refresh) a subscriber; answered with the history it may see."""

    player_id: str
    blocked: frozenset[str]
    reply: Reply[tuple[ChatMessageRecord, ...]]


@attrs.frozen(kw_only=True)
class Unsubscribe:
    """Remove a subscriber; with a ``reason`` they get a ``chat_closed`` frame."""

    player_id: str
    reason: ChatClosedReason | None = None


@attrs.frozen(kw_only=True)
class UpdateBlocks:
    """A subscriber's block list changed."""

    player_id: str
    blocked: frozenset[str]


@attrs.frozen(kw_only=True)
class Posted:
    """A message went out."""

    record: ChatMessageRecord


@attrs.frozen(kw_only=True)
class NotSubscribed:
    """The sender is not a subscriber: nothing went out."""


@attrs.frozen(kw_only=True)
class Post:
    """A subscriber says something."""

    sender_id: str
    sender_name: str
    text: str
    reply: Reply[Posted | NotSubscribed]


@attrs.frozen(kw_only=True)
class ReadHistory:
    """The history a reader who blocks ``blocked`` may see (no subscription)."""

    blocked: frozenset[str]
    reply: Reply[tuple[ChatMessageRecord, ...]]


@attrs.frozen(kw_only=True)
class Spread:
    """A message of this channel that every node delivers to its own subscribers."""

    record: ChatMessageRecord


@attrs.frozen(kw_only=True)
class CloseChannel:
    """End the channel; with a ``reason`` every subscriber gets ``chat_closed``."""

    reason: ChatClosedReason | None = None


ChannelMessage: TypeAlias = (
    Subscribe | Unsubscribe | UpdateBlocks | Post | ReadHistory | CloseChannel | Spread
)

#: Told to the directory when the channel became empty: (channel, subscribes it took).
IdleCallback: TypeAlias = Callable[["ChatChannel", int], None]


def _unix(at: dt.datetime) -> float:
    return at.timestamp()


class ChatChannel:
    """One channel; see the module docstring.

    Args:
        channel: which channel.
        child_id: its id under the channels supervisor (unique per start).
        presence: how to reach players' sessions.
        store: where history is read from (None: no history beyond this actor's memory).
        chat_log: where messages are written behind.
        retention: how long messages are shown as history.
        history: the most messages kept and shown.
        mailbox_size: the mailbox's capacity.
        clock: the wall clock (timezone-aware UTC).
        on_idle: called when the last subscriber left.
        relay: hands a message to every node (None: this node alone delivers it).
    """

    def __init__(
        self,
        channel: Channel,
        *,
        child_id: str,
        presence: Presence,
        store: ChatStore | None,
        chat_log: ChatLog | None,
        retention: RetentionPolicy,
        history: int,
        mailbox_size: int,
        clock: Callable[[], dt.datetime],
        on_idle: IdleCallback,
        relay: Callable[[ChatMessageRecord], bool] | None = None,
    ) -> None:
        self.channel = channel
        self.child_id = child_id
        self._presence = presence
        self._store = store
        self._log = chat_log
        self._retention = retention
        self._clock = clock
        self._on_idle = on_idle
        self._relay = relay
        #: Ids of the messages delivered here lately (a message heard twice goes out once).
        self._spread: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._mailbox: Mailbox[ChannelMessage] = open_mailbox(
            f"chat:{channel.name}", mailbox_size, Overflow.BLOCK
        )
        self._subscribers: dict[str, frozenset[str]] = {}
        self._recent: collections.deque[ChatMessageRecord] = collections.deque(maxlen=history)
        self._loaded = False
        #: Subscribes handled, for the directory's "is anyone on the way" check.
        self.subscribes = 0

    @property
    def ref(self) -> Ref[ChannelMessage]:
        """The channel's mailbox (valid across restarts)."""
        return self._mailbox.ref

    @property
    def subscribers(self) -> frozenset[str]:
        """Who is subscribed now."""
        return frozenset(self._subscribers)

    async def run(self, ctx: ChildContext) -> None:
        """Serve the channel until closed (the child's entry point)."""
        ctx.started(self.ref)
        await self._load_history()
        async for message in self._mailbox.inbox:
            if not self._handle(message):
                break
        self._close_mailbox()

    async def _load_history(self) -> None:
        if self._loaded or self._store is None or self._recent.maxlen == 0:
            return
        since = self._retention.cutoff(self.channel.kind, self._clock())
        try:
            found = await self._store.load_chat_history(
                self.channel.name, since=since, limit=self._recent.maxlen or 0
            )
        except StorageUnavailable as exc:
            log.warning("chat %s: history not loaded: %s", self.channel.name, exc)
            return
        self._recent.extend(found)
        self._loaded = True

    def _handle(self, message: ChannelMessage) -> bool:
        match message:
            case Subscribe(player_id=player_id, blocked=blocked, reply=reply):
                self.subscribes += 1
                self._subscribers[player_id] = blocked
                reply.send(self._history(blocked))
            case Unsubscribe(player_id=player_id, reason=reason):
                if self._subscribers.pop(player_id, None) is not None:
                    if reason is not None:
                        self._presence.publish_to(player_id, self._closed_body(reason))
                    self._check_idle()
            case UpdateBlocks(player_id=player_id, blocked=blocked):
                if player_id in self._subscribers:
                    self._subscribers[player_id] = blocked
            case Post():
                message.reply.send(self._post(message))
            case ReadHistory(blocked=blocked, reply=reply):
                reply.send(self._history(blocked))
                self._check_idle()
            case Spread(record=record):
                if record.channel_type == self.channel.kind:
                    if not any(m.message_id == record.message_id for m in self._recent):
                        self._recent.append(record)
                    had_readers = bool(self._subscribers)
                    self._fan_out(record)
                    if had_readers:
                        self._check_idle()
            case CloseChannel(reason=reason):
                if reason is not None:
                    body = self._closed_body(reason)
                    for player_id in self._subscribers:
                        self._presence.publish_to(player_id, body)
                self._subscribers.clear()
                return False
            case _:
                assert_never(message)
        return True

    def _post(self, post: Post) -> Posted | NotSubscribed:
        if post.sender_id not in self._subscribers:
            return NotSubscribed()
        record = ChatMessageRecord(
            message_id=f"m_{uuid.uuid4().hex}",
            channel=self.channel.name,
            channel_type=self.channel.kind,
            sender_id=post.sender_id,
            sender_name=post.sender_name,
            text=post.text,
            sent_at=self._clock(),
        )
        self._recent.append(record)
        if self._log is not None:
            self._log.offer(record)
        if self._relay is None or not self._relay(record):
            self._fan_out(record)  # alone, or the relay is full: this node's readers
        self._check_idle()
        return Posted(record=record)

    def _fan_out(self, record: ChatMessageRecord) -> None:
        if record.message_id in self._spread:
            return
        self._spread[record.message_id] = None
        if len(self._spread) > _SPREAD_MEMORY:
            self._spread.popitem(last=False)
        # Encoded once; every subscriber's stream holds the same str (DESIGN: broadcast).
        body = encode_stream_body(
            ChatMessage(
                seq=UNSTAMPED,
                sent_at=_unix(record.sent_at),
                channel=record.channel,
                message_id=record.message_id,
                sender_id=record.sender_id,
                sender_name=record.sender_name,
                text=record.text,
            )
        )
        sender = record.sender_id
        gone = [
            player_id
            for player_id, blocked in self._subscribers.items()
            if sender not in blocked and not self._presence.publish_to(player_id, body)
        ]
        for player_id in gone:  # their session ended: nobody to deliver to
            del self._subscribers[player_id]

    def _history(self, blocked: frozenset[str]) -> tuple[ChatMessageRecord, ...]:
        since = self._retention.cutoff(self.channel.kind, self._clock())
        return tuple(m for m in self._recent if m.sent_at >= since and m.sender_id not in blocked)

    def _closed_body(self, reason: ChatClosedReason) -> str:
        return encode_stream_body(
            ChatClosed(
                seq=UNSTAMPED,
                sent_at=_unix(self._clock()),
                channel=self.channel.name,
                reason=reason,
            )
        )

    def _check_idle(self) -> None:
        if not self._subscribers:
            self._on_idle(self, self.subscribes)

    def _close_mailbox(self) -> None:
        # The directory sends nothing after CloseChannel (it forgot the channel first), so
        # nothing that waits for an answer can be queued behind it.
        self._mailbox.close()
