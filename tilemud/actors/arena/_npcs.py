"""An arena's NPCs: their seats at the table (the roster) and the NPC actors' loop.

The roster is part of the arena's state, touched only by the arena's task (and read by
its NPC actors between two of its steps). It decides, at every tick end, how many NPCs the
arena runs (its rules' ``npc_cap`` minus the elastic reduction, see
:class:`~tilemud.actors.elasticity.NpcAllowance`), seats new ones (ids ``npc:1``,
``npc:2`` ... never reused in one arena) and unseats the newest first when the cap falls.
NPC seats are not human seats: ``player_cap`` counts only humans.

Never blocking toward the arena. The arena hands each NPC its turn (the state after the
tick and the next tick's number) by overwriting the seat's one turn slot and setting an
event: it never waits on an NPC. The NPC actor (:func:`play_npc`) decides and leaves its
placements in the seat; the arena collects them at the next tick end, synchronously, and
puts them among everyone's placements of that tick. A turn replaces the previous one and
drops placements decided on it that were not collected: an NPC that is late (a busy node)
loses its move instead of delaying anyone. NPCs never use the arena's mailbox, so they
cannot fill it against players.

Budget. Each NPC may place ``actions`` placements per ``window_ticks`` ticks (sliding),
counted when the arena collects them; a seat keeps at most ``actions`` placements of one
turn. What is over is dropped and counted (``refused``), whatever the NPC's code does.
"""

from __future__ import annotations

import collections
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence

import attrs
import trio

from tilemud.actors.elasticity import NpcAllowance
from tilemud.game import (
    ArenaState,
    Behaviour,
    Placement,
    RuleConfig,
    Territory,
    TickOutcome,
    decide_npc_move,
    is_npc,
    npc_behaviour,
    npc_id,
    npc_name,
)
from tilemud.metrics import NpcMeter
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.npc")


@attrs.frozen(kw_only=True)
class NpcTurn:
    """What an NPC decides from: everything :func:`~tilemud.game.decide_npc_move` takes."""

    state: ArenaState
    rules: RuleConfig
    seed: int
    npc_id: str
    tick: int
    behaviour: Behaviour
    own: Sequence[tuple[int, int]]


#: An NPC's mind: its placements for a turn. Injectable so tests can break it.
NpcMind = Callable[[NpcTurn], Iterable[Placement]]


def play_by_the_rules(turn: NpcTurn) -> tuple[Placement, ...]:
    """The NPCs' mind: :func:`~tilemud.game.decide_npc_move`, at most one placement."""
    move = decide_npc_move(
        turn.state,
        rules=turn.rules,
        seed=turn.seed,
        npc=turn.npc_id,
        tick=turn.tick,
        behaviour=turn.behaviour,
        own=turn.own,
    )
    return () if move is None else (move,)


@attrs.frozen(kw_only=True)
class NpcBudget:
    """How many placements one NPC may make per window of ticks."""

    actions: int = 4
    window_ticks: int = 10


@attrs.frozen(kw_only=True)
class NpcPolicy:
    """How a node runs NPCs: handed to every arena by the directory (built by ``server.py``).

    Attributes:
        allowance: the elastic reduction (None: always the static caps).
        meter: the server's NPC metrics (one of its own when None).
        enabled: False runs no NPC at all.
        actions: placements one NPC may make per ``actions_window``.
        actions_window: the budget's window, in seconds of ticks.
        mind: what NPCs decide with (tests inject broken ones).
    """

    allowance: NpcAllowance | None = None
    meter: NpcMeter | None = None
    enabled: bool = True
    actions: int = 4
    actions_window: float = 1.0
    mind: NpcMind = play_by_the_rules

    def roster(self, *, arena_id: str, rules: RuleConfig, seed: int) -> NpcRoster:
        """The roster of a new arena."""
        window_ticks = max(1, round(self.actions_window * rules.tick_rate_hz))
        return NpcRoster(
            arena_id=arena_id,
            rules=rules,
            seed=seed,
            allowance=self.allowance,
            budget=NpcBudget(actions=self.actions, window_ticks=window_ticks),
            meter=NpcMeter.standalone() if self.meter is None else self.meter,
            enabled=self.enabled,
        )


