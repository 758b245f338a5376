"""Where this process's resident memory is, by allocator: pymalloc, glibc's malloc, the rest.

Python's small objects (up to 512 bytes) live in pymalloc's arenas of 1 MiB, returned to
the system only when every object in one is freed; larger ones (and C libraries: zlib's
state, SQLite's caches, orjson's buffers) come from glibc's malloc, whose main heap shrinks
only from its top and whose other threads' arenas rarely shrink. The RSS growth of a server
that allocates little but churns a lot is often here, not in live objects: this splits it.

Linux and glibc only (``mallinfo2``, glibc 2.33+; ``malloc_trim``); elsewhere the glibc
figures are None.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import sys
import tempfile
from typing import Final

import attrs
import psutil

_MIB: Final = 2**20


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _MallInfo2
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    return libc


@attrs.frozen
class AllocatorState:
    """This process's memory at one moment, in MiB."""

    rss: float
    #: pymalloc: arenas held (1 MiB each), bytes in objects, bytes free in those arenas.
    pymalloc_arenas: float
    pymalloc_used: float
    pymalloc_free: float
    #: glibc malloc, every arena: bytes from the heap and arenas (``arena``), in large
    #: mmapped chunks (``hblkhd``), in use (``uordblks``) and free (``fordblks``);
    #: pymalloc's own arenas are mmapped directly, not through malloc.
    malloc_heap: float | None
    malloc_mmapped: float | None
    malloc_used: float | None
    malloc_free: float | None

    def line(self) -> str:
        """One line for a log."""
        glibc = (
            "glibc n/a"
            if self.malloc_heap is None
            else f"glibc heap {self.malloc_heap:.1f} (used {self.malloc_used:.1f}, "
            f"free {self.malloc_free:.1f}) + mmapped {self.malloc_mmapped:.1f}"
        )
        return (
            f"RSS {self.rss:.1f} MiB: pymalloc {self.pymalloc_arenas:.1f} "
            f"(used {self.pymalloc_used:.1f}, free {self.pymalloc_free:.1f}); {glibc}"
        )


_STAT: Final = re.compile(
    r"^# (arenas allocated current|bytes in allocated blocks"
    r"|bytes in available blocks)\s+=\s+([\d,]+)",
    re.MULTILINE,
)
_UNUSED_POOLS: Final = re.compile(r"^(\d+) unused pools \* (\d+) bytes", re.MULTILINE)
_ARENA_BYTES: Final = re.compile(r"^(\d+) arenas \* (\d+) bytes/arena", re.MULTILINE)


def _pymalloc() -> tuple[float, float, float]:
    """pymalloc's arenas, used and free bytes (free: in partly used pools and unused
    pools), from ``sys._debugmallocstats``, which writes to the C-level stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as out:
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode()
    stats = {name: int(value.replace(",", "")) for name, value in _STAT.findall(text)}
    arenas = _ARENA_BYTES.search(text)
    arena_bytes = int(arenas.group(1)) * int(arenas.group(2)) if arenas else 0
    pools = _UNUSED_POOLS.search(text)
    unused = int(pools.group(1)) * int(pools.group(2)) if pools else 0
    used = stats.get("bytes in allocated blocks", 0)
    free = stats.get("bytes in available blocks", 0) + unused
    return arena_bytes / _MIB, used / _MIB, free / _MIB


def allocator_state() -> AllocatorState:
    """This process's memory now, split by allocator."""
    arenas, used, free = _pymalloc()
    rss = psutil.Process().memory_info().rss / _MIB
    libc = _libc()
    if libc is None:
        return AllocatorState(rss, arenas, used, free, None, None, None, None)
    info = libc.mallinfo2()
    return AllocatorState(
        rss,
        arenas,
        used,
        free,
        info.arena / _MIB,
        info.hblkhd / _MIB,
        info.uordblks / _MIB,
        info.fordblks / _MIB,
    )


def trim() -> bool:
    """Give glibc's free memory back to the system (``malloc_trim(0)``); False if not
    available or nothing was released."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))
