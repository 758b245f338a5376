"""The arena directory: matchmaking and the directory of arenas on this node.

Owns:
    which arenas and battles run here, by mode and region, and who holds or has reserved a
    seat in each. It is the one place that decides where a player goes, so concurrent joins
    can never over-fill an arena.
Started by:
    the world supervisor, as child ``directory`` (permanent). Arenas themselves run under
    the ``arenas`` dynamic supervisor (transient children: a battle that ends returns).
    On start it keeps the arenas still running under that supervisor and brings back,
    from storage, every arena stored as live that is not running (after a restart of the
    node, or of the arenas' supervisor): same id, rules, seed and board, no seats yet.
Takes:
    ``FindArena`` (ask): Mode -> Region -> Load: the least-loaded arena of that mode and
    region with a free seat, or a new one (under the rule version in force, from
    ``rules_for(mode, region)``); the seat is reserved before the answer. A party leader's
    ask reserves seats for the party in one arena with room for all. A new arena is stored
    (record and rules, committed) before it starts: with the database down the answer is
    ``unavailable`` with a ``retry_after``.
    ``ReleaseSeat``: the player left, timed out, or never made it in (with no arena named:
    every seat reserved for the player).
    ``ArenaClosed``: a battle ended (sent by the arena's ``on_closed`` hook).
    ``ListArenas`` (ask): the directory, for discovery and tests.
    In a cluster (``shards`` given, ``redis.url`` set; docs/operations.md, "Running a
    cluster"): a ``FindArena`` first asks the cluster where the player should play
    (Mode -> Region -> Load over every node) and answers ``elsewhere`` with the other
    node's card when it is not here; a new arena's lease is taken before it is stored;
    arenas stored as live are not brought back at start but adopted one by one:
    ``AdoptArena`` (from the shard keeper: an arena nobody leases) takes the lease, then
    restores it from storage; ``FenceArenas`` (from the keeper: leases lost or not
    renewed in time) stops those arenas at once; ``HandOver`` (ask; a drain) stops every
    arena, waits for storage to commit what they wrote, and gives their leases back.
Sends:
    nothing to players; it starts arenas through the dynamic supervisor and asks the
    storage actor (rules in force; create an arena; list and load live arenas at start).
Mailbox:
    ``world.arena_mailbox`` messages, ``BLOCK``: joins wait when matchmaking is busy.

Why one module of over 400 lines: seat reservations, arena starts and their restoring
after a restart change one state together; split, each part would reach into the other's.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeAlias, assert_never

import attrs

from tilemud.actors.arena._actor import Arena
from tilemud.actors.arena._journal import RecoveryMismatch
from tilemud.actors.arena._messages import ArenaMessage
from tilemud.actors.arena._npcs import NpcPolicy
from tilemud.actors.arena._rounds import load_live_state
from tilemud.actors.arena._shards import ClusterShards, NoRoom
from tilemud.cluster.link import ClusterUnavailable
from tilemud.cluster.nodes import NodeCard
from tilemud.config import WorldSettings
from tilemud.errors import ActorGone
from tilemud.game import ArenaState, Mode, Placement, RuleConfig, SnapshotError
from tilemud.mailbox import Mailbox, Overflow, Ref, Reply, open_mailbox
from tilemud.metrics import ArenaMeter
from tilemud.storage import (
    ArenaRecord,
    ArenaStorage,
    PlacementRecord,
    StorageError,
    StorageUnavailable,
)
from tilemud.supervisors import ChildContext, ChildSpec, DynamicSupervisor, Restart

log = logging.getLogger("tilemud.directory")

#: Seconds of placements whose rids an arena adopted from another node still answers: twice
#: the default reconnect grace, longer than a session's request log keeps its answers (the
#: grace and 30 s, ``answer_window``); kept so, since it costs a query, not memory.
ANSWERS_KEPT = 240.0


def _with_rid(row: PlacementRecord) -> Placement:
    return Placement(player_id=row.player_id, x=row.x, y=row.y, kind=row.kind, rid=row.rid)


@attrs.frozen(kw_only=True)
class ArenaTicket:
    """A reserved seat: where the player should now send its ``JoinArena``."""

    arena_id: str
    ref: Ref[ArenaMessage]
    rules: RuleConfig


@attrs.frozen(kw_only=True)
class NoArena:
    """Why no seat could be found (``retry_after`` when trying again later may help)."""

    code: str
    message: str
    retry_after: float | None = None
    #: With ``elsewhere``: the node where the player should play.
    node: NodeCard | None = None


@attrs.frozen(kw_only=True)
class ArenaListing:
    """One line of the directory."""

    arena_id: str
    mode: Mode
    region: str
    players: int
    capacity: int
    npcs: int = 0
    #: The arena's mailbox (the console's live board watches it); not part of equality.
    ref: Ref[ArenaMessage] | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class FindArena:
    """Reserve a seat for ``player_id`` in an arena of ``mode`` in ``region``.

    ``party``: the other members of the player's party (a leader entering a battle); a
    seat is reserved for each of them in the same arena, one with room for all, so that
    their own ``FindArena`` later gets it. A player who has a seat reserved in an arena
    of that mode and region gets that seat.
    """

    mode: Mode
    region: str
    player_id: str
    reply: Reply[ArenaTicket | NoArena]
    party: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ReleaseSeat:
    """``player_id`` no longer holds (or will not take) its seat in ``arena_id``.

    ``arena_id`` None releases every seat reserved for the player: a join whose
    ``FindArena`` timed out does not know which seat the directory may have reserved for it.
    """

    arena_id: str | None
    player_id: str


@attrs.frozen(kw_only=True)
class ArenaClosed:
    """``arena_id`` ended; its seats are gone."""

    arena_id: str


@attrs.frozen(kw_only=True)
class ListArenas:
    """Ask for the directory."""

    reply: Reply[tuple[ArenaListing, ...]]


@attrs.frozen(kw_only=True)
class AdoptArena:
    """Nobody leases ``record``'s arena: take its lease and bring it back from storage."""

    record: ArenaRecord


