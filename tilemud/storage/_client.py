"""The thin client other actors use to reach the storage actor.

Two paths:

- **Critical** (``await``): each method sends one ``Transact`` ask and returns after the
  transaction committed (or raises). The caller sets the timeout (``trio.fail_after``);
  a caller that gives up does not stop a transaction already running in its thread.
- **Write-behind** (no ``await``): the ``record_*`` methods put rows into the bounded
  buffer and return at once: the rows' position (committed once :attr:`~StorageClient.settled`
  reaches it), or None when the buffer was full and the rows were not taken (counted in
  ``rows_refused``). :meth:`StorageClient.flush` waits until what was buffered is committed.

Errors: :class:`StorageUnavailable` (``code`` ``unavailable``, with ``retry_after``; also
:class:`StatementTimeout`), :class:`RecordNotFound`, :class:`RecordRejected`; a full or
closed mailbox raises :class:`~tilemud.errors.ActorGone` as any ``ask`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy.engine import Connection

from tilemud.game import BattleResult, Placement, RuleConfig
from tilemud.mailbox import Ref
from tilemud.storage import _repo_chat as chat_repo
from tilemud.storage import _repo_guilds as guild_repo
from tilemud.storage import _repo_log as log_repo
from tilemud.storage import _repo_world as world_repo
from tilemud.storage._messages import Answer, FlushWriteBehind, StorageMessage, Transact
from tilemud.storage._records import (
    ArenaRecord,
    ParticipantRecord,
    PlacementRecord,
    PlayerSeen,
    Recovery,
    Replay,
    Snapshot,
    TickChecksum,
)
from tilemud.storage._records_chat import ChatMessageRecord, ChatPurge, DirectMessageRecord
from tilemud.storage._records_guilds import GuildRecord, StoredRole
from tilemud.storage._write_behind import PendingRow, StorageStats, WriteBehind

T = TypeVar("T")


def _raise_or_return(answer: Answer) -> object:
    if answer.error is not None:
        raise answer.error
    return answer.value


class StorageClient:
    """What callers hold to use the storage actor (its ``ctx.started`` value).

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
        self._ref = ref
        self._buffer = buffer
        self._clock = clock

    async def transact(self, operation: Callable[[Connection], T]) -> T:
        """Run ``operation(conn)`` in one transaction on a storage thread; after the commit,
        return what it returned.

        ``operation`` must be synchronous and touch nothing but ``conn``: it runs in a
        worker thread. The repository functions of :mod:`tilemud.storage` are such.

        Raises:
            StorageUnavailable: the database is down or too slow; nothing was committed
                (or, rarely, the commit went through but its answer was lost: every
                repository write is idempotent, so retrying is safe).
            RecordRejected: a constraint failed.
            Exception: whatever ``operation`` raised.
        """
        answer: Answer = await self._ref.ask(
            lambda reply: Transact(operation=operation, reply=reply)
        )
        return cast(T, _raise_or_return(answer))

    async def upsert_player(self, *, player_id: str, name: str) -> None:
        """Remember that ``player_id`` (now called ``name``) was seen now."""
        at = self._clock()
        await self.transact(
            lambda c: world_repo.upsert_player(c, player_id=player_id, name=name, seen_at=at)
        )

    async def record_rule_config(self, rules: RuleConfig) -> str:
        """Store ``rules`` (once) and return its version, the content hash."""
        at = self._clock()
        return await self.transact(lambda c: world_repo.record_rule_config(c, rules, at=at))

    async def load_rule_config(self, version: str) -> RuleConfig:
        """The rule config stored under ``version``; :class:`RecordNotFound` if none."""
        return await self.transact(lambda c: world_repo.load_rule_config(c, version))

    async def create_arena(
        self, *, arena_id: str, mode: str, region: str, rules: RuleConfig, seed: int
    ) -> ArenaRecord:
        """Record an arena and its rule config, in one transaction; safe to repeat.

        Raises:
            RecordRejected: ``arena_id`` exists with other values.
            ValueError: ``seed`` is not in ``[0, 2**64)``.
        """
        at = self._clock()

        def create(conn: Connection) -> ArenaRecord:
            version = world_repo.record_rule_config(conn, rules, at=at)
            return world_repo.create_arena(
                conn,
                arena_id=arena_id,
                mode=mode,
                region=region,
                rules_version=version,
                seed=seed,
                at=at,
            )

        return await self.transact(create)

    async def end_arena(
        self, arena_id: str, result: BattleResult | Mapping[str, Any] | None = None
    ) -> ArenaRecord:
        """Flush the write-behind buffer, then mark the arena ended with ``result``.

        Once this returns the arena's replay is complete. An arena already ended keeps its
        first end.

        Raises:
            RecordNotFound: no such arena.
        """
        at = self._clock()
        body = result.to_dict() if isinstance(result, BattleResult) else result
        await self.flush()
        return await self.transact(
            lambda c: world_repo.end_arena(c, arena_id=arena_id, at=at, result=body)
        )

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a snapshot (after the commit; a second one of the same tick is ignored).

        Raises:
            RecordRejected: the arena is not stored.
        """
        at = self._clock()
        await self.transact(lambda c: log_repo.save_snapshot(c, snapshot, at=at))

    async def load_recovery(self, arena_id: str) -> Recovery:
        """The arena's latest snapshot and the placements logged after it.

        Only committed rows are read: call :meth:`flush` first to include buffered ones.

        Raises:
            RecordNotFound: no such arena.
        """
        return await self.transact(lambda c: log_repo.load_recovery(c, arena_id))

    async def list_live_arenas(self) -> list[ArenaRecord]:
        """Every arena not ended, oldest first."""
        return await self.transact(world_repo.list_live_arenas)

    async def load_replay(self, arena_id: str) -> Replay:
        """The arena's rules, seed, placements per tick and checksums.

        Raises:
            RecordNotFound: no such arena, or its replay was purged.
        """
        return await self.transact(lambda c: log_repo.load_replay(c, arena_id))

    async def load_participants(self, arena_id: str) -> tuple[str, ...]:
        """The ids of the players who took part in the arena, sorted.

        Empty for an unknown arena and after its replay was purged. Only committed rows
        are read: call :meth:`flush` first to include buffered ones.
        """
        return await self.transact(lambda c: log_repo.load_participants(c, arena_id))

    async def purge_replays(self, *, ended_before: dt.datetime, limit: int = 100) -> int:
        """Purge the replays of up to ``limit`` arenas ended before ``ended_before``.

        Returns:
            How many were purged; call again until 0.
        """
        at = self._clock()
        return await self.transact(
            lambda c: world_repo.purge_replays(c, ended_before=ended_before, at=at, limit=limit)
        )

    async def flush(self) -> None:
        """Wait until every write-behind row buffered before this call is committed.

        Raises:
            StorageUnavailable: a write failed meanwhile (the rows stay buffered and are
                retried; call again to wait for them).
        """
        _raise_or_return(await self._ref.ask(lambda reply: FlushWriteBehind(reply=reply)))

    def record_placements(
        self,
        arena_id: str,
        tick: int,
        placements: Sequence[Placement],
        *,
        checksum: str | None = None,
        snapshot: Snapshot | None = None,
        on_durable: Callable[[], None] | None = None,
    ) -> int | None:
        """Buffer what ``tick`` of an arena produced, in resolution order; never blocks.

        Args:
            arena_id: whose placements.
            tick: the tick that accepted them.
            placements: the accepted placements, in the order they were resolved (their
                ``ordinal`` in the log is their index here).
            checksum: the board checksum after the tick, stored with them.
            snapshot: a snapshot of the board after the tick, stored after them.
            on_durable: called in the storage actor's task, without blocking, once these
                rows are committed; asks for a write at once.

        Returns:
            The rows' position (committed once :attr:`settled` reaches it); None when the
            buffer is full: nothing was taken, the rows are counted in ``rows_refused``.
        """
        rows: list[PendingRow] = [
            PlacementRecord.of(arena_id, tick, ordinal, placement)
            for ordinal, placement in enumerate(placements)
        ]
        if checksum is not None:
            rows.append(TickChecksum(arena_id=arena_id, tick=tick, checksum=checksum))
        if snapshot is not None:
            rows.append(snapshot)
        return self._buffer.offer(rows, on_durable=on_durable)

    def record_checksum(self, arena_id: str, tick: int, checksum: str) -> int | None:
        """Buffer the board checksum after ``tick``; never blocks. See
        :meth:`record_placements` for the return value."""
        return self._buffer.offer([TickChecksum(arena_id=arena_id, tick=tick, checksum=checksum)])

    def record_snapshot(self, snapshot: Snapshot) -> int | None:
        """Buffer a snapshot; never blocks. See :meth:`record_placements`."""
        return self._buffer.offer([snapshot])

    def record_participant(self, arena_id: str, player_id: str) -> int | None:
        """Buffer that ``player_id`` took a seat in ``arena_id`` (who may see its replay)."""
        row = ParticipantRecord(arena_id=arena_id, player_id=player_id, joined=self._clock())
        return self._buffer.offer([row])

    def record_player_seen(self, player_id: str, name: str) -> int | None:
        """Buffer that ``player_id`` (now called ``name``) was seen now; never blocks."""
        return self._buffer.offer(
            [PlayerSeen(player_id=player_id, name=name, seen_at=self._clock())]
        )

    @property
    def room(self) -> int:
        """Rows the write-behind buffer can still take."""
        return self._buffer.room

    @property
    def settled(self) -> int:
        """The position up to which buffered rows are committed (see ``record_*``)."""
        return self._buffer.settled

    def retry_after(self) -> float:
        """Seconds after which a refused write is worth trying again."""
        backoff = self._buffer.outage_backoff
        return 1.0 if backoff is None else max(backoff, 0.1)

    def stats(self) -> StorageStats:
        """The storage actor's counters, now."""
        return self._buffer.stats()

    # -- social: chat, direct messages and blocks (tilemud/storage/_repo_chat.py) --

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

    def now(self) -> dt.datetime:
        """The wall clock the storage timestamps come from (timezone-aware UTC)."""
        return self._clock()

    # -- social: guilds (tilemud/storage/_repo_guilds.py) --

    async def load_guilds(self) -> list[GuildRecord]:
        """Every guild with its members and pending invites."""
        return await self.transact(guild_repo.load_guilds)

    async def create_guild(
        self, *, guild_id: str, name: str, name_key: str, leader_id: str
    ) -> None:
        """Found a guild led by ``leader_id`` (whose pending invites are dropped).

        Raises:
            RecordRejected: the name (``name_key``) is taken or the leader is in a guild.
        """
        at = self._clock()
        await self.transact(
            lambda c: guild_repo.create_guild(
                c, guild_id=guild_id, name=name, name_key=name_key, leader_id=leader_id, at=at
            )
        )

    async def invite_to_guild(self, *, guild_id: str, player_id: str, invited_by: str) -> None:
        """Record (or renew) an invite of ``player_id`` into the guild."""
        at = self._clock()
        await self.transact(
            lambda c: guild_repo.invite_to_guild(
                c, guild_id=guild_id, player_id=player_id, invited_by=invited_by, at=at
            )
        )

    async def drop_guild_invite(self, *, guild_id: str, player_id: str) -> None:
        """Forget a pending invite (declined)."""
        await self.transact(
            lambda c: guild_repo.drop_guild_invite(c, guild_id=guild_id, player_id=player_id)
        )

    async def join_guild(self, *, guild_id: str, player_id: str) -> None:
        """Make ``player_id`` a member; their pending invites are dropped.

        Raises:
            RecordRejected: the player is in a guild already.
        """
        at = self._clock()
        await self.transact(
            lambda c: guild_repo.join_guild(c, guild_id=guild_id, player_id=player_id, at=at)
        )

    async def remove_guild_member(self, *, guild_id: str, player_id: str) -> None:
        """Take a member out of the guild (left or kicked)."""
        await self.transact(
            lambda c: guild_repo.remove_guild_member(c, guild_id=guild_id, player_id=player_id)
        )

    async def set_guild_roles(self, *, guild_id: str, roles: Mapping[str, StoredRole]) -> None:
        """Give members new roles, in one transaction (a promotion, or a hand-over)."""
        wanted = dict(roles)
        await self.transact(
            lambda c: guild_repo.set_guild_roles(c, guild_id=guild_id, roles=wanted)
        )

    async def disband_guild(self, *, guild_id: str) -> None:
        """Delete the guild, its members and its invites."""
        await self.transact(lambda c: guild_repo.disband_guild(c, guild_id=guild_id))
