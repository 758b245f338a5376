"""Re-simulating a replay: the logged placements, resolved again, give back every checksum.

A replay log keeps, for each tick that accepted placements or stored a checksum, the
accepted placements in order and the board checksum after the tick (when one was stored).
Resolving those placements again, tick by tick, from ``ArenaState.start(rules)`` with the
arena's seed must accept every one of them and reproduce every stored checksum: the rules
are deterministic, so a replay that does not is corrupt or was altered.

Ticks the log skips (nothing accepted, no checksum) are skipped here too:
:func:`~tilemud.game.resolve_tick` allows gaps, and a tick that accepted nothing changes
neither the board nor what a cooldown can still block.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from tilemud.game._placement import Placement, PlacementResult
from tilemud.game._resolve import TickOutcome, resolve_tick
from tilemud.game._rules import RuleConfig
from tilemud.game._state import ArenaState


@attrs.frozen(kw_only=True)
class ReplayTick:
    """One tick of a replay log.

    Attributes:
        tick: the tick's number (from 1).
        placements: the placements the tick accepted, in resolution order.
        checksum: ``board_checksum`` of the board after the tick, when it was stored.
    """

    tick: int
    placements: tuple[Placement, ...]
    checksum: str | None = None


@attrs.frozen(kw_only=True)
class ResimulatedTick:
    """One logged tick, resolved again.

    Attributes:
        tick: the tick's number.
        state: the rules' state after it.
        outcome: what resolving it gave.
        expected: the checksum the log stored for it, or None.
    """

    tick: int
    state: ArenaState
    outcome: TickOutcome
    expected: str | None

    @property
    def checksum(self) -> str:
        """The checksum the re-simulation reached after this tick."""
        return self.outcome.checksum

    @property
    def not_accepted(self) -> tuple[PlacementResult, ...]:
        """Logged placements the rules did not accept again (none in a sound log)."""
        return tuple(r for r in self.outcome.results if r.outcome != "accepted")

    @property
    def reproduced(self) -> bool:
        """Every placement was accepted again, and the stored checksum (if any) reached."""
        return not self.not_accepted and self.expected in (None, self.outcome.checksum)


@attrs.frozen(kw_only=True)
class ReplayDivergence:
    """The first tick where the re-simulation left the log.

    Attributes:
        tick: the tick.
        expected: the checksum stored for it, or None when none was.
        actual: the checksum the re-simulation reached.
        not_accepted: the logged placements the rules refused this time; empty when only
            the checksum differs.
    """

    tick: int
    expected: str | None
    actual: str
    not_accepted: tuple[PlacementResult, ...]


@attrs.frozen(kw_only=True)
class ReplayCheck:
    """What :func:`check_replay` found.

    Attributes:
        final: the state after the last tick re-simulated (the diverging one, if any).
        ticks: how many ticks were re-simulated.
        checksums: how many stored checksums were reproduced.
        divergence: the first tick that did not match the log; None when all did.
    """

    final: ArenaState
    ticks: int
    checksums: int
    divergence: ReplayDivergence | None

    @property
    def ok(self) -> bool:
        """Every logged placement was accepted again and every stored checksum reproduced."""
        return self.divergence is None


def resimulate(
    ticks: Iterable[ReplayTick],
    *,
    rules: RuleConfig,
    seed: int,
    start: ArenaState | None = None,
) -> Iterator[ResimulatedTick]:
    """Resolve a replay's ticks again, in order, and yield each one's result.

    Args:
        ticks: the logged ticks, in increasing tick order.
        rules: the rules the arena ran under.
        seed: the arena's seed.
        start: the state to start from (a snapshot's); ``ArenaState.start(rules)`` when
            None.

    Yields:
        One :class:`ResimulatedTick` per logged tick, lazily: a long replay is never held
        in memory whole.

    Raises:
        ValueError: the ticks do not increase, or the seed or board size do not fit (see
            :func:`~tilemud.game.resolve_tick`).
    """
    state = ArenaState.start(rules) if start is None else start
    for logged in ticks:
        state, outcome = resolve_tick(
            state, logged.placements, tick=logged.tick, seed=seed, rules=rules
        )
        yield ResimulatedTick(
            tick=logged.tick, state=state, outcome=outcome, expected=logged.checksum
        )


def check_replay(
    ticks: Iterable[ReplayTick],
    *,
    rules: RuleConfig,
    seed: int,
    start: ArenaState | None = None,
) -> ReplayCheck:
    """Re-simulate a replay and compare it with its log, stopping at the first divergence.

    A divergence is a result value, not an error: a corrupt replay is an answer the
    caller asked for, and it says where the log went wrong.

    Args:
        ticks: the logged ticks, in increasing tick order.
        rules: the rules the arena ran under.
        seed: the arena's seed.
        start: the state to start from; ``ArenaState.start(rules)`` when None.

    Returns:
        The final state, the counts, and the first divergence if any.

    Raises:
        ValueError: as :func:`resimulate`.
    """
    final = ArenaState.start(rules) if start is None else start
    count = checked = 0
    for step in resimulate(ticks, rules=rules, seed=seed, start=final):
        final = step.state
        count += 1
        if not step.reproduced:
            divergence = ReplayDivergence(
                tick=step.tick,
                expected=step.expected,
                actual=step.checksum,
                not_accepted=step.not_accepted,
            )
            return ReplayCheck(final=final, ticks=count, checksums=checked, divergence=divergence)
        if step.expected is not None:
            checked += 1
    return ReplayCheck(final=final, ticks=count, checksums=checked, divergence=None)
