"""What the arena actor takes (:data:`ArenaMessage`) and the answers it gives.

Every message is a frozen value. Requests that need an answer carry a one-shot
:class:`~tilemud.actors.Reply`; placement results and stream frames go out through the
player's :class:`~tilemud.actors.arena._links.PlayerLink` instead, because they arrive at the end
of a tick, long after the message was taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeAlias

import attrs

from tilemud.actors.arena._links import PlayerLink
from tilemud.game import Board, Mode, RuleConfig
from tilemud.mailbox import Reply

#: Why a player left: they asked, or their session timed out (its reconnect grace ran out).
LeaveReason: TypeAlias = Literal["left", "timeout"]
#: Why a join was refused: the arena is at ``rules.player_cap``, or it has ended.
RefusalCode: TypeAlias = Literal["arena_full", "arena_closed"]


@attrs.frozen(kw_only=True)
class ArenaJoined:
    """The player holds a seat; their stream was reset with a snapshot.

    Attributes:
        arena_id: the arena joined.
        rules: the rules it runs under.
        tick: the last resolved tick when the player was seated.
    """

    arena_id: str
    rules: RuleConfig
    tick: int


@attrs.frozen(kw_only=True)
class JoinRefused:
    """The player was not seated.

    Attributes:
        code: ``arena_full`` (at the player cap) or ``arena_closed`` (the battle is over or
            the arena is shutting down).
    """

    code: RefusalCode


#: The answer to :class:`JoinArena`.
JoinOutcome: TypeAlias = ArenaJoined | JoinRefused


@attrs.frozen(kw_only=True)
class TickStats:
    """How long the arena's ticks took to process, from its HdrHistogram.

    Processing is ``resolve_tick``, encoding and the fan-out to every player, measured with
    ``time.perf_counter`` (CPU-bound wall time, not Trio time). All durations in
    microseconds; zero while no tick has run.

    Attributes:
        count: ticks processed.
        skipped: tick boundaries passed over because processing overran them.
        max_us: the slowest tick.
        p50_us: median.
        p95_us: 95th percentile.
        p99_us: 99th percentile.
    """

    count: int
    skipped: int
    max_us: int
    p50_us: int
    p95_us: int
    p99_us: int


@attrs.frozen(kw_only=True)
class ArenaView:
    """A read-only picture of an arena, taken between two ticks.

    Attributes:
        arena_id: the arena.
        mode: ``battle`` or ``arena``.
        region: the region it serves.
        tick: the last resolved tick.
        rules: its rules.
        seed: its seed (conflict ranks and admission depend on it).
        board: the board after ``tick`` (immutable; safe to keep).
        scores: every tile holder's score, and 0 for seated players holding nothing.
        players: ids of the seated players, in the order they joined.
        tick_stats: tick processing times.
        frames_dropped: stream frames of this arena its players lost for good (evicted
            from a stream before the player had them; the player got a snapshot instead).
        npcs: ids of the seated NPCs, oldest first (not counted in ``players``).
    """

    arena_id: str
    mode: Mode
    region: str
    tick: int
    rules: RuleConfig
    seed: int
    board: Board
    scores: Mapping[str, int]
    players: tuple[str, ...]
    tick_stats: TickStats
    frames_dropped: int = 0
    npcs: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class JoinArena:
    """Seat a player (or give a seated player's replaced session its new link).

    Attributes:
        link: how the arena reaches the player from now on.
        reply: answered at once with :data:`JoinOutcome`.
    """

    link: PlayerLink
    reply: Reply[JoinOutcome]


@attrs.frozen(kw_only=True)
class LeaveArena:
    """Give up a seat. The player's tiles stay on the board and keep counting in scores.

    Attributes:
        player_id: who leaves; ignored when they hold no seat.
        reason: ``left`` or ``timeout``; told to the others in ``player_left``.
    """

    player_id: str
    reason: LeaveReason


@attrs.frozen(kw_only=True)
class PlaceTile:
    """Place a tile in the current tick; the result comes through the link at its end.

    Attributes:
        player_id: who places; must hold a seat (else the answer is ``not_in_arena``).
        rid: the client's request id, echoed in the result.
        x: column.
        y: row.
        kind: tile kind name.
    """

    player_id: str
    rid: str
    x: int
    y: int
    kind: str


@attrs.frozen(kw_only=True)
class Resync:
    """Reset a seated player's stream with a fresh snapshot (a gap, or a too-old resume).

    Attributes:
        player_id: whose stream; ignored when they hold no seat.
    """

    player_id: str


@attrs.frozen(kw_only=True)
class DescribeArena:
    """Ask for an :class:`ArenaView`, answered at once.

    Attributes:
        reply: the one-shot slot the view goes to.
    """

    reply: Reply[ArenaView]


@attrs.frozen(kw_only=True)
class WatchArena:
    """Add a spectator: ``link`` gets a snapshot now, then every frame the players get.

    A spectator holds no seat (it never counts against ``rules.player_cap``, places
    nothing and is never announced to the players); the console's live board is one.

    Attributes:
        link: how the arena reaches the spectator; its ``player_id`` names it (unique
            among the arena's spectators; a second watch with the same id replaces it).
        reply: answered at once: True when watching, False when the arena has ended.
    """

    link: PlayerLink
    reply: Reply[bool]


@attrs.frozen(kw_only=True)
class UnwatchArena:
    """Remove the spectator ``watcher_id`` (nothing happens when there is none)."""

    watcher_id: str


@attrs.frozen(kw_only=True)
class PlacementsStored:
    """The storage actor committed rows this arena logged: release the answers held for them.

    Sent by the storage actor's write-behind (``try_send``; when the mailbox is full the
    arena finds out at its next tick end anyway).
    """


#: Everything the arena actor takes, closed.
ArenaMessage: TypeAlias = (
    JoinArena
    | LeaveArena
    | PlaceTile
    | Resync
    | DescribeArena
    | WatchArena
    | UnwatchArena
    | PlacementsStored
)
