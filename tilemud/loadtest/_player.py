"""What one bot knows of its game, and what it makes of each frame: no I/O, no waiting.

A :class:`PlayerGame` holds a bot's seat, its stream accounting and board view, its
placements waiting for an answer and its own tiles. The bot's connection code
(:mod:`~tilemud.loadtest._bot`) feeds it every decoded frame (:meth:`PlayerGame.see`,
called by the client as the frame arrives, so latencies are timed before anything else
runs) and asks it for the next ``place`` or ``join`` to send.
"""

from __future__ import annotations

import itertools
import random
import time
from typing import Final

import attrs
import trio

from tilemud.loadtest._board import BoardView
from tilemud.loadtest._moves import Cell, choose_cell
from tilemud.loadtest._state import SwarmState
from tilemud.loadtest._tally import ACTION, BROADCAST, REPLAY, StreamAccount
from tilemud.player_client import STREAM_TYPES
from tilemud.protocol import (
    ArenaSnapshot,
    ArenaTick,
    BattleEnded,
    ErrorFrame,
    Join,
    Joined,
    Place,
    PlaceResult,
    PlayerJoined,
    PlayerLeft,
    RoundEnded,
    ServerMessage,
)

#: Own tiles a bot remembers under captures (older ones are likely inland or lost).
_KEPT_TILES: Final = 64
#: Seconds between two joins after a battle ended.
REJOIN_SPACING: Final = 1.0


@attrs.define
class Pending:
    """A placement sent and not answered yet."""

    sent: float
    cell: Cell
    kind: str

    def repeat(self, rid: str) -> Place:
        """The same placement again, with the same rid (after a resume)."""
        return Place(rid=rid, x=self.cell[0], y=self.cell[1], kind=self.kind)


