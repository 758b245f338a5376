"""What the storage actor hands out: one face per domain over the one actor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tilemud.mailbox import Ref
from tilemud.storage._admin_storage import AdminStorage
from tilemud.storage._arena_storage import ArenaStorage
from tilemud.storage._chat_storage import ChatStorage
from tilemud.storage._guild_storage import GuildStorage
from tilemud.storage._link import StorageLink
from tilemud.storage._messages import StorageMessage
from tilemud.storage._player_storage import PlayerStorage
from tilemud.storage._rules_storage import RuleStorage
from tilemud.storage._write_behind import StorageStats, WriteBehind


class StorageClient(StorageLink):
    """The storage actor's ``ctx.started`` value: a face per domain, each handed by the
    composition root to the rooms of its domain (and the shared transaction and flush).

    Args:
        ref: the storage actor's mailbox.
        buffer: its write-behind buffer.
        clock: the wall clock timestamps are read from (timezone-aware UTC).
    """

    def __init__(
        self,
        ref: Ref[StorageMessage],
        buffer: WriteBehind,
        clock: Callable[[], dt.datetime],
    ) -> None:
        super().__init__(ref, buffer, clock)
        #: Arenas and replays.
        self.arenas = ArenaStorage(ref, buffer, clock)
        #: Chat, direct messages and blocks.
        self.chat = ChatStorage(ref, buffer, clock)
        #: Guilds.
        self.guilds = GuildStorage(ref, buffer, clock)
        #: Players.
        self.players = PlayerStorage(ref, buffer, clock)
        #: Admin accounts, the audit log, sanctions and reports.
        self.admin = AdminStorage(ref, buffer, clock)
        #: Rule-config versions and their activations.
        self.rules = RuleStorage(ref, buffer, clock)

    def stats(self) -> StorageStats:
        """The storage actor's counters, now."""
        return self._buffer.stats()
