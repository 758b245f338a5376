"""The session side of chat: a player's chat, direct message and block requests.

Not an actor: :meth:`ChatRequests.handle` runs in the player's session task (the
connection's reader), one request at a time, through ``Session.run_critical`` (at most once
per ``rid``). ``chat_send`` and ``dm_send`` count against the chat rate limit
(``limits.chat`` per ``limits.chat_window`` seconds and player); the other requests against
a social actions limit. Access to a channel is checked here, where the player's places are
known (the session's seat, the guild and party from :class:`ChatMemberships`), before the
directory is asked; a guild or party channel is checked again on every message.

Refusals are typed errors (``Refused``), never a close: the text rules
(``empty_message``, ``message_too_long``, ``invalid_text``), ``unknown_channel``,
``forbidden``, ``not_subscribed``, ``unknown_player``, ``invalid_target``, ``blocked``,
``unavailable`` (storage or the chat actors did not answer in time; retry the ``rid``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, assert_never, get_args

import trio

from tilemud.actors.chat._channel import NotSubscribed, Posted
from tilemud.actors.chat._courier import DirectCourier, DmSink
from tilemud.actors.chat._directory import (
    BlocksChanged,
    DirectoryMessage,
    JoinChannel,
    LeaveChannel,
    MemberRemoved,
    PostToChannel,
    ReadChannel,
    SessionStarted,
)
from tilemud.actors.chat._relay import ChatRelay
from tilemud.actors.chat._store import ChatStore, MemoryChatStore
from tilemud.actors.session import Presence, Refused, Session, SessionListener, answer_within
from tilemud.cluster.link import ClusterUnavailable
from tilemud.cluster.ratelimit import RateLimiter
from tilemud.config import SocialSettings
from tilemud.errors import ActorGone
from tilemud.mailbox import Ref, Reply
from tilemud.protocol import (
    Block,
    BlockList,
    ChatBacklog,
    ChatHistory,
    ChatJoin,
    ChatJoined,
    ChatLeave,
    ChatLeft,
    ChatLine,
    ChatRequest,
    ChatSend,
    ChatSent,
    ClientMessage,
    DmSend,
    DmSent,
    ErrorCode,
    Unblock,
    encode_server,
)
from tilemud.social.chat_channels import (
    Channel,
    ChannelRefused,
    PlayerPlaces,
    check_access,
    parse_channel,
)
from tilemud.social.chat_retention import direct_message_id
from tilemud.social.chat_text import MessageRefused, clean_message
from tilemud.storage import ChatMessageRecord, DirectMessageRecord

#: Seconds the chat actors and storage get to answer a request.
ASK_TIMEOUT = 5.0

T = TypeVar("T")


class ChatMemberships(Protocol):
    """Which guild and party a player is in (the guild and party actors answer)."""

    async def guild_of(self, player_id: str) -> str | None:
        """The player's guild id, or None."""
        ...

    async def party_of(self, player_id: str) -> str | None:
        """The player's party id, or None."""
        ...


def _line(record: ChatMessageRecord) -> ChatLine:
    return ChatLine(
        message_id=record.message_id,
        sender_id=record.sender_id,
        sender_name=record.sender_name,
        text=record.text,
        sent_at=record.sent_at.timestamp(),
    )


