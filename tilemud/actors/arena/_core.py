"""The arena's table: its game state, seats and queued placements, without Trio.

:class:`ArenaCore` is the state the arena actor owns and the synchronous steps it takes
on it: seat and unseat players, queue placements, resolve a tick and fan its frames out.
It knows nothing of time or mailboxes (the actor in :mod:`tilemud.actors.arena._actor` decides
when a tick ends); every method runs to completion in the actor's task and never waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from tilemud.actors.arena._clock import TickTimes
from tilemud.actors.arena._frames import ArenaFrames
from tilemud.actors.arena._journal import ArenaJournal, HeldAnswer
from tilemud.actors.arena._links import PlayerLink
from tilemud.actors.arena._messages import (
    ArenaJoined,
    ArenaView,
    JoinOutcome,
    JoinRefused,
    LeaveReason,
)
from tilemud.actors.arena._npcs import NpcPolicy, NpcRoster
from tilemud.actors.arena._seats import Seats
from tilemud.game import (
    ArenaState,
    BattleResult,
    Mode,
    Placement,
    PlacementResult,
    RuleConfig,
    SnapshotRows,
    end_round,
    resolve_tick,
    round_first_tick,
    round_of,
    round_over,
)
from tilemud.metrics import ArenaMeter
from tilemud.protocol import MAX_COORD

log = logging.getLogger("tilemud.arena")


class ArenaCore:
    """One arena's board, seats and current tick's placements."""

    def __init__(
        self,
        *,
        arena_id: str,
        mode: Mode,
        region: str,
        rules: RuleConfig,
        seed: int,
        meter: ArenaMeter,
        journal: ArenaJournal | None = None,
        npcs: NpcRoster | None = None,
        rows: SnapshotRows | None = None,
    ) -> None:
        self.arena_id = arena_id
        #: The arena's NPC seats (not human seats), their turns and territories.
        self.npcs = (
            NpcPolicy(enabled=False).roster(arena_id=arena_id, rules=rules, seed=seed)
            if npcs is None
            else npcs
        )
        #: Where accepted placements are logged and their answers held (None: not stored).
        self.journal = journal
        self.mode = mode
        self.region = region
        self.rules = rules
        self.seed = seed
        #: The state after the last resolved tick (replaced, never changed in place).
        self.state = ArenaState.start(rules)
        #: Set once the arena is ending: joins are refused from then on.
        self.closing = False
        self.times = TickTimes()
        self._meter = meter
        self._seats = Seats()
        self._pending: list[Placement] = []
        # Placements committed by an earlier owner of this arena, by (player, rid), with
        # their tick: a repeat of such a rid is answered, not applied again (failover).
        self._answered_before: dict[tuple[str, str], tuple[int, Placement]] = {}
        # Joins are announced once per tick, in one frame: a join storm of 300 players
        # would otherwise send 45,000 frames (each joiner announced to everyone seated).
        self._joined: dict[str, str] = {}
        self._frames = ArenaFrames(arena_id, rows)
        #: The round being played (always 1 without ``rules.round_ticks``).
        self.round = 1

    # -- seats ----------------------------------------------------------------------------

    def take_seat(self, link: PlayerLink) -> JoinOutcome:
        """Seat ``link``'s player (or give a seated one this new link), owed a snapshot
        until :meth:`welcome_joiners` (the arena calls it before it next waits): one for
        all the joins of a batch, where one each (~7 KB at 300 seats) held ~3 MB in a
        burst of 1,000 joins until acked (docs/performance.md)."""
        player_id = link.player_id
        if self.closing:
            return JoinRefused(code="arena_closed")
        # A seated player joining again had their session replaced: same seat, new link,
        # a fresh snapshot, and nobody else is told.
        if player_id not in self._seats and len(self._seats) >= self.rules.player_cap:
            return JoinRefused(code="arena_full")
        if self._seats.seat_unwelcomed(link):
            self._joined[player_id] = link.name  # announced at the end of the tick
        return ArenaJoined(arena_id=self.arena_id, rules=self.rules, tick=self.state.tick)

    def welcome_joiners(self) -> None:
        """Send the joins taken since the last call one snapshot (the same text for all);
        one that cannot be built leaves the seats as they were before those joins, so a
        restarted arena does not trip over the same joiners again."""
        newcomers = self._seats.welcome(
            lambda: self._frames.snapshot(self.state, players=self._players()), self._joined
        )
        for player_id in newcomers:
            if self.journal is not None:
                self.journal.record_participant(player_id)
            log.debug("player joined", extra={"arena_id": self.arena_id, "player_id": player_id})

    def leave(self, player_id: str, reason: LeaveReason) -> None:
        """Free ``player_id``'s seat, if they hold one, and tell the others."""
        if self._seats.unseat(player_id) is None:
            return
        if self._joined.pop(player_id, None) is not None:
            return  # joined and left within one tick: the others never heard of it
        self._seats.publish(self._frames.player_left(player_id=player_id, reason=reason))
        log.debug(
            "player left",
            extra={"arena_id": self.arena_id, "player_id": player_id, "reason": reason},
        )

    def resync(self, player_id: str | None = None) -> None:
        """Reset one seated player's stream (or everybody's) with a fresh snapshot."""
        if player_id is not None and player_id not in self._seats:
            return
        snapshot = self._frames.snapshot(self.state, players=self._players())
        if player_id is None:
            for link in (*self._seats, *self._seats.watchers()):
                link.reset_stream(snapshot)
        elif (seated := self._seats.get(player_id)) is not None:
            seated.reset_stream(snapshot)

    def watch(self, link: PlayerLink) -> bool:
        """Add a spectator and reset its stream with a snapshot; False once closing."""
        if self.closing:
            return False
        snapshot = self._frames.snapshot(self.state, players=self._players())
        self._seats.watch(link)
        link.reset_stream(snapshot)
        return True

    def unwatch(self, watcher_id: str) -> None:
        """Remove a spectator."""
        self._seats.unwatch(watcher_id)

    def tell_closed(self) -> None:
        """Tell every seated player and spectator the arena is gone; its NPCs stop
        counting."""
        for link in (*self._seats, *self._seats.watchers()):
            link.arena_closed(self.arena_id)
        self.npcs.closed()

    def _players(self) -> dict[str, str]:
        """Everyone at the table, humans and NPCs: id -> display name."""
        players = self._seats.names()
        players.update(self.npcs.names())
        return players

    def seat_npcs(self) -> None:
        """Seat or unseat NPCs to the current cap and hand every NPC its next turn.

        Joins are announced with the tick's other joins; leaves at once, newest first.
        """
        npcs = self.npcs
        joined, left, moved = npcs.adjust()
        if moved and self.journal is not None:
            # In the replay: why NPCs left or came back at this tick.
            self.journal.record_event(
                self.state.tick,
                "npc_capacity",
                {"npc_cap": npcs.cap, "shed_steps": npcs.steps},
            )
        self._joined.update(joined)
        for npc in left:
            if self._joined.pop(npc, None) is None:
                self._seats.publish(self._frames.player_left(player_id=npc, reason="left"))
        npcs.give_turns(self.state)

    # -- placements and ticks -------------------------------------------------------------

    def place(self, *, player_id: str, rid: str, x: int, y: int, kind: str) -> None:
        """Queue a placement for the current tick, or answer at once why it cannot be."""
        link = self._seats.get(player_id)
        if link is None:
            self._refuse(player_id, rid)
        elif not (0 <= x <= MAX_COORD and 0 <= y <= MAX_COORD):
            # No ``place`` frame names such a cell, and no result frame could.
            link.reply(rid, self._frames.bad_cell(rid))
        elif self._answered_before and (player_id, rid) in self._answered_before:
            tick, placement = self._answered_before[(player_id, rid)]
            accepted = PlacementResult(placement=placement, outcome="accepted")
            link.reply(rid, self._frames.place_result(accepted, rid=rid, tick=tick))
        else:
            self._pending.append(Placement(player_id=player_id, x=x, y=y, kind=kind, rid=rid))

    def place_too_late(self, *, player_id: str, rid: str, x: int, y: int, kind: str) -> None:
        """Answer a placement that arrived after the last tick."""
        link = self._seats.link_of(player_id)
        if link is None:
            return
        if self.state.ended is None:
            link.reply(rid, self._frames.arena_gone(rid))
            return
        placement = Placement(player_id=player_id, x=x, y=y, kind=kind, rid=rid)
        late = PlacementResult(placement=placement, outcome="rejected", reason="battle_over")
        link.reply(rid, self._frames.place_result(late, rid=rid, tick=self.state.tick))

    def _refuse(self, player_id: str, rid: str) -> None:
        link = self._seats.link_of(player_id)
        if link is None:
            # Never seated here: there is no way to reach them. Sessions check their seat
            # before sending, so this is a bug elsewhere, not player input.
            log.warning(
                "placement from a player never seated here dropped",
                extra={"arena_id": self.arena_id, "player_id": player_id, "rid": rid},
            )
            return
        link.reply(rid, self._frames.not_in_arena(rid))

    def end_tick(self, tick: int) -> BattleResult | None:
        """Resolve ``tick``, answer its placements, publish its changes; time all of it.

        Returns:
            How the battle ended, once it has (and at every later tick); None meanwhile.
        """
        started = time.perf_counter()
        if self.rules.round_ticks is not None and round_of(tick, self.rules) > self.round:
            # The round's last tick was skipped (an overrun): end it before this one.
            self._end_round()
        # NPCs' placements join the tick first: what storage cannot take, nobody places.
        self._pending.extend(self.npcs.collect(tick))
        journal = self.journal
        if journal is not None and self._pending and not journal.can_take(len(self._pending)):
            self._refuse_unstorable(journal.retry_after())
        before = self.state
        state, outcome = resolve_tick(
            before, self._pending, tick=tick, seed=self.seed, rules=self.rules
        )
        # Committed together: a crash after this line never resolves a placement twice.
        self.state, self._pending = state, []
        self.npcs.resolved(outcome)
        position = None
        if journal is not None and outcome.placed:
            position = journal.record_tick(state, outcome.accepted, outcome.checksum)
        frames = self._frames
        held: list[HeldAnswer] = []
        for result in outcome.results:
            placement = result.placement
            link = self._seats.link_of(placement.player_id)
            if link is None or placement.rid is None:
                continue
            frame = frames.place_result(result, rid=placement.rid, tick=tick)
            if position is not None and result.outcome == "accepted":
                # An acknowledgement: sent once the placement is stored (see _arena_journal).
                held.append((link, placement.rid, frame))
            else:
                link.reply(placement.rid, frame)
        if journal is not None:
            if position is not None:
                journal.hold(position, held)
            journal.release()  # also those whose wake-up found the mailbox full
        if self._joined:
            # Followed by the tick's frame, if any: each player gets both in one write.
            joined = frames.players_joined(list(self._joined.items()))
            self._seats.publish(joined, ring=not outcome.placed)
            self._joined.clear()
        if outcome.placed:
            self._seats.publish(frames.tick(outcome, scores_before=before.scores))
        if round_over(tick, self.round, self.rules):
            self._end_round()
        if outcome.ended is None:
            self.seat_npcs()
        elapsed = time.perf_counter() - started
        self.times.record(elapsed)
        meter = self._meter
        meter.tick_seconds.observe(elapsed)
        if outcome.results:
            meter.placements_resolved(outcome.results)
        return outcome.ended

    def _refuse_unstorable(self, retry_after: float) -> None:
        """Refuse the queued placements: the write-behind buffer could not log them."""
        pending, self._pending = self._pending, []
        log.warning(
            "placements refused: they could not be stored",
            extra={"arena_id": self.arena_id, "placements": len(pending)},
        )
        for placement in pending:
            link = self._seats.link_of(placement.player_id)
            if link is not None and placement.rid is not None:
                link.reply(placement.rid, self._frames.not_stored(placement.rid, retry_after))

    @property
    def replay_id(self) -> str:
        """The storage id of the current round's replay (the arena's id without rounds)."""
        if self.rules.round_ticks is None:
            return self.arena_id
        return f"{self.arena_id}.{self.round}"

    def begin_round(self) -> None:
        """Log the current round's start (again, after a restart: that is harmless)."""
        if self.journal is not None and self.rules.round_ticks is not None:
            self.journal.begin_round(
                replay_id=self.replay_id,
                round_number=self.round,
                first_tick=max(round_first_tick(self.round, self.rules), self.state.tick + 1),
                players=self._seats.ids(),
            )

    def _end_round(self) -> None:
        """End the current round: tell everyone, store its end, clear the board, go on."""
        replay_id = self.replay_id
        state, result = end_round(self.state, round_number=self.round, rules=self.rules)
        self._seats.publish(self._frames.round_ended(result, replay_id=replay_id))
        if self.journal is not None:
            self.journal.end_round(result)
        self.state = state
        self.npcs.restored(state)
        self.round += 1
        self.begin_round()
        log.info(
            "round ended",
            extra={
                "arena_id": self.arena_id,
                "round": result.round,
                "tick": result.last_tick,
                "winners": list(result.winners[:5]),
            },
        )

    def restore(
        self,
        state: ArenaState,
        round_number: int | None = None,
        answered: Sequence[tuple[int, Placement]] = (),
    ) -> None:
        """Run on from ``state`` (rebuilt from storage); queued placements stay queued.

        Args:
            state: the state to run on from.
            round_number: the round ``state`` is in; None keeps the current one.
            answered: placements committed before (with their tick) whose answers may
                have been lost with the node that ran the arena: a repeat of one of their
                rids by its player is answered with its ``accepted`` result.
        """
        self._answered_before = {
            (placement.player_id, placement.rid): (tick, placement)
            for tick, placement in answered
            if placement.rid is not None
        }
        if round_number is not None:
            self.round = round_number
        self.state = state
        self.npcs.restored(state)
        self.begin_round()  # the round's row before anything logged into it
        if self.journal is not None:
            self.journal.restored(state)

    def announce_end(self, result: BattleResult) -> None:
        """Publish ``battle_ended`` to every seated player."""
        self._seats.publish(self._frames.battle_ended(result))

    # -- views ----------------------------------------------------------------------------

    def view(self) -> ArenaView:
        """A read-only picture of the arena now."""
        state = self.state
        scores = dict(state.scores)
        for player_id in self._seats.ids():
            scores.setdefault(player_id, 0)
        return ArenaView(
            arena_id=self.arena_id,
            mode=self.mode,
            region=self.region,
            tick=state.tick,
            rules=self.rules,
            seed=self.seed,
            board=state.board,
            scores=scores,
            players=self._seats.ids(),
            npcs=tuple(self.npcs.seats),
            tick_stats=self.times.stats(),
            frames_dropped=self._seats.frames_dropped,
        )
