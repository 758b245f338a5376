"""The storage face of arenas and replays: rule configs, arenas, the placement log,
snapshots, participants, replays and their purge (see :mod:`tilemud.storage._link`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from tilemud.game import BattleResult, Placement, RuleConfig
from tilemud.storage import _repo_log as log_repo
from tilemud.storage import _repo_rounds as rounds_repo
from tilemud.storage import _repo_world as world_repo
from tilemud.storage._link import StorageLink
from tilemud.storage._records import (
    ArenaEvent,
    ArenaRecord,
    ParticipantRecord,
    PlacementRecord,
    Recovery,
    Replay,
    RoundEnd,
    RoundStart,
    Snapshot,
    TickChecksum,
)
from tilemud.storage._write_behind import PendingRow


class ArenaStorage(StorageLink):
    """What arenas, the arena directory, the replay janitor and the replay API use."""

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

    async def load_answered_placements(
        self, arena_id: str, *, after_tick: int
    ) -> tuple[PlacementRecord, ...]:
        """The committed placements of ``arena_id`` (a round's log id for an arena with
        rounds) after ``after_tick`` that carry a ``rid``: each was accepted, and a client
        repeating its ``rid`` is given that result (a restored arena; migration 0009).
        """
        return await self.transact(
            lambda c: log_repo.load_answered_placements(c, arena_id, after_tick=after_tick)
        )

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

    async def list_rounds(self, arena_id: str, *, limit: int = 100) -> list[ArenaRecord]:
        """The rounds of the epic arena ``arena_id``, the latest first (empty if none)."""
        return await self.transact(lambda c: rounds_repo.list_rounds(c, arena_id, limit=limit))

    async def latest_round(self, arena_id: str) -> ArenaRecord | None:
        """The highest-numbered round of the epic arena ``arena_id``, or None."""
        return await self.transact(lambda c: rounds_repo.latest_round(c, arena_id))

    def record_round_start(
        self, *, arena_id: str, round_id: str, round_number: int, first_tick: int
    ) -> int | None:
        """Buffer the start of a round of ``arena_id``, stored as arena ``round_id`` (its
        replay); never blocks. See :meth:`record_placements` for the return value."""
        row = RoundStart(
            arena_id=round_id, parent_id=arena_id, round=round_number, first_tick=first_tick
        )
        return self._buffer.offer([row])

    def record_round_end(self, round_id: str, result: Mapping[str, Any]) -> int | None:
        """Buffer the end of the round stored as ``round_id``, after its last ticks."""
        return self._buffer.offer([RoundEnd(arena_id=round_id, result=result)])

    def record_event(
        self, arena_id: str, tick: int, kind: str, detail: Mapping[str, Any]
    ) -> int | None:
        """Buffer an event of the arena's log at ``tick``; never blocks. See
        :meth:`record_placements` for the return value."""
        return self._buffer.offer(
            [ArenaEvent(arena_id=arena_id, tick=tick, kind=kind, detail=detail)]
        )

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
