"""Chat messages: channels, direct messages and block lists (docs/social.md).

Requests carry a ``rid`` and are critical: applied at most once per ``rid``, answered once
(a repeat gets the first answer). ``chat_send`` and ``dm_send`` count against the chat rate
limit (``rate_limited`` with ``retry_after``: the message was not sent); the others against
the actions limit. A message whose text breaks the text rules is refused with
``empty_message``, ``message_too_long`` or ``invalid_text``, never with a close.

What others say arrives on the session's stream: ``chat_message`` for channel chat
(at-least-once, resent after a resume), ``dm`` for direct messages (stored first, delivered
once per session stream until the recipient acknowledges it), ``chat_closed`` when the
player may no longer read a channel.
"""

from __future__ import annotations

from typing import ClassVar, Literal, TypeAlias

import attrs

from tilemud.protocol._fields import ID, NAME, RID, STREAM_SEQ, UNIX_TIME, Items, Text

#: Most characters the wire takes in a message's ``text``; the server's own limit
#: (``social.message_max_chars``, 500 by default) is lower and answered ``message_too_long``.
MAX_TEXT_WIRE = 4000

#: Most messages a history lists (``social.history_messages`` is at most this).
MAX_HISTORY = 500

#: Most players a block list holds.
MAX_BLOCKS = 1000

#: A channel id: ``global``, ``region:<r>``, ``arena:<id>``, ``guild:<id>``, ``party:<id>``.
CHANNEL = Text(min_length=1, max_length=160)

#: What a player typed; the text rules are checked by the server, with typed errors.
_TEXT = Text(max_length=MAX_TEXT_WIRE)

#: Why a player may no longer read a channel.
ChatClosedReason: TypeAlias = Literal["removed", "closed"]


@attrs.frozen(kw_only=True)
class ChatJoin:
    """Subscribes the session to a channel; its messages then arrive as ``chat_message``.

    Answered by ``chat_joined`` with the channel's recent history, or an ``error``:
    ``unknown_channel``, ``forbidden`` (not a member of that guild, party or arena).
    Joining a channel the session is in answers again with the history. A fresh session
    (``welcome.resumed: false``) is in no channel.

    Attributes:
        rid: the request id, echoed by the answer.
        channel: the channel id.
    """

    TYPE: ClassVar[str] = "chat_join"

    rid: str = attrs.field(validator=RID)
    channel: str = attrs.field(validator=CHANNEL)


@attrs.frozen(kw_only=True)
class ChatLeave:
    """Unsubscribes the session from a channel. Answered by ``chat_left``.

    Attributes:
        rid: the request id, echoed by the answer.
        channel: the channel id.
    """

    TYPE: ClassVar[str] = "chat_leave"

    rid: str = attrs.field(validator=RID)
    channel: str = attrs.field(validator=CHANNEL)


@attrs.frozen(kw_only=True)
class ChatHistory:
    """Asks again for a channel's recent history. Answered by ``chat_backlog``.

    The same rules as ``chat_join`` decide whether the player may read it.

    Attributes:
        rid: the request id, echoed by the answer.
        channel: the channel id.
    """

    TYPE: ClassVar[str] = "chat_history"

    rid: str = attrs.field(validator=RID)
    channel: str = attrs.field(validator=CHANNEL)


@attrs.frozen(kw_only=True)
class ChatSend:
    """Says something in a channel the session joined.

    Answered by ``chat_sent``; the message itself comes on the stream of every subscriber
    (the sender included) as ``chat_message``. Errors: ``not_subscribed``, ``forbidden``,
    ``empty_message``, ``message_too_long``, ``invalid_text``, ``rate_limited``.

    Attributes:
        rid: the request id, echoed by the answer.
        channel: the channel id.
        text: what to say: one line (line breaks become spaces), at most
            ``social.message_max_chars`` characters after trimming.
    """

    TYPE: ClassVar[str] = "chat_send"

    rid: str = attrs.field(validator=RID)
    channel: str = attrs.field(validator=CHANNEL)
    text: str = attrs.field(validator=_TEXT)


