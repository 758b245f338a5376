"""A doorbell: many producers ring, one consumer wakes up and looks what arrived."""

from __future__ import annotations

import trio


class Doorbell:
    """Wakes one waiting task; rings while nobody waits are kept until the next wait.

    A spurious wake-up is possible (a ring for something already taken): the waiter must
    look for work again after every wait, never assume it found some.
    """

    def __init__(self) -> None:
        self._event = trio.Event()

    def ring(self) -> None:
        """Something arrived; never blocks."""
        self._event.set()

    async def wait(self) -> None:
        """Wait for the next ring (or return at once if one came since the last wait)."""
        await self._event.wait()
        self._event = trio.Event()
