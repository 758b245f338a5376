"""World actor: matchmaking and the directory of arenas on this node.

Owns:
    which arenas and battles run here, by mode and region, and who holds or has reserved a
    seat in each. It is the one place that decides where a player goes, so concurrent joins
    can never over-fill an arena.
Started by:
    the world supervisor, as child ``directory`` (permanent). Arenas themselves run under
    the ``arenas`` dynamic supervisor (transient children: a battle that ends returns).
Takes:
    ``FindArena`` (ask): Mode -> Region -> Load: the least-loaded arena of that mode and
    region with a free seat, or a new one; the seat is reserved before the answer.
    ``ReleaseSeat``: the player left, timed out, or never made it in (with no arena named:
    every seat reserved for the player).
    ``ArenaClosed``: a battle ended (sent by the arena's ``on_closed`` hook).
    ``ListArenas`` (ask): the directory, for discovery and tests.
Sends:
    nothing to players; it starts arenas through the dynamic supervisor.
Mailbox:
    ``world.arena_mailbox`` messages, ``BLOCK``: joins wait when matchmaking is busy.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import TypeAlias, assert_never

import attrs

from tilemud.actors._mailbox import Mailbox, Overflow, Ref, Reply, open_mailbox
from tilemud.actors.arena import Arena, ArenaMessage
from tilemud.config import WorldSettings
from tilemud.errors import ActorGone
from tilemud.game import Mode, RuleConfig
from tilemud.metrics import ArenaMeter
from tilemud.supervisors import ChildContext, ChildSpec, DynamicSupervisor, Restart

log = logging.getLogger("tilemud.world")


@attrs.frozen(kw_only=True)
class ArenaTicket:
    """A reserved seat: where the player should now send its ``JoinArena``."""

    arena_id: str
    ref: Ref[ArenaMessage]
    rules: RuleConfig


@attrs.frozen(kw_only=True)
class NoArena:
    """Why no seat could be found."""

    code: str
    message: str


@attrs.frozen(kw_only=True)
class ArenaListing:
    """One line of the directory."""

    arena_id: str
    mode: Mode
    region: str
    players: int
    capacity: int


@attrs.frozen(kw_only=True)
class FindArena:
    """Reserve a seat for ``player_id`` in an arena of ``mode`` in ``region``."""

    mode: Mode
    region: str
    player_id: str
    reply: Reply[ArenaTicket | NoArena]


@attrs.frozen(kw_only=True)
class ReleaseSeat:
    """``player_id`` no longer holds (or will not take) its seat in ``arena_id``.

    ``arena_id`` None releases every seat reserved for the player: a join whose
    ``FindArena`` timed out does not know which seat the world may have reserved for it.
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


WorldMessage: TypeAlias = FindArena | ReleaseSeat | ArenaClosed | ListArenas


@attrs.define
class _Entry:
    """The directory's record of one arena (state of the world actor only)."""

    arena_id: str
    mode: Mode
    region: str
    rules: RuleConfig
    ref: Ref[ArenaMessage]
    order: int
    seats: set[str] = attrs.field(factory=set)

    @property
    def capacity(self) -> int:
        return self.rules.player_cap


class World:
    """Matchmaking Mode -> Region -> Load over the arenas of this node."""

    def __init__(
        self,
        settings: WorldSettings,
        arenas: DynamicSupervisor,
        rules_for: Callable[[Mode], RuleConfig],
        *,
        meters: Mapping[Mode, ArenaMeter],
    ) -> None:
        self._settings = settings
        # Each arena gets its mode's meter (``ServerMetrics.arenas``, labels resolved once).
        self._meters = meters
        self._arenas = arenas
        self._rules_for = rules_for
        self._mailbox: Mailbox[WorldMessage] = open_mailbox(
            "world", settings.arena_mailbox, Overflow.BLOCK
        )
        self._entries: dict[str, _Entry] = {}
        self._order = itertools.count()

    @property
    def ref(self) -> Ref[WorldMessage]:
        """The world's mailbox (valid across restarts)."""
        return self._mailbox.ref

    async def run(self, ctx: ChildContext) -> None:
        """Serve matchmaking until cancelled (the child's entry point)."""
        # A restarted world has no memory of seats: arenas still running keep their
        # players, but new joins go to new arenas. TODO(#5): rebuild from the arenas.
        self._entries.clear()
        ctx.started(self.ref)
        async for message in self._mailbox.inbox:
            await self._handle(message)

    async def _handle(self, message: WorldMessage) -> None:
        match message:
            case FindArena():
                message.reply.send(await self._find(message))
            case ReleaseSeat(arena_id=arena_id, player_id=player_id):
                entries = (
                    list(self._entries.values())
                    if arena_id is None
                    else [e for e in (self._entries.get(arena_id),) if e is not None]
                )
                for entry in entries:
                    entry.seats.discard(player_id)
            case ArenaClosed(arena_id=arena_id):
                if self._entries.pop(arena_id, None) is not None:
                    log.info("arena closed", extra={"arena_id": arena_id})
            case ListArenas(reply=reply):
                reply.send(tuple(self._listing(entry) for entry in self._entries.values()))
            case _:
                assert_never(message)

    async def _find(self, request: FindArena) -> ArenaTicket | NoArena:
        if request.region not in self._settings.regions:
            regions = ", ".join(self._settings.regions)
            return NoArena(
                code="unknown_region",
                message=f"no region {request.region!r}; this server has {regions}",
            )
        entry = self._least_loaded(request.mode, request.region)
        if entry is None:
            if len(self._entries) >= self._settings.max_arenas:
                return NoArena(code="arena_unavailable", message="this node runs all it can")
            entry = await self._open_arena(request.mode, request.region)
        entry.seats.add(request.player_id)
        return ArenaTicket(arena_id=entry.arena_id, ref=entry.ref, rules=entry.rules)

    def _least_loaded(self, mode: Mode, region: str) -> _Entry | None:
        open_seats = [
            entry
            for entry in self._entries.values()
            if entry.mode == mode and entry.region == region and len(entry.seats) < entry.capacity
        ]
        # Least loaded first; among equals the oldest, so new arenas fill up predictably.
        return min(open_seats, key=lambda e: (len(e.seats), e.order), default=None)

    async def _open_arena(self, mode: Mode, region: str) -> _Entry:
        rules = self._rules_for(mode)
        arena_id = f"{'b' if mode == 'battle' else 'a'}_{secrets.token_urlsafe(9)}"
        world = self.ref

        def closed(arena_id: str) -> None:
            try:
                recorded = world.try_send(ArenaClosed(arena_id=arena_id))
            except ActorGone:
                return  # the world itself stopped: nothing left to tell
            if not recorded:
                log.warning(
                    "world mailbox full: arena close not recorded", extra={"arena_id": arena_id}
                )

        arena = Arena(
            arena_id=arena_id,
            mode=mode,
            region=region,
            rules=rules,
            seed=secrets.randbits(63),
            mailbox_size=self._settings.arena_mailbox,
            on_closed=closed,
            meter=self._meters[mode],
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
        )
        self._entries[arena_id] = entry
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

    @staticmethod
    def _listing(entry: _Entry) -> ArenaListing:
        return ArenaListing(
            arena_id=entry.arena_id,
            mode=entry.mode,
            region=entry.region,
            players=len(entry.seats),
            capacity=entry.capacity,
        )
