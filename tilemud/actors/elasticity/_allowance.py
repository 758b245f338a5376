"""The node's NPC allowance: how many steps of NPC capacity the elasticity supervisor shed.

One object, created by ``server.py``: the elasticity supervisor is its only writer, every
arena reads it at each tick end without a hop (like the moderation's ``SanctionBook``).
Both run in the same Trio thread and a read is synchronous, so no lock is needed.

A step is ``step_percent`` per cent of each arena's static NPC cap, rounded up: after
``k`` steps an arena whose rules allow ``npc_cap`` NPCs runs at most
``npc_cap - min(npc_cap, ceil(npc_cap * k * step_percent / 100))``. Every arena gives up
the same share (spread evenly over arenas); inside an arena the newest NPCs leave first.
The effective cap is never above the static cap and never below zero.
"""

from __future__ import annotations


class NpcAllowance:
    """How many steps of NPC capacity are shed right now, and what that leaves an arena."""

    __slots__ = ("_steps", "max_steps", "step_percent")

    def __init__(self, *, step_percent: int = 25) -> None:
        """Start with nothing shed.

        Args:
            step_percent: one step, in per cent of each arena's static NPC cap (1..100).

        Raises:
            ValueError: ``step_percent`` out of range.
        """
        if type(step_percent) is not int or not 1 <= step_percent <= 100:
            raise ValueError(f"step_percent must be in 1..100, not {step_percent!r}")
        self.step_percent = step_percent
        #: Steps after which every arena runs no NPC.
        self.max_steps = -(-100 // step_percent)
        self._steps = 0

    @property
    def steps(self) -> int:
        """Steps shed now (0: every arena runs its static cap)."""
        return self._steps

    def reduction(self, static_cap: int) -> int:
        """The NPCs an arena of static cap ``static_cap`` gives up now."""
        return min(static_cap, -(-static_cap * self._steps * self.step_percent // 100))

    def effective_cap(self, static_cap: int) -> int:
        """Static cap minus the elastic reduction."""
        return static_cap - self.reduction(static_cap)

    def shed(self) -> bool:
        """Shed one more step; False when everything is shed already."""
        if self._steps >= self.max_steps:
            return False
        self._steps += 1
        return True

    def restore(self) -> bool:
        """Give one step back; False when nothing is shed."""
        if self._steps == 0:
            return False
        self._steps -= 1
        return True
