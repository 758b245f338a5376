"""One valid instance of every chat message, for the shared protocol examples."""

from __future__ import annotations

from tilemud.protocol import (
    Block,
    BlockList,
    ChatBacklog,
    ChatClosed,
    ChatHistory,
    ChatJoin,
    ChatJoined,
    ChatLeave,
    ChatLeft,
    ChatLine,
    ChatMessage,
    ChatSend,
    ChatSent,
    ClientMessage,
    DirectMessageFrame,
    DmSend,
    DmSent,
    ServerMessage,
    Unblock,
)

_LINE = ChatLine(
    message_id="m_1", sender_id="p-1", sender_name="Ann", text="hello", sent_at=1767225600.5
)

CHAT_CLIENT_EXAMPLES: dict[str, ClientMessage] = {
    "chat_join": ChatJoin(rid="c-1", channel="global"),
    "chat_leave": ChatLeave(rid="c-2", channel="region:eu"),
    "chat_history": ChatHistory(rid="c-3", channel="guild:g_abc"),
    "chat_send": ChatSend(rid="c-4", channel="global", text="hello"),
    "dm_send": DmSend(rid="c-5", to="p-2", text="psst"),
    "block": Block(rid="c-6", player_id="p-3"),
    "unblock": Unblock(rid="c-7", player_id="p-3"),
}

CHAT_SERVER_EXAMPLES: dict[str, ServerMessage] = {
    "chat_joined": ChatJoined(rid="c-1", channel="global", history=(_LINE,)),
    "chat_left": ChatLeft(rid="c-2", channel="region:eu"),
    "chat_backlog": ChatBacklog(rid="c-3", channel="guild:g_abc", history=()),
    "chat_sent": ChatSent(rid="c-4", channel="global", message_id="m_2", sent_at=1767225601.0),
    "dm_sent": DmSent(rid="c-5", to="p-2", message_id="dm_1", sent_at=1767225601.5),
    "block_list": BlockList(rid="c-6", blocked=("p-3",)),
    "chat_message": ChatMessage(
        seq=12,
        sent_at=1767225601.0,
        channel="global",
        message_id="m_2",
        sender_id="p-1",
        sender_name="Ann",
        text="hello",
    ),
    "dm": DirectMessageFrame(
        seq=13,
        sent_at=1767225602.0,
        message_id="dm_1",
        sender_id="p-1",
        sender_name="Ann",
        text="psst",
        written_at=1767225601.5,
    ),
    "chat_closed": ChatClosed(seq=14, sent_at=1767225603.0, channel="party:p_1", reason="closed"),
}
