"""Where the elasticity supervisor's figures come from: the process's CPU and memory.

CPU share: the process's CPU seconds (user + system, ``os.times``) over the wall seconds
(``time.monotonic``) between two samples. One Trio process runs its event loop on one
thread, so one core is all it can use for the game: 1.0 means the loop's core is busy all
the time (threads of the database can push it a little over 1; it is not capped).

Memory share: the resident set (``/proc/self/statm``) over the memory available to the
process: the cgroup's limit when there is one (cgroup v2 ``memory.max``, else v1
``memory.limit_in_bytes``), else the machine's (``MemTotal`` in ``/proc/meminfo``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Final, Protocol

import attrs

_CGROUP_V2: Final = Path("/sys/fs/cgroup/memory.max")
_CGROUP_V1: Final = Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")
_MEMINFO: Final = Path("/proc/meminfo")
_STATM: Final = Path("/proc/self/statm")
#: cgroup v1 reports "no limit" as a huge number (close to 2**63).
_NO_LIMIT: Final = 1 << 60


@attrs.frozen(kw_only=True)
class Sample:
    """One window's figures.

    Attributes:
        cpu: CPU seconds per wall second over the window (share of one core).
        memory: resident memory over the memory available, 0..1.
    """

    cpu: float
    memory: float


class Sampler(Protocol):
    """Gives one :class:`Sample` per call: the window since the previous call."""

    def sample(self) -> Sample:
        """The figures of the window that ends now."""
        ...


def memory_available() -> int:
    """Bytes of memory the process may use: the cgroup limit if any, else the machine's."""
    for path in (_CGROUP_V2, _CGROUP_V1):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < _NO_LIMIT:
            return int(text)
    for line in _MEMINFO.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise OSError("no MemTotal in /proc/meminfo")


def resident_bytes() -> int:
    """The process's resident set size, in bytes."""
    return int(_STATM.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class ProcessSampler:
    """Samples this process (Linux): CPU since the previous sample, memory now."""

    def __init__(self) -> None:
        self._limit = memory_available()
        self._cpu, self._wall = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        times = os.times()
        return times.user + times.system, time.monotonic()

    def sample(self) -> Sample:
        """CPU share since the previous call (or since construction) and memory share."""
        cpu, wall = self._now()
        elapsed = wall - self._wall
        share = (cpu - self._cpu) / elapsed if elapsed > 0 else 0.0
        self._cpu, self._wall = cpu, wall
        return Sample(cpu=max(0.0, share), memory=resident_bytes() / self._limit)
