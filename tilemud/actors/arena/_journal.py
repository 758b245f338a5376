"""An arena's journal: what it hands to storage, and the answers it holds until then.

Durability rule. A ``place_result`` that says ``accepted`` is an acknowledgement: once a
client has it, the placement must survive anything, a ``kill -9`` of the node included.
So the arena logs every tick's accepted placements (and the board checksum, and now and
then a snapshot) on the storage actor's write-behind path without waiting, publishes the
tick's frames at once, and holds the ``accepted`` answers until the storage actor says the
rows are committed. The tick never waits for the database; only the acknowledgement does
(one commit: the write-behind writes at once when answers wait on it). Rejections and lost
conflicts change nothing durable and are answered at once.

While the database is down, play goes on and the answers wait. When the write-behind buffer
cannot take a tick's rows, the tick's placements are refused with ``unavailable`` and a
``retry_after`` instead of being resolved: nothing is accepted that could not be stored.

Recovery. :func:`recover_state` rebuilds the state from the latest snapshot by resolving,
tick by tick, the placements logged after it, and checks every stored checksum on the way.

Everything here runs in the arena's own task and never waits.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias

from tilemud.actors.arena._links import PlayerLink
from tilemud.errors import TilemudError
from tilemud.game import ArenaState, Placement, RoundResult, SnapshotRows, check_replay
from tilemud.storage import ArenaStorage, Recovery, Snapshot

log = logging.getLogger("tilemud.arena")

#: Rows a tick may add beyond its placements: its checksum and a snapshot.
_EXTRA_ROWS = 2


class RecoveryMismatch(TilemudError):
    """The stored log does not rebuild the stored board: re-resolving a tick gave another
    checksum, or rejected a placement the log says was accepted."""

    code = "recovery_mismatch"


#: An ``accepted`` answer waiting for its placement to be stored: the player's link, the
#: rid and the answer's text. A tuple: one is made per accepted placement, ~600 a second
#: on epic-300, where a frozen attrs class cost ~0.4 µs more each (issue 13).
HeldAnswer: TypeAlias = tuple[PlayerLink, str, str]


class ArenaJournal:
    """One arena's writes to storage and the answers waiting on them.

    Args:
        arena_id: whose journal.
        storage: the storage actor's client.
        snapshot_ticks: ticks between two snapshots.
        wake: called (from the storage actor's task, must not block) when rows this
            journal waits for are committed; the arena then calls :meth:`release`.
        rows: the arena's encoding of its boards' rows (shared with its frames), so a
            stored snapshot re-encodes only the rows changed since the last snapshot.
    """

    def __init__(
        self,
        *,
        arena_id: str,
        storage: ArenaStorage,
        snapshot_ticks: int,
        wake: Callable[[], None],
        rows: SnapshotRows | None = None,
    ) -> None:
        self.arena_id = arena_id
        #: The storage id the log goes to: the arena's own, or its current round's.
        self.replay_id = arena_id
        self.storage = storage
        self._snapshot_ticks = snapshot_ticks
        self._wake = wake
        self._held: collections.deque[tuple[int, list[HeldAnswer]]] = collections.deque()
        self._last_snapshot = 0
        self._rows = rows

    @property
    def held(self) -> int:
        """Answers waiting for their rows to be committed."""
        return sum(len(answers) for _, answers in self._held)

    def can_take(self, placements: int) -> bool:
        """Whether a tick of ``placements`` placements can be logged now."""
        return self.storage.room >= placements + _EXTRA_ROWS

    def retry_after(self) -> float:
        """What to tell a player whose placement could not be logged."""
        return self.storage.retry_after()

    def record_tick(self, state: ArenaState, accepted: Sequence[Placement], checksum: str) -> int:
        """Log the placements accepted in ``state.tick`` and the checksum after it.

        Call :meth:`can_take` first, in the same step: between the two nothing else can
        fill the buffer.

        Returns:
            The rows' write-behind position, for :meth:`hold`.
        """
        snapshot = None
        if state.tick - self._last_snapshot >= self._snapshot_ticks:
            snapshot = Snapshot.of_state(self.replay_id, state, rows=self._rows)
            self._last_snapshot = state.tick
        position = self.storage.record_placements(
            self.replay_id,
            state.tick,
            accepted,
            checksum=checksum,
            snapshot=snapshot,
            on_durable=self._wake,
        )
        if position is None:
            raise AssertionError("the write-behind buffer refused rows it said it had room for")
        return position

    def record_snapshot(self, state: ArenaState) -> None:
        """Log a snapshot now (on a graceful stop, after a recovery), if there is room."""
        snapshot = Snapshot.of_state(self.replay_id, state, rows=self._rows)
        if self.storage.record_snapshot(snapshot) is not None:
            self._last_snapshot = state.tick

    def record_participant(self, player_id: str) -> None:
        """Log that ``player_id`` took a seat (they may then read the replay)."""
        if self.storage.record_participant(self.replay_id, player_id) is None:
            log.warning(
                "write-behind buffer full: participant not stored",
                extra={"arena_id": self.arena_id, "player_id": player_id},
            )

    def record_event(self, tick: int, kind: str, detail: dict[str, int]) -> None:
        """Log an event of the current replay at ``tick`` (an NPC capacity change)."""
        if self.storage.record_event(self.replay_id, tick, kind, detail) is None:
            log.warning(
                "write-behind buffer full: arena event not stored",
                extra={"arena_id": self.arena_id, "kind": kind, "tick": tick},
            )

    def begin_round(
        self, *, replay_id: str, round_number: int, first_tick: int, players: Iterable[str]
    ) -> None:
        """Log from now on into round ``round_number``, stored as ``replay_id``; its row
        and the seated ``players`` (its audience) go first. Offering it again is harmless."""
        self.replay_id = replay_id
        self._last_snapshot = first_tick - 1
        if (
            self.storage.record_round_start(
                arena_id=self.arena_id,
                round_id=replay_id,
                round_number=round_number,
                first_tick=first_tick,
            )
            is None
        ):
            log.error(
                "write-behind buffer full: the round's row was not stored; its log will be refused",
                extra={"arena_id": self.arena_id, "replay_id": replay_id},
            )
        for player_id in players:
            self.record_participant(player_id)

    def end_round(self, result: RoundResult) -> None:
        """Log the end of the current round, after its last ticks."""
        if self.storage.record_round_end(self.replay_id, result.to_dict()) is None:
            log.error(
                "write-behind buffer full: the round's end was not stored",
                extra={"arena_id": self.arena_id, "replay_id": self.replay_id},
            )

    def hold(self, position: int, answers: list[HeldAnswer]) -> None:
        """Keep ``answers`` until the rows up to ``position`` are committed."""
        if answers:
            self._held.append((position, answers))

    def release(self) -> None:
        """Send every held answer whose rows are committed now."""
        settled = self.storage.settled
        while self._held and self._held[0][0] <= settled:
            _, answers = self._held.popleft()
            for link, rid, frame in answers:
                link.reply(rid, frame)

    def restored(self, state: ArenaState) -> None:
        """The arena now runs from ``state``, rebuilt from storage: snapshot it there."""
        self._last_snapshot = state.tick
        self.record_snapshot(state)


def recover_state(recovery: Recovery, *, seed: int) -> ArenaState:
    """The state after the last logged tick: the snapshot, then the log after it re-resolved.

    Raises:
        RecoveryMismatch: a logged placement is rejected when resolved again, or a tick's
            board does not have its stored checksum.
        SnapshotError: the snapshot is corrupt.
    """
    rules = recovery.rules
    snapshot = recovery.snapshot
    check = check_replay(
        recovery.ticks(),
        rules=rules,
        seed=seed,
        start=ArenaState.start(rules) if snapshot is None else snapshot.to_state(rules),
    )
    divergence = check.divergence
    if divergence is not None:
        raise RecoveryMismatch(
            f"arena {recovery.arena.arena_id}: tick {divergence.tick} does not rebuild from "
            f"its log (checksum {divergence.actual}, logged {divergence.expected}; "
            f"{len(divergence.not_accepted)} logged placements refused)"
        )
    return check.final
