"""What chat needs of storage (:class:`ChatStore`), and an in-memory one for a node that
keeps nothing (``database.durable`` off) and for tests.

:class:`~tilemud.storage.ChatStorage` is the durable :class:`ChatStore`: every call is
one transaction, answered after its commit. :class:`MemoryChatStore` keeps the same
records in dictionaries of its own; they are gone when the process ends. It is touched
only from Trio tasks, between checkpoints, so it needs no lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import attrs

from tilemud.clock import utc_now
from tilemud.storage import ChatMessageRecord, ChatPurge, DirectMessageRecord


class ChatStore(Protocol):
    """Blocks, channel messages and direct messages, kept somewhere."""

    async def is_blocked(self, *, blocker_id: str, blocked_id: str) -> bool:
        """Whether ``blocker_id`` blocks ``blocked_id``."""
        ...

    async def block(self, *, blocker_id: str, blocked_id: str) -> bool:
        """Keep a block; True if it is new."""
        ...

    async def unblock(self, *, blocker_id: str, blocked_id: str) -> bool:
        """Lift a block; True if there was one."""
        ...

    async def load_blocked(self, blocker_id: str) -> tuple[str, ...]:
        """Whom ``blocker_id`` blocks, sorted."""
        ...

    async def player_exists(self, player_id: str) -> bool:
        """Whether the player was ever seen here."""
        ...

    async def record_chat_messages(self, messages: Sequence[ChatMessageRecord]) -> int:
        """Keep channel messages (known ids skipped); how many were new."""
        ...

    async def load_chat_history(
        self, channel: str, *, since: dt.datetime, limit: int
    ) -> list[ChatMessageRecord]:
        """The last ``limit`` messages of ``channel`` sent at or after ``since``, oldest first."""
        ...

    async def record_direct_message(self, message: DirectMessageRecord) -> DirectMessageRecord:
        """Keep a direct message; a known id returns the first record kept."""
        ...

    async def load_undelivered(
        self, recipient_id: str, *, limit: int = ...
    ) -> list[DirectMessageRecord]:
        """Direct messages to ``recipient_id`` not yet delivered, oldest first."""
        ...

    async def mark_delivered(self, message_ids: Sequence[str]) -> int:
        """Mark direct messages delivered; how many were newly marked."""
        ...

    async def purge_chat(
        self, *, before: Mapping[str, dt.datetime], direct_before: dt.datetime | None
    ) -> ChatPurge:
        """Delete what is older than its cut-off (a message exactly at it is kept)."""
        ...


class MemoryChatStore:
    """A :class:`ChatStore` in memory; see the module docstring.

    Args:
        clock: the wall clock delivery times are read from.
        max_messages: channel messages kept per channel (the oldest are forgotten).
    """

    def __init__(
        self, *, clock: Callable[[], dt.datetime] = utc_now, max_messages: int = 500
    ) -> None:
        self._clock = clock
        self._max_messages = max_messages
        self._blocks: dict[str, dict[str, dt.datetime]] = {}
        self._players: set[str] = set()
        self._channels: dict[str, list[ChatMessageRecord]] = {}
        self._chat_ids: set[str] = set()
        self._direct: dict[str, DirectMessageRecord] = {}

    def saw_player(self, player_id: str) -> None:
        """Remember that ``player_id`` played here (what :meth:`player_exists` answers)."""
        self._players.add(player_id)

    def _now(self) -> dt.datetime:
        return self._clock()

    async def is_blocked(self, *, blocker_id: str, blocked_id: str) -> bool:
        return blocked_id in self._blocks.get(blocker_id, {})

    async def block(self, *, blocker_id: str, blocked_id: str) -> bool:
        blocked = self._blocks.setdefault(blocker_id, {})
        if blocked_id in blocked:
            return False
        blocked[blocked_id] = self._now()
        return True

    async def unblock(self, *, blocker_id: str, blocked_id: str) -> bool:
        return self._blocks.get(blocker_id, {}).pop(blocked_id, None) is not None

    async def load_blocked(self, blocker_id: str) -> tuple[str, ...]:
        return tuple(sorted(self._blocks.get(blocker_id, {})))

    async def player_exists(self, player_id: str) -> bool:
        return player_id in self._players

    async def record_chat_messages(self, messages: Sequence[ChatMessageRecord]) -> int:
        new = 0
        for message in messages:
            if message.message_id in self._chat_ids:
                continue
            kept = self._channels.setdefault(message.channel, [])
            kept.append(message)
            self._chat_ids.add(message.message_id)
            new += 1
            if len(kept) > self._max_messages:
                self._chat_ids.discard(kept.pop(0).message_id)
        return new

    async def load_chat_history(
        self, channel: str, *, since: dt.datetime, limit: int
    ) -> list[ChatMessageRecord]:
        recent = [m for m in self._channels.get(channel, []) if m.sent_at >= since]
        return recent[-limit:] if limit else []

    async def record_direct_message(self, message: DirectMessageRecord) -> DirectMessageRecord:
        return self._direct.setdefault(message.message_id, message)

    async def load_undelivered(
        self, recipient_id: str, *, limit: int = 500
    ) -> list[DirectMessageRecord]:
        waiting = [
            m
            for m in self._direct.values()
            if m.recipient_id == recipient_id and m.delivered_at is None
        ]
        return sorted(waiting, key=lambda m: (m.sent_at, m.message_id))[:limit]

    async def mark_delivered(self, message_ids: Sequence[str]) -> int:
        now = self._now()
        marked = 0
        for message_id in message_ids:
            found = self._direct.get(message_id)
            if found is not None and found.delivered_at is None:
                self._direct[message_id] = attrs.evolve(found, delivered_at=now)
                marked += 1
        return marked

    async def purge_chat(
        self, *, before: Mapping[str, dt.datetime], direct_before: dt.datetime | None
    ) -> ChatPurge:
        chat = 0
        for channel, kept in self._channels.items():
            keep: list[ChatMessageRecord] = []
            for message in kept:
                cut = before.get(message.channel_type)
                if cut is None or message.sent_at >= cut:
                    keep.append(message)
                else:
                    self._chat_ids.discard(message.message_id)
            chat += len(kept) - len(keep)
            self._channels[channel] = keep
        direct = 0
        if direct_before is not None:
            old = [i for i, m in self._direct.items() if m.sent_at < direct_before]
            for message_id in old:
                del self._direct[message_id]
            direct = len(old)
        return ChatPurge(chat_messages=chat, direct_messages=direct)
