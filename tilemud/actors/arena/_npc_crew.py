"""An arena's NPC supervisor: one NPC actor per seated NPC, restarted when it crashes.

:class:`NpcCrew` runs beside the arena's tick loop, in a nursery the arena opens around
each incarnation (:meth:`NpcCrew.running`). In it, a guard task runs a
:class:`~tilemud.supervisors.DynamicSupervisor` (one_for_one, ``NPC_INTENSITY``) and keeps
its children equal to the roster's seats: it starts an actor (``transient``) for each new
seat and stops the actors of seats the roster gave up, whenever the roster rings.

An NPC can never crash or stall its arena: a crash stays inside its incarnation (the
supervisor restarts it; the seat and its tiles stay); over the intensity the supervisor
gives up, and the guard logs it, waits ``NPC_BACKOFF`` seconds and starts a fresh one with
every NPC, while the arena ticks on. The arena never awaits anything of the crew but its
start (the guard is ready at once) and, when the incarnation ends, its cancellation.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import Final

import trio

from tilemud.actors.arena._npcs import NpcMind, NpcRoster, play_by_the_rules, play_npc
from tilemud.supervisors import (
    ChildContext,
    ChildSpec,
    DynamicSupervisor,
    Intensity,
    Restart,
    SupervisorError,
    SupervisorEscalation,
)

log = logging.getLogger("tilemud.npc")

#: Restarts of an arena's NPCs tolerated before its NPC supervisor gives up.
NPC_INTENSITY: Final = Intensity(restarts=100, period=10.0)
#: Seconds the guard waits before it starts a fresh NPC supervisor after one gave up.
NPC_BACKOFF: Final = 1.0


class NpcCrew:
    """The actors of one arena's NPCs, under their dynamic supervisor."""

    def __init__(self, roster: NpcRoster, *, mind: NpcMind | None = None) -> None:
        self._roster = roster
        self._mind = play_by_the_rules if mind is None else mind
        #: Times the NPC supervisor gave up and was started afresh.
        self.escalations = 0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the crew for as long as the block runs; cancelled when it ends."""
        if not self._roster.possible:
            yield  # an arena that can never run an NPC needs no supervisor
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._guard)
            try:
                yield
            finally:
                nursery.cancel_scope.cancel()

    async def _guard(self) -> None:
        name = f"npcs {self._roster.arena_id}"
        while True:
            supervisor = DynamicSupervisor(name, intensity=NPC_INTENSITY)
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(self._supervise, supervisor)
                    await self._keep_crewed(supervisor)
            except* (SupervisorEscalation, SupervisorError):
                # Escalation, or a start refused while the supervisor was giving up.
                self.escalations += 1
                log.warning(
                    "NPC supervisor gave up; starting it again",
                    extra={"arena_id": self._roster.arena_id, "backoff": NPC_BACKOFF},
                )
            await trio.sleep(NPC_BACKOFF)

    @staticmethod
    async def _supervise(
        supervisor: DynamicSupervisor, *, task_status: trio.TaskStatus[None]
    ) -> None:
        await supervisor.run(ChildContext(supervisor.name, task_status=task_status))

    async def _keep_crewed(self, supervisor: DynamicSupervisor) -> None:
        """Keep one actor per seated NPC, for as long as the supervisor runs."""
        roster = self._roster
        limit = roster.budget.actions
        while True:
            changed = roster.changed
            running = set(supervisor.child_ids())
            for npc in running - roster.seats.keys():
                await supervisor.stop_child(npc)
            for npc, seat in list(roster.seats.items()):
                if npc not in running and npc in roster.seats:
                    await supervisor.start_child(
                        ChildSpec(
                            id=npc,
                            run=functools.partial(play_npc, seat, self._mind, limit),
                            restart=Restart.TRANSIENT,
                        )
                    )
            await changed.wait()
