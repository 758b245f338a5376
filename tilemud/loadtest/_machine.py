"""How busy this machine's cores were during a run, whoever kept them busy.

Client and server share the machine, and so may other work (a test suite, another
benchmark). The report states the machine's busy CPU time next to the server's and the
clients', so that a reader can tell a slow server from a crowded machine.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
import psutil


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return float(sum(times) - idle)


@attrs.define
class MachineLoad:
    """Busy CPU time of all cores since :meth:`restart`."""

    cpus: int = attrs.field(factory=lambda: os.cpu_count() or 1)
    _start: float = attrs.field(factory=_busy_seconds, init=False)

    def restart(self) -> None:
        """Count from now on."""
        self._start = _busy_seconds()
        psutil.cpu_percent(None)

    @staticmethod
    def sample_percent() -> float:
        """Busy share of all cores since the last sample, in % of one core per core."""
        return float(psutil.cpu_percent(None)) * (os.cpu_count() or 1)

    def summary(
        self, wall_seconds: float, *, server_cpu: float | None, client_cpu: float
    ) -> dict[str, Any]:
        """Busy core-seconds during the run, and how much of it was neither side's."""
        busy = _busy_seconds() - self._start
        others = busy - client_cpu - (server_cpu or 0.0)
        return {
            "cpus": self.cpus,
            "busy_cpu_seconds": round(busy, 3),
            "busy_percent_of_all_cores": (
                round(100 * busy / (wall_seconds * self.cpus), 1) if wall_seconds > 0 else None
            ),
            "other_processes_cpu_seconds": round(max(others, 0.0), 3),
            "note": "client and server share this machine's cores",
        }


def quiet_percent(seconds: float = 1.0) -> float:
    """The machine's busy share over ``seconds`` (blocking), in % of all cores."""
    return float(psutil.cpu_percent(seconds))