class NpcSeat:
    """One NPC's place at the table: its turn slot and the placements it left there."""

    __slots__ = ("_over", "_taken", "behaviour", "name", "npc_id", "proposals", "turn", "turned")

    def __init__(self, npc_id: str, behaviour: Behaviour) -> None:
        self.npc_id = npc_id
        self.behaviour = behaviour
        self.name = npc_name(npc_id, behaviour)
        #: The latest turn handed to the NPC (None before the first).
        self.turn: NpcTurn | None = None
        #: Set (and replaced) each time a new turn is handed over.
        self.turned = trio.Event()
        #: Placements decided on ``turn``, waiting for the arena to collect them.
        self.proposals: list[Placement] = []
        # Ticks in which the arena took this NPC's placements (the budget's window).
        self._taken: collections.deque[int] = collections.deque()
        # Placements offered over ``limit`` since the last collection.
        self._over = 0

    def give_turn(self, turn: NpcTurn) -> None:
        """Hand over a new turn; never waits. Placements on the previous one are dropped."""
        self.turn = turn
        self.proposals.clear()
        turned, self.turned = self.turned, trio.Event()
        turned.set()

    async def next_turn(self, after: int) -> NpcTurn:
        """Wait for a turn for a tick later than ``after``."""
        while self.turn is None or self.turn.tick <= after:
            await self.turned.wait()
        return self.turn

    def propose(self, turn: NpcTurn, placements: Iterable[Placement], limit: int) -> None:
        """Leave placements for ``turn``, at most ``limit`` of them.

        ``placements`` is read no further than one past the limit (that one is counted
        as dropped), so even an endless generator ends here.
        """
        if self.turn is not turn:
            return  # a newer turn came while the NPC was deciding: too late
        for placement in itertools.islice(placements, limit + 1):
            if len(self.proposals) >= limit:
                self._over += 1
            else:
                self.proposals.append(placement)

    @property
    def has_over(self) -> bool:
        """Whether placements over the limit were dropped since the last collection."""
        return self._over > 0

    def collect(self, tick: int, budget: NpcBudget) -> tuple[list[Placement], int]:
        """The placements the arena takes in ``tick`` (within budget) and how many it drops."""
        taken = self._taken
        while taken and taken[0] <= tick - budget.window_ticks:
            taken.popleft()
        proposals, self.proposals = self.proposals, []
        over, self._over = self._over, 0
        room = max(0, budget.actions - len(taken))
        accepted = [p for p in proposals[:room] if p.player_id == self.npc_id]
        taken.extend([tick] * len(accepted))
        return accepted, over + len(proposals) - len(accepted)


async def play_npc(seat: NpcSeat, mind: NpcMind, limit: int, ctx: ChildContext) -> None:
    """The NPC actor: wait for a turn, decide, leave the placements in the seat; again.

    Runs under its arena's NPC supervisor (transient): a mind that raises crashes this
    incarnation only, and the next one waits for the next turn.
    """
    ctx.started()
    seen = -1 if seat.turn is None else seat.turn.tick
    while not ctx.stopping.is_set():
        turn = await seat.next_turn(seen)
        seen = turn.tick
        seat.propose(turn, mind(turn), limit)