@attrs.frozen(kw_only=True)
class FenceArenas:
    """This node lost (or could not renew) these arenas' leases: stop them now."""

    arena_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class HandOver:
    """A drain: stop every arena, let storage commit, give their leases back; the reply
    is how many arenas were handed over."""

    reply: Reply[int]


DirectoryMessage: TypeAlias = (
    FindArena | ReleaseSeat | ArenaClosed | ListArenas | AdoptArena | FenceArenas | HandOver
)


@attrs.define
class _Entry:
    """The directory's record of one arena (the directory's own state)."""

    arena_id: str
    mode: Mode
    region: str
    rules: RuleConfig
    ref: Ref[ArenaMessage]
    order: int
    seats: set[str] = attrs.field(factory=set)
    npcs: Callable[[], int] = lambda: 0

    @property
    def capacity(self) -> int:
        return self.rules.player_cap


class ArenaDirectory:
    """Matchmaking Mode -> Region -> Load over the arenas of this node."""

    def __init__(
        self,
        settings: WorldSettings,
        arenas: DynamicSupervisor,
        rules_for: Callable[[Mode, str], Awaitable[RuleConfig]],
        *,
        meters: Mapping[Mode, ArenaMeter],
        storage: ArenaStorage | None = None,
        snapshot_ticks: int = 600,
        npcs: NpcPolicy | None = None,
        shards: ClusterShards | None = None,
    ) -> None:
        self._settings = settings
        self._shards = shards
        self._npcs = npcs
        self._storage = storage
        self._snapshot_ticks = snapshot_ticks
        # Each arena gets its mode's meter (``ServerMetrics.arenas``, labels resolved once).
        self._meters = meters
        self._arenas = arenas
        self._rules_for = rules_for
        self._mailbox: Mailbox[DirectoryMessage] = open_mailbox(
            "directory", settings.arena_mailbox, Overflow.BLOCK
        )
        self._entries: dict[str, _Entry] = {}
        self._order = itertools.count()

    @property
    def ref(self) -> Ref[DirectoryMessage]:
        """The directory's mailbox (valid across restarts)."""
        return self._mailbox.ref

    async def run(self, ctx: ChildContext) -> None:
        """Serve matchmaking until cancelled (the child's entry point)."""
        # Arenas still running keep their entries (and the seats reserved in them); the
        # others are gone, and come back from storage if they were not over.
        running = set(self._arenas.child_ids())
        for arena_id in [a for a in self._entries if a not in running]:
            del self._entries[arena_id]
        if self._shards is None:
            await self._bring_back_live_arenas()
        else:
            # Leases of arenas that stopped with the arenas' supervisor go back: the shard
            # keeper finds those arenas orphaned, and this node or another adopts them.
            for arena_id in self._shards.leases.book.arena_ids:
                if arena_id not in self._entries:
                    await self._shards.release(arena_id)
        # In a cluster the shard keeper finds arenas nobody runs and sends AdoptArena.
        ctx.started(self.ref)
        async for message in self._mailbox.inbox:
            await self._handle(message)

    async def _handle(self, message: DirectoryMessage) -> None:
        match message:
            case FindArena():
                message.reply.send(await self._find(message))
                self._poke()
            case ReleaseSeat(arena_id=arena_id, player_id=player_id):
                entries = (
                    list(self._entries.values())
                    if arena_id is None
                    else [e for e in (self._entries.get(arena_id),) if e is not None]
                )
                for entry in entries:
                    entry.seats.discard(player_id)
                self._poke()
            case ArenaClosed(arena_id=arena_id):
                if self._entries.pop(arena_id, None) is not None:
                    log.info("arena closed", extra={"arena_id": arena_id})
                    if self._shards is not None:
                        await self._shards.release(arena_id)
                    self._poke()
            case ListArenas(reply=reply):
                reply.send(self._listings())
            case AdoptArena(record=record):
                await self._adopt(record)
            case FenceArenas(arena_ids=arena_ids):
                for arena_id in arena_ids:
                    await self._stop_arena(arena_id)
                self._poke()
            case HandOver(reply=reply):
                reply.send(await self._hand_over())
            case _:
                assert_never(message)

    async def _find(self, request: FindArena) -> ArenaTicket | NoArena:
        if request.region not in self._settings.regions:
            regions = ", ".join(self._settings.regions)
            return NoArena(
                code="unknown_region",
                message=f"no region {request.region!r}; this server has {regions}",
            )
        entry = self._reserved_for(request)
        if entry is not None:
            return ArenaTicket(arena_id=entry.arena_id, ref=entry.ref, rules=entry.rules)
        if self._shards is not None:
            try:
                node = await self._shards.route(request.mode, request.region, self._listings())
            except NoRoom as exc:
                return NoArena(
                    code="arena_unavailable", message=str(exc), retry_after=self._retry_after()
                )
            if node is not None:
                return NoArena(
                    code="elsewhere",
                    message=f"play on node {node.node_id}: {node.ws_url}",
                    node=node,
                )
        # Party members already holding a seat somewhere keep it and are not moved.
        mates = [m for m in request.party if not any(m in e.seats for e in self._entries.values())]
        entry = self._least_loaded(request.mode, request.region, need=1 + len(mates))
        if entry is None:
            if len(self._entries) >= self._settings.max_arenas:
                # No room for the whole party and no new arena: the leader alone, if possible.
                entry = self._least_loaded(request.mode, request.region) if mates else None
                if entry is None:
                    return NoArena(code="arena_unavailable", message="this node runs all it can")
            else:
                opened = await self._open_arena(request.mode, request.region)
                if isinstance(opened, NoArena):
                    return opened
                entry = opened
        entry.seats.add(request.player_id)
        entry.seats.update(mates[: max(0, entry.capacity - len(entry.seats))])
        return ArenaTicket(arena_id=entry.arena_id, ref=entry.ref, rules=entry.rules)

    def _reserved_for(self, request: FindArena) -> _Entry | None:
        """The arena of that mode and region where a seat is kept for the player (a party's)."""
        for entry in self._entries.values():
            if (
                request.player_id in entry.seats
                and entry.mode == request.mode
                and entry.region == request.region
            ):
                return entry
        return None

    def _least_loaded(self, mode: Mode, region: str, need: int = 1) -> _Entry | None:
        open_seats = [
            entry
            for entry in self._entries.values()
            if entry.mode == mode
            and entry.region == region
            and len(entry.seats) + need <= entry.capacity
        ]
        # Least loaded first; among equals the oldest, so new arenas fill up predictably.
        return min(open_seats, key=lambda e: (len(e.seats), e.order), default=None)

    async def _bring_back_live_arenas(self) -> None:
        """Start every arena storage holds as live that does not run here."""
        if self._storage is None:
            return
        # Raises StorageUnavailable when the database is down: the supervisor retries,
        # and the node does not serve half its world.
        for record in await self._storage.list_live_arenas():
            if record.arena_id in self._entries:
                continue
            await self._restore_arena(record)

    async def _restore_arena(self, record: ArenaRecord) -> None:
        assert self._storage is not None
        try:
            rules, state, round_number = await load_live_state(self._storage, record)
        except (RecoveryMismatch, SnapshotError) as exc:
            # Its log does not rebuild its board: bringing it back would put players on a
            # board nobody played. It stays live in storage, for an operator to look at.
            log.error(
                "arena not brought back: %s",
                exc,
                extra={"arena_id": record.arena_id},
            )
            return
        mode: Mode = "battle" if record.mode == "battle" else "arena"
        answered: tuple[tuple[int, Placement], ...] = ()
        if self._shards is not None:
            # Another node ran it: the answers of its last placements may have died with
            # it. Placements of a round log under the round's id.
            log_id = (
                record.arena_id if round_number is None else f"{record.arena_id}.{round_number}"
            )
            window = round(ANSWERS_KEPT * rules.tick_rate_hz)
            rows = await self._storage.load_answered_placements(
                log_id, after_tick=state.tick - window
            )
            answered = tuple((row.tick, _with_rid(row)) for row in rows)
        await self._start_arena(
            arena_id=record.arena_id,
            mode=mode,
            region=record.region,
            rules=rules,
            seed=record.seed,
            restored=state,
            restored_round=round_number,
            answered=answered,
        )
        log.info(
            "arena brought back from storage",
            extra={
                "arena_id": record.arena_id,
                "tick": state.tick,
                "round": round_number,
            },
        )

    async def _open_arena(self, mode: Mode, region: str) -> _Entry | NoArena:
        arena_id = f"{'b' if mode == 'battle' else 'a'}_{secrets.token_urlsafe(9)}"
        seed = secrets.randbits(63)
        try:
            # The rule version in force now; the arena keeps it for its whole life (a
            # restart brings it back with the rules stored with it, not these).
            rules = await self._rules_for(mode, region)
            if self._shards is not None and not await self._shards.claim(arena_id):
                raise ClusterUnavailable("a new arena's lease was taken", retry_after=1.0)
            if self._storage is not None:
                await self._storage.create_arena(
                    arena_id=arena_id, mode=mode, region=region, rules=rules, seed=seed
                )
        except StorageUnavailable as exc:
            if self._shards is not None:
                await self._shards.release(arena_id)
            return NoArena(
                code="unavailable",
                message=f"no arena can be opened while the database is down: {exc}",
                retry_after=exc.retry_after,
            )
        except ClusterUnavailable as exc:
            # Without its lease an arena could be run twice: none is opened.
            return NoArena(
                code="unavailable",
                message=f"no arena can be opened while the cluster is unreachable: {exc}",
                retry_after=exc.retry_after,
            )
        entry = await self._start_arena(
            arena_id=arena_id, mode=mode, region=region, rules=rules, seed=seed
        )
        log.info(
            "arena opened",
            extra={
                "arena_id": arena_id,
                "mode": mode,
                "region": region,
                "rules": rules.content_hash,
            },
        )
        return entry

    async def _start_arena(
        self,
        *,
        arena_id: str,
        mode: Mode,
        region: str,
        rules: RuleConfig,
        seed: int,
        restored: ArenaState | None = None,
        restored_round: int | None = None,
        answered: tuple[tuple[int, Placement], ...] = (),
    ) -> _Entry:
        directory = self.ref

        def closed(arena_id: str) -> None:
            try:
                recorded = directory.try_send(ArenaClosed(arena_id=arena_id))
            except ActorGone:
                return  # the directory itself stopped: nothing left to tell
            if not recorded:
                log.warning(
                    "directory mailbox full: arena close not recorded", extra={"arena_id": arena_id}
                )

        arena = Arena(
            arena_id=arena_id,
            mode=mode,
            region=region,
            rules=rules,
            seed=seed,
            mailbox_size=self._settings.arena_mailbox,
            on_closed=closed,
            meter=self._meters[mode],
            storage=self._storage,
            snapshot_ticks=self._snapshot_ticks,
            restored=restored,
            restored_round=restored_round,
            npcs=self._npcs,
            answered=answered,
        )
        await self._arenas.start_child(
            # A graceful stop lets the arena finish its tick and answer what it holds.
            ChildSpec(id=arena_id, run=arena.run, restart=Restart.TRANSIENT, shutdown=2.0)
        )
        entry = _Entry(
            arena_id=arena_id,
            mode=mode,
            region=region,
            rules=rules,
            ref=arena.ref,
            order=next(self._order),
            npcs=lambda: arena.npcs_seated,
        )
        self._entries[arena_id] = entry
        return entry

    def _listings(self) -> tuple[ArenaListing, ...]:
        return tuple(self._listing(entry) for entry in self._entries.values())

    def _poke(self) -> None:
        if self._shards is not None:
            self._shards.poke()

    def _retry_after(self) -> float:
        return 1.0 if self._shards is None else self._shards.settings.heartbeat_interval

    async def _adopt(self, record: ArenaRecord) -> None:
        """Take an orphan's lease and bring it back (a keeper's ``AdoptArena``)."""
        shards = self._shards
        if shards is None or shards.draining or record.arena_id in self._entries:
            return
        if len(self._entries) >= self._settings.max_arenas:
            return
        try:
            if not await shards.claim(record.arena_id):
                return  # another node was first
        except ClusterUnavailable:
            return
        try:
            await self._restore_arena(record)
        except StorageError as exc:
            log.warning("orphan not adopted: %s", exc, extra={"arena_id": record.arena_id})
        if record.arena_id not in self._entries:
            await shards.release(record.arena_id)
        else:
            log.info("arena adopted", extra={"arena_id": record.arena_id})
            self._poke()

    async def _stop_arena(self, arena_id: str) -> bool:
        """Stop one arena of this node (it stays live in storage, snapshotted)."""
        if self._entries.pop(arena_id, None) is None:
            return False
        await self._arenas.stop_child(arena_id)
        return True

    async def _hand_over(self) -> int:
        """Stop every arena, wait for storage to commit, give the leases back."""
        arena_ids = list(self._entries)
        for arena_id in arena_ids:
            await self._stop_arena(arena_id)
        if self._storage is not None and arena_ids:
            try:
                # The next owner restores from storage: what these arenas wrote must be in.
                await self._storage.flush()
            except StorageError as exc:
                # Leases kept: they expire unrenewed, the flush may still go through.
                log.error("hand-over without the final flush: %s", exc)
                return 0
        if self._shards is not None:
            for arena_id in arena_ids:
                await self._shards.release(arena_id)
        self._poke()
        log.info("arenas handed over", extra={"arenas": arena_ids})
        return len(arena_ids)

    @staticmethod
    def _listing(entry: _Entry) -> ArenaListing:
        return ArenaListing(
            arena_id=entry.arena_id,
            mode=entry.mode,
            region=entry.region,
            players=len(entry.seats),
            capacity=entry.capacity,
            npcs=entry.npcs(),
            ref=entry.ref,
        )
