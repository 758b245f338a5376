"""The elasticity supervisor: watches CPU and memory, sheds and restores NPC capacity.

Owns:
    its window counters; it is the only writer of the node's
    :class:`~tilemud.actors.elasticity.NpcAllowance` (arenas read it at each tick end).
Started by:
    the world supervisor (``permanent``); the allowance outlives its restarts.
Takes:
    no messages: every ``window`` seconds of Trio time it takes one :class:`Sample` from its
    sampler (injectable; :class:`ProcessSampler` on a real node).

Rules (``docs/operations.md``, "NPCs and elasticity"):

- a window is *over* when CPU > ``cpu_over`` or memory > ``memory_over``; *under* when
  CPU < ``cpu_under`` and memory < ``memory_under``; anything else is neither;
- ``windows_over`` consecutive windows over shed one step (if any is left), and the count
  starts again, so each further ``windows_over`` windows over shed one more step;
- ``windows_under`` consecutive windows under restore one step (if any is shed), and the
  count starts again; a window that is not under restarts the count (hysteresis: the
  under thresholds sit below the over ones, and it takes longer to restore than to shed);
- each shed and restore is logged once, here, and counted in the server's metrics; the
  arenas see it at their next tick end (newest NPCs leave first) and log it at DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs
import trio

from tilemud.actors.elasticity._allowance import NpcAllowance
from tilemud.actors.elasticity._sampler import Sample, Sampler
from tilemud.metrics import NpcMeter
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.elasticity")


@attrs.frozen(kw_only=True)
class Thresholds:
    """When a window counts as over or under, and how many in a row make a step."""

    cpu_over: float = 0.75
    memory_over: float = 0.70
    cpu_under: float = 0.50
    memory_under: float = 0.55
    windows_over: int = 3
    windows_under: int = 6


class Elasticity:
    """Samples every window and moves the NPC allowance one step at a time."""

    def __init__(
        self,
        *,
        allowance: NpcAllowance,
        sampler: Callable[[], Sampler],
        meter: NpcMeter,
        thresholds: Thresholds = Thresholds(),
        window: float = 10.0,
    ) -> None:
        """Describe the supervisor; nothing runs until :meth:`run`.

        Args:
            allowance: the node's NPC allowance, which this supervisor alone changes.
            sampler: makes the sampler at each start (its first window begins then).
            meter: where sheds, restores and the sampled figures are counted.
            thresholds: over and under thresholds and window counts.
            window: seconds of Trio time per window.
        """
        self.allowance = allowance
        self._make_sampler = sampler
        self._meter = meter
        self.thresholds = thresholds
        self.window = window
        self._over = 0
        self._under = 0

    async def run(self, ctx: ChildContext) -> None:
        """Sample at the end of every window until a graceful stop."""
        sampler = self._make_sampler()
        self._over = self._under = 0
        ctx.started()
        end = trio.current_time() + self.window
        while True:
            with trio.move_on_at(end):
                await ctx.stopping.wait()
            if ctx.stopping.is_set():
                return
            end += self.window
            self.observe(sampler.sample())

    def observe(self, sample: Sample) -> None:
        """Judge one window's sample: count it, and shed or restore a step when due."""
        t = self.thresholds
        meter = self._meter
        meter.cpu.set(sample.cpu)
        meter.memory.set(sample.memory)
        if sample.cpu > t.cpu_over or sample.memory > t.memory_over:
            self._over, self._under = self._over + 1, 0
            if self._over >= t.windows_over:
                self._over = 0
                if self.allowance.shed():
                    meter.sheds.inc()
                    self._moved("shed", sample)
        elif sample.cpu < t.cpu_under and sample.memory < t.memory_under:
            self._over, self._under = 0, self._under + 1
            if self._under >= t.windows_under:
                self._under = 0
                if self.allowance.restore():
                    meter.restores.inc()
                    self._moved("restored", sample)
        else:
            self._over = self._under = 0

    def _moved(self, what: str, sample: Sample) -> None:
        self._meter.steps.set(self.allowance.steps)
        log.warning(
            "NPC capacity %s: %d of %d steps shed",
            what,
            self.allowance.steps,
            self.allowance.max_steps,
            extra={"cpu": round(sample.cpu, 3), "memory": round(sample.memory, 3)},
        )