class NpcRoster:
    """An arena's NPC seats, in the order they were taken, and what they hold."""

    def __init__(
        self,
        *,
        arena_id: str,
        rules: RuleConfig,
        seed: int,
        allowance: NpcAllowance | None,
        budget: NpcBudget,
        meter: NpcMeter,
        enabled: bool = True,
    ) -> None:
        self.arena_id = arena_id
        self.rules = rules
        self.seed = seed
        self.budget = budget
        self._allowance = allowance
        self._meter = meter
        self._enabled = enabled
        #: Seated NPCs by id, oldest first.
        self.seats: dict[str, NpcSeat] = {}
        self.territory = Territory()
        self._next_number = 1
        self._counted_cap = 0
        self._steps_seen = 0 if allowance is None else allowance.steps
        #: Set and replaced whenever NPCs are seated or unseated (the crew's doorbell).
        self.changed = trio.Event()
        #: NPC placements dropped: over the budget, or not the NPC's own.
        self.refused = 0

    @property
    def possible(self) -> bool:
        """Whether this arena may ever run an NPC (enabled, and rules allowing some)."""
        return self._enabled and self.rules.npc_cap > 0

    @property
    def cap(self) -> int:
        """How many NPCs the arena may run now: static cap minus the elastic reduction."""
        if not self._enabled:
            return 0
        static = self.rules.npc_cap
        return static if self._allowance is None else self._allowance.effective_cap(static)

    def names(self) -> dict[str, str]:
        """Seated NPC id -> display name."""
        return {npc: seat.name for npc, seat in self.seats.items()}

    def adjust(self) -> tuple[list[tuple[str, str]], list[str], bool]:
        """Seat or unseat NPCs to match :attr:`cap` (newest leave first).

        Returns:
            ``(joined, left, moved)``: ``(id, name)`` of the NPCs seated, ids of those
            unseated, and whether the elastic reduction moved since the last call.
        """
        cap = self.cap
        self._meter.capacity.inc(cap - self._counted_cap)
        self._counted_cap = cap
        joined: list[tuple[str, str]] = []
        left: list[str] = []
        while len(self.seats) > cap:
            npc, _ = self.seats.popitem()
            left.append(npc)
        while len(self.seats) < cap:
            npc = npc_id(self._next_number)
            self._next_number += 1
            seat = NpcSeat(npc, npc_behaviour(self.seed, npc))
            self.seats[npc] = seat
            joined.append((npc, seat.name))
        if joined or left:
            self._meter.running.inc(len(joined) - len(left))
            changed, self.changed = self.changed, trio.Event()
            changed.set()
        moved = self.steps != self._steps_seen
        if moved:
            # Logged once for the node by the elasticity supervisor; here only in detail.
            log.debug(
                "NPC capacity moved",
                extra={"arena_id": self.arena_id, "npc_cap": cap, "left": len(left)},
            )
            self._steps_seen = self.steps
        return joined, left, moved

    @property
    def steps(self) -> int:
        """Steps of NPC capacity shed on the node now."""
        return 0 if self._allowance is None else self._allowance.steps

    def collect(self, tick: int) -> list[Placement]:
        """Every seated NPC's placements for ``tick``, within each one's budget."""
        collected: list[Placement] = []
        refused = 0
        for seat in self.seats.values():
            if seat.proposals or seat.has_over:
                taken, dropped = seat.collect(tick, self.budget)
                collected.extend(taken)
                refused += dropped
        if refused:
            self.refused += refused
            self._meter.refused.inc(refused)
        return collected

    def resolved(self, outcome: TickOutcome) -> None:
        """Keep the territories in step with a resolved tick."""
        if outcome.placed:
            self.territory.update(outcome.placed, outcome.captures)

    def give_turns(self, state: ArenaState) -> None:
        """Hand every seated NPC its turn for the tick after ``state.tick``."""
        tick = state.tick + 1
        for npc, seat in self.seats.items():
            seat.give_turn(
                NpcTurn(
                    state=state,
                    rules=self.rules,
                    seed=self.seed,
                    npc_id=npc,
                    tick=tick,
                    behaviour=seat.behaviour,
                    own=self.territory.cells(npc),
                )
            )

    def restored(self, state: ArenaState) -> None:
        """The board was rebuilt or cleared: recount territories and the next NPC number."""
        self.territory = Territory.of_board(state)
        numbers = [
            int(owner[4:])
            for owner in state.scores
            if is_npc(owner) and owner[4:].isdigit() and len(owner) < 16
        ]
        self._next_number = max([self._next_number, *(n + 1 for n in numbers)])

    def closed(self) -> None:
        """The arena ended: its NPCs and capacity no longer count."""
        self._meter.running.dec(len(self.seats))
        self._meter.capacity.dec(self._counted_cap)
        self._counted_cap = 0
        self.seats.clear()
        changed, self.changed = self.changed, trio.Event()
        changed.set()