@attrs.frozen(kw_only=True)
class DmSend:
    """Sends a direct message to another player, online or not.

    Answered by ``dm_sent`` once the message is stored; the recipient gets it as ``dm``
    on their stream now, or when they next connect. Errors: ``unknown_player``,
    ``invalid_target`` (oneself), ``blocked`` (the recipient blocks the sender), the text
    errors of ``chat_send``, ``rate_limited``, ``unavailable``.

    Attributes:
        rid: the request id, echoed by the answer; never reuse one for another message.
        to: the recipient's player id.
        text: the message, with the same rules as ``chat_send``.
    """

    TYPE: ClassVar[str] = "dm_send"

    rid: str = attrs.field(validator=RID)
    to: str = attrs.field(validator=ID)
    text: str = attrs.field(validator=_TEXT)


@attrs.frozen(kw_only=True)
class Block:
    """Blocks a player: no direct messages or invites from them, none of their channel chat.

    Answered by ``block_list``. Blocking a player already blocked changes nothing. The
    blocked player is not told.

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: whom to block.
    """

    TYPE: ClassVar[str] = "block"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class Unblock:
    """Lifts a block. Answered by ``block_list``.

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: whom to unblock.
    """

    TYPE: ClassVar[str] = "unblock"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


#: Every chat request.
ChatRequest: TypeAlias = ChatJoin | ChatLeave | ChatHistory | ChatSend | DmSend | Block | Unblock


@attrs.frozen(kw_only=True)
class ChatLine:
    """One message of a channel's history.

    Attributes:
        message_id: the message's id (the ``message_id`` of its ``chat_message``).
        sender_id: who said it.
        sender_name: their name then.
        text: what they said.
        sent_at: when the server took it, Unix seconds.
    """

    message_id: str = attrs.field(validator=ID)
    sender_id: str = attrs.field(validator=ID)
    sender_name: str = attrs.field(validator=NAME)
    text: str = attrs.field(validator=_TEXT)
    sent_at: float = attrs.field(validator=UNIX_TIME)


_HISTORY = Items(max_items=MAX_HISTORY)


@attrs.frozen(kw_only=True)
class ChatJoined:
    """The answer to ``chat_join``: the session is subscribed.

    Attributes:
        rid: the request's id.
        channel: the channel id.
        history: its recent messages the player may see, oldest first: at most
            ``social.history_messages``, none older than the channel type's retention,
            none from players the player blocks.
    """

    TYPE: ClassVar[str] = "chat_joined"

    rid: str = attrs.field(validator=RID)
    channel: str = attrs.field(validator=CHANNEL)
    history: tuple[ChatLine, ...] = attrs.field(validator=_HISTORY)


@attrs.frozen(kw_only=True)
class ChatLeft:
    """The answer to ``chat_leave``; no ``chat_message`` of that channel follows.

    Attributes:
        rid: the request's id.
        channel: the channel id.
    """

    TYPE: ClassVar[str] = "chat_left"

    rid: str = attrs.field(validator=RID)
    channel: str = attrs.field(validator=CHANNEL)


@attrs.frozen(kw_only=True)
class ChatBacklog:
    """The answer to ``chat_history``.

    Attributes:
        rid: the request's id.
        channel: the channel id.
        history: as in ``chat_joined``.
    """

    TYPE: ClassVar[str] = "chat_backlog"

    rid: str = attrs.field(validator=RID)
    channel: str = attrs.field(validator=CHANNEL)
    history: tuple[ChatLine, ...] = attrs.field(validator=_HISTORY)


@attrs.frozen(kw_only=True)
class ChatSent:
    """The answer to ``chat_send``: the message went to the channel's subscribers.

    Attributes:
        rid: the request's id.
        channel: the channel id.
        message_id: the message's id, as in its ``chat_message``.
        sent_at: when the server took it, Unix seconds.
    """

    TYPE: ClassVar[str] = "chat_sent"

    rid: str = attrs.field(validator=RID)
    channel: str = attrs.field(validator=CHANNEL)
    message_id: str = attrs.field(validator=ID)
    sent_at: float = attrs.field(validator=UNIX_TIME)


