"""The chat values the chat repository takes and gives back: frozen, plain, no DB types."""

from __future__ import annotations

import datetime as dt

import attrs


@attrs.frozen(kw_only=True)
class ChatMessageRecord:
    """One channel chat message as stored.

    Attributes:
        message_id: its id (unique; the server makes it).
        channel: the channel id (``global``, ``region:eu``, ``guild:g1`` ...).
        channel_type: the channel's type (``global``, ``region``, ``arena``, ``guild``,
            ``party``), what retention is judged by.
        sender_id: who sent it.
        sender_name: their name when they sent it.
        text: the validated text.
        sent_at: when the server accepted it (UTC).
    """

    message_id: str
    channel: str
    channel_type: str
    sender_id: str
    sender_name: str
    text: str
    sent_at: dt.datetime


@attrs.frozen(kw_only=True)
class DirectMessageRecord:
    """One direct message as stored.

    Attributes:
        message_id: its id, derived from the sender and the request id, so that a request
            repeated after a restart stores nothing new.
        sender_id: who sent it.
        sender_name: their name when they sent it.
        recipient_id: to whom.
        text: the validated text.
        sent_at: when the server accepted it (UTC).
        delivered_at: when the recipient acknowledged the stream frame that carried it;
            None until then.
    """

    message_id: str
    sender_id: str
    sender_name: str
    recipient_id: str
    text: str
    sent_at: dt.datetime
    delivered_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class ChatPurge:
    """What one purge pass deleted.

    Attributes:
        chat_messages: channel messages deleted.
        direct_messages: direct messages deleted.
    """

    chat_messages: int
    direct_messages: int
