"""Bringing an arena back from storage, round-aware.

An arena without rounds logs under its own id: its state is its snapshot plus its log. An
epic arena with rounds logs each round under ``<arena_id>.<round>``, so its state is that
of its latest round: rebuilt from that round's log while the round is live, or an empty
board after the round's last tick when the round had ended (the node stopped between
one round's end and the next one's first placement).
"""

from __future__ import annotations

from tilemud.actors.arena._journal import recover_state
from tilemud.game import ArenaState, RoundResult, RuleConfig
from tilemud.storage import ArenaRecord, ArenaStorage


async def load_live_state(
    storage: ArenaStorage, record: ArenaRecord
) -> tuple[RuleConfig, ArenaState, int | None]:
    """The rules, the state to run on from, and the round it is in (None: no rounds).

    Raises:
        RecoveryMismatch: the log does not rebuild its stored checksums.
        SnapshotError: a snapshot is corrupt.
        StorageError: the database did not answer.
    """
    rules = await storage.load_rule_config(record.rules_version)
    if rules.round_ticks is None:
        recovery = await storage.load_recovery(record.arena_id)
        return recovery.rules, recover_state(recovery, seed=record.seed), None
    latest = await storage.latest_round(record.arena_id)
    if latest is None or latest.round is None:
        return rules, ArenaState.start(rules), 1
    if latest.state == "ended":
        last_tick = 0
        if latest.result is not None:
            last_tick = RoundResult.from_dict(latest.result).last_tick
        return (
            rules,
            ArenaState(board=ArenaState.start(rules).board, tick=last_tick),
            latest.round + 1,
        )
    recovery = await storage.load_recovery(latest.arena_id)
    state = recover_state(recovery, seed=record.seed)
    # A round with no placement yet has no rows: it still starts after its first tick - 1.
    first = (latest.first_tick or 1) - 1
    if state.tick < first:
        state = ArenaState(board=state.board, tick=first)
    return rules, state, latest.round