@attrs.frozen(kw_only=True)
class DmSent:
    """The answer to ``dm_send``: the message is stored and will reach the recipient.

    Attributes:
        rid: the request's id.
        to: the recipient.
        message_id: the message's id, as in the recipient's ``dm``.
        sent_at: when the server took it, Unix seconds.
    """

    TYPE: ClassVar[str] = "dm_sent"

    rid: str = attrs.field(validator=RID)
    to: str = attrs.field(validator=ID)
    message_id: str = attrs.field(validator=ID)
    sent_at: float = attrs.field(validator=UNIX_TIME)


@attrs.frozen(kw_only=True)
class BlockList:
    """The answer to ``block`` and ``unblock``: whom the player blocks now.

    Attributes:
        rid: the request's id.
        blocked: the player ids the player blocks, sorted.
    """

    TYPE: ClassVar[str] = "block_list"

    rid: str = attrs.field(validator=RID)
    blocked: tuple[str, ...] = attrs.field(validator=Items(item=ID, max_items=MAX_BLOCKS))


#: Every answer to a chat request.
ChatReply: TypeAlias = ChatJoined | ChatLeft | ChatBacklog | ChatSent | DmSent | BlockList


@attrs.frozen(kw_only=True)
class ChatMessage:
    """Someone said something in a channel the session joined (stream frame).

    Channel chat is at-least-once: a resumed session gets again the frames after its last
    ``seq``; drop a repeat by its ``message_id``.

    Attributes:
        seq: this frame's number in the session's stream.
        sent_at: when the server took the message, Unix seconds.
        channel: the channel id.
        message_id: the message's id.
        sender_id: who said it.
        sender_name: their name.
        text: what they said.
    """

    TYPE: ClassVar[str] = "chat_message"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    channel: str = attrs.field(validator=CHANNEL)
    message_id: str = attrs.field(validator=ID)
    sender_id: str = attrs.field(validator=ID)
    sender_name: str = attrs.field(validator=NAME)
    text: str = attrs.field(validator=_TEXT)


@attrs.frozen(kw_only=True)
class DirectMessageFrame:
    """A direct message to this player (stream frame).

    Delivered once per session stream; once the client acknowledges the frame's ``seq``
    it is never delivered again. Unacknowledged, it comes again in the next fresh session
    (after a restart, or after the reconnect grace), with the same ``message_id``.

    Attributes:
        seq: this frame's number in the session's stream.
        sent_at: when the server built this frame, Unix seconds.
        message_id: the message's id (the sender's ``dm_sent.message_id``).
        sender_id: who sent it.
        sender_name: their name then.
        text: the message.
        written_at: when the server took the message from the sender, Unix seconds.
    """

    TYPE: ClassVar[str] = "dm"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    message_id: str = attrs.field(validator=ID)
    sender_id: str = attrs.field(validator=ID)
    sender_name: str = attrs.field(validator=NAME)
    text: str = attrs.field(validator=_TEXT)
    written_at: float = attrs.field(validator=UNIX_TIME)


@attrs.frozen(kw_only=True)
class ChatClosed:
    """The player may no longer read a channel: no ``chat_message`` of it follows.

    Attributes:
        seq: this frame's number in the session's stream.
        sent_at: when the server built this frame, Unix seconds.
        channel: the channel id.
        reason: ``removed`` (the player left or was removed from its guild, party or
            arena) or ``closed`` (the guild or party ended).
    """

    TYPE: ClassVar[str] = "chat_closed"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    channel: str = attrs.field(validator=CHANNEL)
    reason: ChatClosedReason


#: Every chat stream frame.
ChatStreamMessage: TypeAlias = ChatMessage | DirectMessageFrame | ChatClosed
