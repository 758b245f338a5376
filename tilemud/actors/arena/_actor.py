"""Arena actor: one battle instance or epic arena, ticking at its rules' rate.

Owns:
    the arena's rules state (:class:`~tilemud.game.ArenaState`: board, cooldowns, scores),
    its seats (player id -> :class:`~tilemud.actors.arena._links.PlayerLink`, in join order), the
    placements queued for the current tick, and its tick processing statistics, all kept
    in its :class:`~tilemud.actors.arena._core.ArenaCore` (the synchronous steps; this
    module is the actor around it: mailbox, time, start and end).
Started by:
    the arena directory, through the ``arenas`` dynamic supervisor. Restart type:
    ``transient``: a battle that ends returns normally and is gone; a crash restarts it.
    Mailbox and state live on the :class:`Arena` object and incarnations run one after
    the other, so a restarted incarnation keeps the ``Ref``, the last committed board,
    the seats and the placements queued in the tick that crashed (resolved in its first
    tick), and resets every player's stream with a snapshot: players get a resync, not a
    disconnect. With storage, a restarted incarnation first rebuilds its board from the
    storage actor (write-behind flushed, latest snapshot plus the log after it; see
    :mod:`tilemud.actors.arena._journal`), and from memory only when the database cannot
    answer. An arena brought back after a restart of the node starts from the state the
    world rebuilt from storage. A crash while closing is finished by the next
    incarnation, which then returns.
NPCs. Each incarnation runs its NPCs' dynamic supervisor beside the tick loop
(:mod:`~tilemud.actors.arena._npc_crew`: one ``transient`` actor per NPC). Their seats,
turns and placements live in the core's roster (:mod:`~tilemud.actors.arena._npcs`): at
each tick end the arena collects the NPCs' placements into the tick (within their
budget), then seats or unseats NPCs to its effective cap and hands each its next turn,
never waiting on one of them.
Takes (:data:`ArenaMessage`):
    ``JoinArena`` (ask), ``LeaveArena``, ``PlaceTile``, ``Resync``, ``DescribeArena`` (ask),
    ``WatchArena`` (ask; a spectator's link gets every published frame), ``UnwatchArena``,
    ``PlacementsStored`` (from the storage actor: release the answers held for it).
Sends:
    to players, only through their links, never waiting on one of them:
    ``reset_stream(snapshot)`` to a joiner or a resyncing player; ``publish`` of
    ``player_joined``, ``player_left``, ``tick`` and ``battle_ended`` (each body encoded
    once, the same ``str`` for every player); ``reply(rid, frame)`` exactly once per
    placement: its ``place_result`` at the end of its tick (an ``accepted`` one once the
    placement is stored, when the arena has storage), or an ``error``
    (``not_in_arena`` for a player who left, ``arena_unavailable`` when the arena stops
    first, ``unavailable`` when the database is down and the write-behind buffer full);
    ``arena_closed`` when the arena ends. To its owner: ``on_closed(arena_id)``, once,
    when the arena ends for good. To storage (write-behind, never waiting): accepted
    placements, tick checksums, snapshots every ``snapshot_ticks`` ticks and on a graceful
    stop, participants; and, when a battle ends, its end and result (awaited after the
    close, retried while the database is down).
Mailbox:
    ``mailbox_size`` messages (default 1024), :attr:`Overflow.BLOCK`: sessions relaying
    player input wait while the arena is saturated, which backpressures the players'
    sockets. Links may ``try_send`` to it from inside the arena's own calls. The arena
    waits on a doorbell, not on the mailbox: every message rings it but ``PlaceTile``,
    which rings only when ``MAX_BATCH`` placements wait (issue 13: ~10 wake-ups a second
    for 600 placements instead of ~85).

Time. Tick ``k`` ends at ``t0 + k / tick_rate_hz`` in Trio time (see
:class:`~tilemud.actors.arena._clock.TickSchedule`), computed, never accumulated. Between
tick ends the arena takes messages when one that rings comes (joins, leaves and asks are
taken within ``TAKE_PAUSE``, after every placement queued before them); at a tick end it
takes what waits and resolves every queued placement together
(:func:`tilemud.game.resolve_tick`), answers each, and publishes one ``tick`` frame when
something was placed (none for an empty tick). Processing time (resolve, encode, fan-out)
is measured with ``time.perf_counter`` into an HdrHistogram,
exposed by ``DescribeArena``, and into the server's ``tilemud_tick_duration_seconds``
(its :class:`~tilemud.metrics.ArenaMeter`); ``sent_at`` in stream frames is the wall clock.

Overrun. When a tick's processing ends after the next tick boundary, the arena does not run
ticks back to back to catch up: it skips to the first boundary still ahead, and the ticks in
between are never resolved (their numbers are skipped; :class:`TickStats` counts them, and
a warning is logged at most every 10 s). Tick numbers stay tied to time, so cooldowns and a
battle's length keep their duration, and messages are taken between every two ticks.

Seats. A join is refused with ``arena_full`` at ``rules.player_cap`` (never over-filled)
and ``arena_closed`` once the arena is ending. A seated player who joins again (their
session was replaced) keeps the seat and gets the new link and a snapshot; nobody else is
told. A player who leaves loses the seat; their tiles stay on the board and keep counting
in the scores; placements they queued before leaving are still resolved and answered
(through the link they had), later ones get ``not_in_arena``. A placement from a player
never seated here cannot be answered (there is no link): it is logged and dropped.

Rounds. With ``rules.round_ticks``, at the end of each round's last tick (or, after an
overrun skipped it, before the first tick past it) every seated player gets
``round_ended``, the round's end is logged, the board is cleared and the next round's row
is logged; the seats, streams and tick numbers go on (see :mod:`tilemud.game._rounds`).
Each round is logged as an arena of its own, ``<arena_id>.<round>`` (its replay).

Ending. When a battle ends (by time or a full board), every player gets ``battle_ended``;
requests still in the mailbox are answered (placements ``rejected``/``battle_over``, joins
``arena_closed``), the mailbox is closed (later sends raise
:class:`~tilemud.errors.ActorGone`), every player gets ``arena_closed``, ``on_closed`` is
called and ``run`` returns. An arena (``battle_ticks`` unset, ``end_on_full_board`` off)
never ends by itself. A graceful stop by the supervisor (``ctx.stopping``) finishes the
current tick, then ends the same way without ``battle_ended`` (late placements get
``arena_unavailable`` with a ``retry_after``); it stays live in storage, snapshotted, so
the next start of the node brings it back.

Why one module of over 400 lines: its docstring is the arena's contract (what it owns,
takes and sends) and the loop, the crash restart and the close are one lifecycle; the
synchronous steps already live in :class:`~tilemud.actors.arena._core.ArenaCore`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Final, assert_never

import attrs
import trio

from tilemud.actors.arena._clock import TickSchedule
from tilemud.actors.arena._core import ArenaCore
from tilemud.actors.arena._journal import ArenaJournal, recover_state
from tilemud.actors.arena._messages import (
    ArenaMessage,
    DescribeArena,
    JoinArena,
    JoinOutcome,
    JoinRefused,
    LeaveArena,
    PlacementsStored,
    PlaceTile,
    Resync,
    UnwatchArena,
    WatchArena,
)
from tilemud.actors.arena._npc_crew import NpcCrew
from tilemud.actors.arena._npcs import NpcPolicy
from tilemud.errors import ActorGone
from tilemud.game import (
    ArenaState,
    BattleResult,
    Mode,
    Placement,
    RuleConfig,
    SnapshotRows,
    board_checksum,
)
from tilemud.mailbox import Doorbell, Mailbox, Overflow, Ref, Reply, open_mailbox
from tilemud.metrics import ArenaMeter
from tilemud.nap import nap_until
from tilemud.storage import ArenaStorage, StorageError
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.arena")

#: Messages taken in one go once the arena wakes up (about 10 µs each).
MAX_BATCH = 256

#: Least Trio time between two wake-ups of an arena within a tick, in seconds: what
#: came meanwhile is taken together. Placements wait for the tick's end anyway; a join or
#: an ask waits at most this long more.
TAKE_PAUSE: Final = 0.01

#: Least Trio time between two overrun warnings of one arena, in seconds.
_OVERRUN_LOG_INTERVAL: Final = 10.0
#: Longest a restarted arena waits for storage before it runs on from memory, seconds.
_RECOVERY_TIMEOUT: Final = 5.0
#: How long an ended battle keeps trying to store its end, seconds (a later start of the
#: node ends it again if it never could).
_END_RECORD_PATIENCE: Final = 60.0


class Arena:
    """One arena or battle instance: its mailbox, its table and its tick loop."""

    def __init__(
        self,
        *,
        arena_id: str,
        mode: Mode,
        region: str,
        rules: RuleConfig,
        seed: int,
        mailbox_size: int = 1024,
        on_closed: Callable[[str], None] | None = None,
        meter: ArenaMeter | None = None,
        storage: ArenaStorage | None = None,
        snapshot_ticks: int = 600,
        restored: ArenaState | None = None,
        restored_round: int | None = None,
        npcs: NpcPolicy | None = None,
        answered: Sequence[tuple[int, Placement]] = (),
    ) -> None:
        """Describe an arena; nothing runs until :meth:`run`.

        Args:
            arena_id: unique on the node; names the arena in frames and logs.
            mode: ``battle`` or ``arena``; must be ``rules.mode``.
            region: the region the arena serves (directory and views only).
            rules: the rules it runs under.
            seed: decides conflicts and admissions, ``0 <= seed < 2**64``.
            mailbox_size: how many messages may wait.
            on_closed: called once with ``arena_id`` when the arena ends for good; it must
                not block (the directory's hook uses ``try_send``).
            meter: the server's metrics of arenas of this mode (running arenas, tick
                durations, skipped ticks, placements); one of its own when None.
            storage: where placements are logged and acknowledged once stored; None
                keeps nothing (answers go out at once, nothing is recovered).
            snapshot_ticks: ticks between two snapshots of the board in storage.
            restored: the state to start from when the arena is brought back after a
                restart of the node (rebuilt from storage with ``recover_state``; the
                arena's record is stored already).
            restored_round: the round ``restored`` is in (arenas with rounds).
            npcs: how this node runs NPCs (``_npcs.py``); None runs none.
            answered: with ``restored``: placements committed before, with their tick,
                whose answers a node that died may have lost; a repeat of such a rid is
                answered with its ``accepted`` result, not applied again.

        Raises:
            ValueError: ``mode`` is not the rules' mode, or ``seed`` is out of range.
        """
        if mode != rules.mode:
            raise ValueError(f"arena {arena_id!r}: mode {mode!r} but rules for {rules.mode!r}")
        if type(seed) is not int or not 0 <= seed < 1 << 64:
            raise ValueError(f"arena {arena_id!r}: the seed must be in [0, 2**64), not {seed!r}")
        self.arena_id = arena_id
        self._on_closed = on_closed
        # Rung by every message but placements (see _arrived): the arena wakes ~10 times
        # a second for 600 placements, not ~85 (issue 13).
        self._bell = Doorbell()
        # Placements put in the mailbox since the arena last took what waited.
        self._placements_waiting = 0
        self._mailbox: Mailbox[ArenaMessage] = open_mailbox(
            f"arena {arena_id}", mailbox_size, Overflow.BLOCK, arrived=self._arrived
        )
        self._meter = ArenaMeter.standalone(mode) if meter is None else meter
        # Each row's runs, kept between snapshots: joins, resyncs and stored snapshots
        # re-encode only the rows changed since the last one.
        rows = SnapshotRows()
        journal = None
        if storage is not None:
            journal = ArenaJournal(
                arena_id=arena_id,
                storage=storage,
                snapshot_ticks=snapshot_ticks,
                wake=self._placements_stored,
                rows=rows,
            )
        self._core = ArenaCore(
            arena_id=arena_id,
            mode=mode,
            region=region,
            rules=rules,
            seed=seed,
            meter=self._meter,
            journal=journal,
            rows=rows,
            npcs=None if npcs is None else npcs.roster(arena_id=arena_id, rules=rules, seed=seed),
        )
        self._crew = NpcCrew(self._core.npcs, mind=None if npcs is None else npcs.mind)
        self._restored = restored
        self._restored_round = restored_round
        self._answered = tuple(answered)
        self._incarnations = 0
        # Joins taken in this batch of mail, answered once they have their snapshot.
        self._join_answers: list[tuple[Reply[JoinOutcome], JoinOutcome]] = []
        self._last_overrun_log = -_OVERRUN_LOG_INTERVAL

    @property
    def ref(self) -> Ref[ArenaMessage]:
        """The arena's mailbox; valid across restarts, dead once the arena has ended."""
        return self._mailbox.ref

    @property
    def npcs_seated(self) -> int:
        """NPCs at the table now (read without a hop: one int, for the directory's list)."""
        return len(self._core.npcs.seats)

    async def run(self, ctx: ChildContext) -> None:
        """Run one incarnation: take messages and end a tick every ``1 / tick_rate_hz`` s.

        Calls ``ctx.started(self.ref)`` once ready. Returns when the battle ends or after a
        graceful stop (``ctx.stopping``), having closed the mailbox. The arena counts in
        ``tilemud_arenas`` while an incarnation runs, however it ends.
        """
        self._meter.running.inc()
        try:
            # Its NPCs' supervisor runs beside the tick loop and ends with the incarnation.
            async with self._crew.running():
                await self._run_incarnation(ctx)
        finally:
            self._meter.running.dec()

    async def _run_incarnation(self, ctx: ChildContext) -> None:
        table = self._core
        self._incarnations += 1
        if table.closing:
            # A crash interrupted the closing: finish it, and end normally.
            ctx.started(self.ref)
            self._welcome_joiners()  # joins a crash interrupted
            self._close()
            return
        if self._restored is not None:
            table.restore(self._restored, self._restored_round, self._answered)
            self._restored = None
        elif self._incarnations == 1:
            table.begin_round()
        elif self._incarnations > 1:
            await self._recover_after_crash()
            # The crashed incarnation may have sent part of a tick's frames: start over.
            table.resync()
        self._welcome_joiners()  # joins a crash interrupted in the middle of a batch
        # What waited through a crash (its ring may have been taken by the incarnation
        # that crashed) is taken at once.
        self._bell.ring()
        table.seat_npcs()
        inbox = self._mailbox.inbox
        tick = table.state.tick + 1
        schedule = TickSchedule(
            start=trio.current_time(), rate_hz=table.rules.tick_rate_hz, base=tick - 1
        )
        ctx.started(self.ref)
        log.info(
            "arena running",
            extra={"arena_id": self.arena_id, "tick": tick - 1, "incarnation": self._incarnations},
        )
        while True:
            end = schedule.end_of(tick)
            with trio.move_on_at(end):
                while True:
                    # Placements are only resolved at the tick's end and do not ring: they
                    # wait in the mailbox, in order with the rest, and are taken with the
                    # next message that rings or at the tick's end (issue 13). Others
                    # (joins, leaves, asks) wait at most TAKE_PAUSE: a pause after each take
                    # lets those that come meanwhile be taken together.
                    await self._bell.wait()
                    self._take_waiting(inbox)
                    await nap_until(min(end, trio.current_time() + TAKE_PAUSE))
            self._take_waiting(inbox)
            ended = table.end_tick(tick)
            self._meter.broadcast_seconds.observe(trio.current_time() - end)
            if ended is not None:
                self._end_battle(ended)
                await self._store_end(ended, ctx.stopping)
                return
            if ctx.stopping.is_set():
                self._close()
                await self._store_before_stop()
                return
            now = trio.current_time()
            following = schedule.next_after(tick, now)
            if following > tick + 1:
                self._note_overrun(following - tick - 1, now)
            tick = following

    def _take_waiting(self, inbox: trio.MemoryReceiveChannel[ArenaMessage]) -> None:
        """Take the messages already waiting, without yielding between them.

        Awaiting each message separately costs a pass of the scheduler per message: with
        hundreds of connections sharing the CPU, the mailbox then drains slower than players
        fill it (measured: joins timing out, placements answered after 40 s). A batch is
        bounded, so a tick end is passed by at most one batch; what a full batch leaves
        rings the bell, to be taken after the pause.
        """
        self._placements_waiting = 0
        for _ in range(MAX_BATCH):
            try:
                message = inbox.receive_nowait()
            except trio.WouldBlock:
                break
            self._take(message)
        else:
            self._bell.ring()
        self._welcome_joiners()

    def _arrived(self, message: ArenaMessage) -> None:
        """A message is in the mailbox (the sender's task): ring, but not for a placement
        unless a batch of them waits (the mailbox's bound and its backpressure then act as
        when every message woke the arena)."""
        if message.__class__ is PlaceTile:
            self._placements_waiting += 1
            if self._placements_waiting < MAX_BATCH:
                return
        self._bell.ring()

    def _welcome_joiners(self) -> None:
        """Snapshot the joins of the batch (one encode for all) and answer them."""
        answers, self._join_answers = self._join_answers, []
        try:
            self._core.welcome_joiners()
        except BaseException:
            for reply, _ in answers:
                reply.drop()  # their seats were given back: the sessions may try again
            raise
        for reply, outcome in answers:
            reply.send(outcome)

    def _take(self, message: ArenaMessage) -> None:
        table = self._core
        match message:
            case JoinArena(link=link, reply=reply):
                # Answered with the batch's other joins, after their one snapshot.
                self._join_answers.append((reply, table.take_seat(link)))
            case LeaveArena(player_id=player_id, reason=reason):
                table.leave(player_id, reason)
            case PlaceTile(player_id=player_id, rid=rid, x=x, y=y, kind=kind):
                table.place(player_id=player_id, rid=rid, x=x, y=y, kind=kind)
            case Resync(player_id=player_id):
                table.resync(player_id)
            case DescribeArena(reply=reply):
                reply.send(table.view())
            case WatchArena(link=link, reply=reply):
                reply.send(table.watch(link))
            case UnwatchArena(watcher_id=watcher_id):
                table.unwatch(watcher_id)
            case PlacementsStored():
                if table.journal is not None:
                    table.journal.release()
            case _:
                assert_never(message)

    def _placements_stored(self) -> None:
        """The storage actor's wake-up (its task, so only a ``try_send``)."""
        # Closed: the arena ended, and released what it could then.
        with contextlib.suppress(ActorGone):
            self._mailbox.ref.try_send(PlacementsStored())

    async def _recover_after_crash(self) -> None:
        """Rebuild the board from storage, as it stood after the last logged tick."""
        table = self._core
        journal = table.journal
        if journal is None:
            return  # nothing stored: the last state in memory is all there is
        try:
            with trio.fail_after(_RECOVERY_TIMEOUT):
                await journal.storage.flush()
                recovery = await journal.storage.load_recovery(journal.replay_id)
        except (StorageError, ActorGone, trio.TooSlowError) as exc:
            log.warning(
                "arena restarted from memory: storage did not answer",
                extra={"arena_id": self.arena_id, "error": str(exc)},
            )
            return
        stored = recover_state(recovery, seed=table.seed)
        if board_checksum(stored.board) != board_checksum(table.state.board):
            # Cannot happen while every resolved tick is logged before anything else:
            # if it does, storage is what players were acknowledged against.
            log.error(
                "arena restarted: the stored board differs from the one in memory",
                extra={"arena_id": self.arena_id, "tick": table.state.tick},
            )
        # Ticks without placements leave no row: keep counting from where the arena was.
        table.restore(attrs.evolve(stored, tick=max(stored.tick, table.state.tick)))
        log.info(
            "arena restored from storage",
            extra={"arena_id": self.arena_id, "tick": table.state.tick},
        )

    async def _store_end(self, result: BattleResult, stopping: trio.Event) -> None:
        """Store the battle's end and result; answer what waited on its last placements."""
        journal = self._core.journal
        if journal is None:
            return
        with trio.move_on_after(_END_RECORD_PATIENCE):
            while True:
                try:
                    await journal.storage.end_arena(self.arena_id, result)
                except StorageError as exc:
                    retry_after = getattr(exc, "retry_after", 1.0)
                    with trio.move_on_after(retry_after):
                        await stopping.wait()
                    if stopping.is_set():
                        break
                    continue
                journal.release()
                return
        log.warning(
            "battle end not stored; the next start of the node ends it again",
            extra={"arena_id": self.arena_id},
        )

    async def _store_before_stop(self) -> None:
        """On a graceful stop: snapshot the board, wait for the log, answer what waited."""
        table = self._core
        journal = table.journal
        if journal is None:
            return
        journal.record_snapshot(table.state)
        try:
            # Within the supervisor's shutdown grace; storage stops after the world supervisor.
            await journal.storage.flush()
        except (StorageError, ActorGone) as exc:
            log.warning(
                "arena stopped before its log was stored",
                extra={"arena_id": self.arena_id, "held": journal.held, "error": str(exc)},
            )
            return
        journal.release()

    def _note_overrun(self, skipped: int, now: float) -> None:
        times = self._core.times
        times.skipped += skipped
        self._meter.ticks_skipped.inc(skipped)
        if now - self._last_overrun_log >= _OVERRUN_LOG_INTERVAL:
            self._last_overrun_log = now
            log.warning(
                "arena tick overran; ticks skipped",
                extra={"arena_id": self.arena_id, "skipped": skipped, "total": times.skipped},
            )

    def _end_battle(self, result: BattleResult) -> None:
        self._core.announce_end(result)
        log.info(
            "battle ended",
            extra={
                "arena_id": self.arena_id,
                "tick": result.tick,
                "reason": result.reason,
                "winners": list(result.winners),
            },
        )
        self._close()

    def _close(self) -> None:
        """Answer what is still queued, close the mailbox, tell every player, report."""
        table = self._core
        table.closing = True
        inbox = self._mailbox.inbox
        while True:
            try:
                message = inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            self._take_after_close(message)
        # Synchronous from the drain on: nothing can slip in before the close.
        self._mailbox.close()
        table.tell_closed()
        if self._on_closed is not None:
            self._on_closed(self.arena_id)
        log.info("arena closed", extra={"arena_id": self.arena_id, "tick": table.state.tick})

    def _take_after_close(self, message: ArenaMessage) -> None:
        match message:
            case JoinArena(reply=reply):
                reply.send(JoinRefused(code="arena_closed"))
            case PlaceTile(player_id=player_id, rid=rid, x=x, y=y, kind=kind):
                self._core.place_too_late(player_id=player_id, rid=rid, x=x, y=y, kind=kind)
            case DescribeArena(reply=reply):
                reply.send(self._core.view())
            case WatchArena(reply=reply):
                reply.send(False)
            case LeaveArena() | Resync() | UnwatchArena() | PlacementsStored():
                pass
            case _:
                assert_never(message)
