"""The storage face of chat: blocks, channel messages and direct messages, and whether a
player exists (see :mod:`tilemud.storage._link`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from tilemud.storage import _repo_chat as chat_repo
from tilemud.storage import _repo_world as world_repo
from tilemud.storage._link import StorageLink
from tilemud.storage._records_chat import ChatMessageRecord, ChatPurge, DirectMessageRecord


class ChatStorage(StorageLink):
    """The durable chat store (``tilemud.actors.chat``'s ``ChatStore``)."""

    async def is_blocked(self, *, blocker_id: str, blocked_id: str) -> bool:
        """Whether ``blocker_id`` blocks ``blocked_id`` (committed blocks only)."""
        return await self.transact(
            lambda c: chat_repo.is_blocked(c, blocker_id=blocker_id, blocked_id=blocked_id)
        )

    async def block(self, *, blocker_id: str, blocked_id: str) -> bool:
        """Store that ``blocker_id`` blocks ``blocked_id``; True if it is new."""
        at = self._clock()
        return await self.transact(
            lambda c: chat_repo.block(c, blocker_id=blocker_id, blocked_id=blocked_id, at=at)
        )

    async def unblock(self, *, blocker_id: str, blocked_id: str) -> bool:
        """Lift a block; True if there was one."""
        return await self.transact(
            lambda c: chat_repo.unblock(c, blocker_id=blocker_id, blocked_id=blocked_id)
        )

    async def load_blocked(self, blocker_id: str) -> tuple[str, ...]:
        """Whom ``blocker_id`` blocks, sorted."""
        return await self.transact(lambda c: chat_repo.load_blocked(c, blocker_id))

    async def record_chat_messages(self, messages: Sequence[ChatMessageRecord]) -> int:
        """Store channel messages (ids already stored are skipped); how many were new."""
        rows = tuple(messages)
        return await self.transact(lambda c: chat_repo.record_chat_messages(c, rows))

    async def load_chat_history(
        self, channel: str, *, since: dt.datetime, limit: int
    ) -> list[ChatMessageRecord]:
        """The last ``limit`` messages of ``channel`` sent at or after ``since``, oldest first."""
        return await self.transact(
            lambda c: chat_repo.load_chat_history(c, channel, since=since, limit=limit)
        )

    async def record_direct_message(self, message: DirectMessageRecord) -> DirectMessageRecord:
        """Store a direct message (after the commit); a repeated id returns the first row."""
        return await self.transact(lambda c: chat_repo.record_direct_message(c, message))

    async def load_undelivered(
        self, recipient_id: str, *, limit: int = 500
    ) -> list[DirectMessageRecord]:
        """Direct messages to ``recipient_id`` not yet delivered, oldest first."""
        return await self.transact(
            lambda c: chat_repo.load_undelivered(c, recipient_id, limit=limit)
        )

    async def mark_delivered(self, message_ids: Sequence[str]) -> int:
        """Mark direct messages delivered now; how many were newly marked."""
        at = self._clock()
        ids = tuple(message_ids)
        return await self.transact(lambda c: chat_repo.mark_delivered(c, ids, at=at))

    async def purge_chat(
        self, *, before: Mapping[str, dt.datetime], direct_before: dt.datetime | None
    ) -> ChatPurge:
        """Delete channel messages older than their type's cut-off and direct messages
        older than ``direct_before``; a message sent exactly at a cut-off is kept."""
        cuts = dict(before)
        chat, direct = await self.transact(
            lambda c: chat_repo.purge_chat(c, before=cuts, direct_before=direct_before)
        )
        return ChatPurge(chat_messages=chat, direct_messages=direct)

    async def player_exists(self, player_id: str) -> bool:
        """Whether ``player_id`` was ever seen here (committed ``players`` rows only)."""
        found = await self.transact(lambda c: world_repo.load_player(c, player_id))
        return found is not None