class PlayerGame:
    """One bot's game state, counted into the swarm's tally as it changes.

    Args:
        state: what the bots of this process share (the tally, the live counts).
        rng: the bot's random source (cells and tile kinds).
    """

    def __init__(self, state: SwarmState, rng: random.Random) -> None:
        self.state = state
        self.rng = rng
        #: The player id the guest login gave.
        self.player_id: str | None = None
        self.stream = StreamAccount()
        self.view = BoardView(boards=state.boards)
        #: The answer of the join that seated the bot (arena and rules).
        self.joined: Joined | None = None
        self.seated = False
        #: Placements sent and not answered, by rid.
        self.pending: dict[str, Pending] = {}
        #: Placements repeated after a resume: the first answer may cross the repeat, and
        #: then the server answers the repeat too (the same frame, as docs/protocol.md says).
        self.repeated: set[str] = set()
        #: The bot's accepted tiles, oldest first.
        self.own: list[Cell] = []
        #: A join sent from the play loop (after a battle ended), not answered yet.
        self.join_rid: str | None = None
        self.next_join_at = 0.0
        #: The last seq acknowledged to the server.
        self.acked = 0
        #: After a resume: frames built before this wall time were resent, not broadcast.
        self.replay_before: float | None = None
        self._rids = itertools.count(1)

    @property
    def arena_id(self) -> str | None:
        """The arena the bot sits in (or last sat in)."""
        return None if self.joined is None else self.joined.arena_id

    def next_rid(self, prefix: str) -> str:
        """A request id never used by this bot's session, across its reconnects."""
        return f"{prefix}{next(self._rids)}"

    def next_place(self) -> Place:
        """The next placement to send, recorded as pending."""
        assert self.joined is not None
        rules = self.joined.rules
        if rules.captures:
            # Tiles taken from the bot are no base to grow or attack from.
            held = self.view.occupied
            self.own = [c for c in self.own[-_KEPT_TILES:] if held.get(c) == self.player_id]
        cell = choose_cell(
            self.rng,
            width=rules.width,
            height=rules.height,
            occupied=self.view.occupied,
            own=self.own,
            pending={p.cell for p in self.pending.values()},
            require_adjacency=rules.require_adjacency,
            me=self.player_id,
            captures=rules.captures,
            capture_margin=rules.capture_margin,
        )
        kind = rules.tile_kinds[self.rng.randrange(len(rules.tile_kinds))].name
        rid = self.next_rid("p")
        self.pending[rid] = Pending(sent=trio.current_time(), cell=cell, kind=kind)
        self.state.tally.events["places_sent"] += 1
        return Place(rid=rid, x=cell[0], y=cell[1], kind=kind)

    def next_join(self) -> Join:
        """A join for the play loop to send (the previous battle ended)."""
        config = self.state.config
        self.join_rid = self.next_rid("j")
        self.next_join_at = trio.current_time() + REJOIN_SPACING
        return Join(rid=self.join_rid, mode=config.mode, region=config.region)

    def see(self, frame: ServerMessage) -> None:
        """Take one frame, as soon as it is decoded."""
        tally = self.state.tally
        if isinstance(frame, STREAM_TYPES):
            tally.events["frames"] += 1
        match frame:
            case ArenaTick() | PlayerJoined() | PlayerLeft() | BattleEnded() | RoundEnded():
                replayed = self.replay_before is not None and frame.sent_at < self.replay_before
                self.state.record(REPLAY if replayed else BROADCAST, time.time() - frame.sent_at)
                if isinstance(frame, RoundEnded) and frame.arena_id == self.arena_id:
                    tally.events["round_ended_frames"] += 1
                    self.own.clear()  # the board is empty again: start anywhere
                elif isinstance(frame, BattleEnded) and frame.arena_id == self.arena_id:
                    tally.events["battles_ended"] += 1
                    self.unseat()
                elif (
                    isinstance(frame, PlayerLeft)
                    and frame.player_id == self.player_id
                    and frame.arena_id == self.arena_id
                ):
                    self.unseat()
            case ArenaSnapshot():
                tally.events["snapshots"] += 1
            case PlaceResult(rid=rid):
                pending = self.pending.pop(rid, None)
                if pending is None:
                    if rid in self.repeated:
                        self.repeated.discard(rid)
                        tally.events["answers_to_repeats"] += 1
                    else:
                        tally.events["answers_unexpected"] += 1
                    return
                self.state.record(ACTION, trio.current_time() - pending.sent)
                key = frame.outcome if frame.reason is None else f"rejected:{frame.reason}"
                tally.outcomes[key] += 1
                if frame.outcome == "accepted":
                    self.own.append((frame.x, frame.y))
                    if frame.captured is not None:
                        tally.events["captures"] += 1
            case Joined(rid=rid) if rid == self.join_rid:
                self.join_rid = None
                self.seat(frame)
                tally.events["rejoined"] += 1
            case ErrorFrame(rid=rid, code=code):
                if rid is None:
                    tally.errors[f"server:{code}"] += 1
                elif self.pending.pop(rid, None) is not None:
                    tally.errors[f"place:{code}"] += 1
                elif rid == self.join_rid:
                    self.join_rid = None
                    tally.errors[f"rejoin:{code}"] += 1
            case _:
                pass

    def seat(self, joined: Joined) -> None:
        """The bot took a seat."""
        if self.arena_id != joined.arena_id:
            self.own = []
        self.joined = joined
        if not self.seated:
            self.seated = True
            self.state.seated += 1
        self.state.tally.arenas[joined.arena_id] += 1

    def unseat(self) -> None:
        """The bot's seat is gone (its battle ended); it joins again a little later."""
        if self.seated:
            self.seated = False
            self.state.seated -= 1
        self.next_join_at = trio.current_time() + self.rng.uniform(0, REJOIN_SPACING)

    def lose_session(self) -> None:
        """A resume found no session: its stream, seat and answers in flight are gone."""
        tally = self.state.tally
        tally.stream.add_stream(self.stream)
        self.stream = StreamAccount()
        self.view = BoardView(boards=self.state.boards)
        self.acked = 0
        self.replay_before = None
        self.unseat()
        tally.errors["place:lost_with_session"] += len(self.pending)
        self.pending.clear()
        self.join_rid = None

    def retire(self) -> None:
        """The bot is done: count its stream and what was never answered."""
        tally = self.state.tally
        tally.stream.add_stream(self.stream)
        self.stream = StreamAccount()
        if self.pending:
            tally.errors["place:unanswered_at_end"] += len(self.pending)
            self.pending.clear()
        if self.seated:
            self.seated = False
            self.state.seated -= 1