class ChatRequests(SessionListener):
    """The sessions' chat route and listener (handed to them by the composition root); see
    the module docstring.

    Args:
        settings: the ``[social]`` settings (message length, history).
        regions: the regions the server serves (``region:<r>`` channels).
        directory: the chat directory's mailbox.
        courier: the direct message courier.
        store: blocks and direct messages.
        presence: who is online here.
        chat_limiter: the chat rate limit (``chat_send``, ``dm_send``).
        actions_limiter: the limit of the other chat requests.
        memberships: guilds and parties; None: no guild or party channel is readable.
        clock: the wall clock messages are stamped with.
        relay: tells other nodes of a stored direct message (None: this node alone).
        online_anywhere: whether a player has a session on any node (None: this node).
    """

    def __init__(
        self,
        *,
        settings: SocialSettings,
        regions: tuple[str, ...],
        directory: Ref[DirectoryMessage],
        courier: DirectCourier,
        store: ChatStore,
        presence: Presence,
        chat_limiter: RateLimiter,
        actions_limiter: RateLimiter,
        memberships: ChatMemberships | None,
        clock: Callable[[], dt.datetime],
        relay: ChatRelay | None = None,
        online_anywhere: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._settings = settings
        self._regions = frozenset(regions)
        self._directory = directory
        self._courier = courier
        self._store = store
        self._presence = presence
        self._chat_limiter = chat_limiter
        self._actions_limiter = actions_limiter
        self._memberships = memberships
        self._clock = clock
        self._relay = relay
        self._online_anywhere = online_anywhere

    @property
    def kinds(self) -> tuple[type[ClientMessage], ...]:
        """The requests this route answers (the session hands them here)."""
        return get_args(ChatRequest)

    # -- hooks of the session keeper and the session --------------------------------------

    def session_started(self, session: DmSink) -> None:
        """A fresh session of a player began: old subscriptions end, stored direct
        messages come. Never blocks."""
        if isinstance(self._store, MemoryChatStore):
            self._store.saw_player(session.player_id)
        with contextlib.suppress(ActorGone):
            self._directory.try_send(SessionStarted(player_id=session.player_id))
        self._courier.session_started(session)

    def left_arena(self, player_id: str, arena_id: str) -> None:
        """The player no longer sits in ``arena_id``: they stop reading its channel at once
        (told with ``chat_closed``). Never blocks; a full chat mailbox only delays it to
        their next message there, which is refused all the same."""
        with contextlib.suppress(ActorGone):
            self._directory.try_send(
                MemberRemoved(channel=f"arena:{arena_id}", player_id=player_id)
            )

    def stream_acked(self, session: DmSink, seq: int) -> None:
        """The session's client acknowledged its stream up to ``seq``. Never blocks."""
        self._courier.acked(session, seq)

    # -- requests -------------------------------------------------------------------------

    async def handle(self, session: Session, message: ChatRequest) -> str | None:
        """Answer one chat request of the session's player (critical tier)."""
        match message:
            case ChatSend() | DmSend():
                limiter = self._chat_limiter
                limited = "too many chat messages; wait before the next one"
            case ChatJoin() | ChatLeave() | ChatHistory() | Block() | Unblock():
                limiter = self._actions_limiter
                limited = "too many requests; wait before the next one"
            case _:
                assert_never(message)
        return await session.run_critical(
            message.rid, lambda: self._apply(session, message), limiter=limiter, limited=limited
        )

    async def _apply(self, session: Session, message: ChatRequest) -> str:
        player_id = session.player_id
        match message:
            case ChatJoin(rid=rid, channel=name):
                channel = await self._readable(session, name)
                blocked = frozenset(await self._call(self._store.load_blocked(player_id)))
                history: tuple[ChatMessageRecord, ...] = await self._ask(
                    lambda reply: JoinChannel(
                        channel=channel, player_id=player_id, blocked=blocked, reply=reply
                    )
                )
                lines = tuple(_line(r) for r in history)
                return encode_server(ChatJoined(rid=rid, channel=channel.name, history=lines))
            case ChatLeave(rid=rid, channel=name):
                channel = self._parse(name)
                await self._tell(LeaveChannel(channel=channel.name, player_id=player_id))
                return encode_server(ChatLeft(rid=rid, channel=channel.name))
            case ChatHistory(rid=rid, channel=name):
                channel = await self._readable(session, name)
                blocked = frozenset(await self._call(self._store.load_blocked(player_id)))
                history_read: tuple[ChatMessageRecord, ...] = await self._ask(
                    lambda reply: ReadChannel(channel=channel, blocked=blocked, reply=reply)
                )
                lines = tuple(_line(r) for r in history_read)
                return encode_server(ChatBacklog(rid=rid, channel=channel.name, history=lines))
            case ChatSend():
                return await self._send(session, message)
            case DmSend():
                return await self._send_direct(session, message)
            case Block(rid=rid, player_id=target):
                self._check_target(player_id, target)
                if not await self._exists(target):
                    raise Refused(ErrorCode.UNKNOWN_PLAYER, f"no player {target!r} here")
                await self._call(self._store.block(blocker_id=player_id, blocked_id=target))
                return await self._block_list(rid, player_id)
            case Unblock(rid=rid, player_id=target):
                await self._call(self._store.unblock(blocker_id=player_id, blocked_id=target))
                return await self._block_list(rid, player_id)
            case _:
                assert_never(message)

    async def _send(self, session: Session, send: ChatSend) -> str:
        text = self._clean(send.text)
        channel = self._parse(send.channel)
        if channel.kind in ("guild", "party", "arena"):
            try:
                check_access(channel, await self._places(session))
            except ChannelRefused as exc:
                # No longer a member: the subscription ends too.
                await self._tell(LeaveChannel(channel=channel.name, player_id=session.player_id))
                raise Refused(exc.code, exc.message) from exc
        posted: Posted | NotSubscribed = await self._ask(
            lambda reply: PostToChannel(
                channel=channel.name,
                sender_id=session.player_id,
                sender_name=session.name,
                text=text,
                reply=reply,
            )
        )
        if isinstance(posted, NotSubscribed):
            raise Refused(ErrorCode.NOT_SUBSCRIBED, f"join {channel.name} first (chat_join)")
        record = posted.record
        return encode_server(
            ChatSent(
                rid=send.rid,
                channel=channel.name,
                message_id=record.message_id,
                sent_at=record.sent_at.timestamp(),
            )
        )

    async def _send_direct(self, session: Session, send: DmSend) -> str:
        sender = session.player_id
        text = self._clean(send.text)
        self._check_target(sender, send.to)
        if not await self._exists(send.to):
            raise Refused(ErrorCode.UNKNOWN_PLAYER, f"no player {send.to!r} here")
        if await self._call(self._store.is_blocked(blocker_id=send.to, blocked_id=sender)):
            raise Refused(ErrorCode.BLOCKED, "this player does not take your messages")
        record = DirectMessageRecord(
            message_id=direct_message_id(
                sender_id=sender, rid=send.rid, recipient_id=send.to, text=text
            ),
            sender_id=sender,
            sender_name=session.name,
            recipient_id=send.to,
            text=text,
            sent_at=self._clock(),
        )
        # Stored (committed) before anything else: the answer means it will arrive.
        stored = await self._call(self._store.record_direct_message(record))
        if self._presence.find(send.to) is not None:
            with trio.move_on_after(ASK_TIMEOUT):
                # Late or lost here, it still comes with the recipient's next session.
                await self._courier.deliver(stored)
        elif self._relay is not None:
            self._relay.announce_direct(stored)  # to the recipient's node, if any
        return encode_server(
            DmSent(
                rid=send.rid,
                to=send.to,
                message_id=stored.message_id,
                sent_at=stored.sent_at.timestamp(),
            )
        )

    async def _block_list(self, rid: str, player_id: str) -> str:
        blocked = await self._call(self._store.load_blocked(player_id))
        await self._tell(BlocksChanged(player_id=player_id, blocked=frozenset(blocked)))
        return encode_server(BlockList(rid=rid, blocked=blocked))

    # -- helpers --------------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        try:
            return clean_message(text, max_chars=self._settings.message_max_chars)
        except MessageRefused as exc:
            raise Refused(exc.code, exc.message) from exc

    def _parse(self, name: str) -> Channel:
        try:
            return parse_channel(name, regions=self._regions)
        except ChannelRefused as exc:
            raise Refused(exc.code, exc.message) from exc

    async def _readable(self, session: Session, name: str) -> Channel:
        channel = self._parse(name)
        try:
            check_access(channel, await self._places(session))
        except ChannelRefused as exc:
            raise Refused(exc.code, exc.message) from exc
        return channel

    async def _places(self, session: Session) -> PlayerPlaces:
        seat = session.seat
        guild = party = None
        if self._memberships is not None:
            guild = await self._call(self._memberships.guild_of(session.player_id))
            party = await self._call(self._memberships.party_of(session.player_id))
        return PlayerPlaces(
            arena_id=None if seat is None else seat.ticket.arena_id, guild_id=guild, party_id=party
        )

    @staticmethod
    def _check_target(player_id: str, target: str) -> None:
        if target == player_id:
            raise Refused(ErrorCode.INVALID_TARGET, "that is you")

    async def _exists(self, player_id: str) -> bool:
        if self._presence.find(player_id) is not None:
            return True
        if self._online_anywhere is not None:
            # On another node: its "last seen" may not be stored yet (written behind).
            with contextlib.suppress(ClusterUnavailable):
                if await self._call(self._online_anywhere(player_id)):
                    return True
        return await self._call(self._store.player_exists(player_id))

    async def _call(self, pending: Awaitable[T]) -> T:
        """Await a storage (or membership) call, within the timeout."""
        return await answer_within(pending, seconds=ASK_TIMEOUT, what="storage")

    async def _ask(self, make: Callable[[Reply[T]], DirectoryMessage]) -> T:
        """Ask the directory (answered by it or by a channel), within the timeout."""
        return await answer_within(self._directory.ask(make), seconds=ASK_TIMEOUT, what="chat")

    async def _tell(self, message: DirectoryMessage) -> None:
        await answer_within(self._directory.send(message), seconds=ASK_TIMEOUT, what="chat")
