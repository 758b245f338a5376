"""The server process's CPU and memory, when it runs on this machine (psutil).

The process is the one given by ``--server-pid``, or else the one listening on the
gateway's port (``psutil.net_connections``). A server elsewhere, or a process this user may
not inspect, is reported as not available, with the reason.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import attrs
import psutil

from tilemud.errors import TilemudError
from tilemud.loadtest._config import is_loopback_host


class ProbeUnavailable(TilemudError):
    """The server process cannot be watched; the message says why."""

    code = "unavailable"


def find_listener(port: int) -> int:
    """The pid of the process listening on TCP ``port`` on this machine.

    Raises:
        ProbeUnavailable: no such process, or it cannot be seen.
    """
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied as exc:
        raise ProbeUnavailable(f"cannot list sockets: {exc}") from exc
    for connection in connections:
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid is not None
        ):
            return connection.pid
    raise ProbeUnavailable(f"no process of this user listens on port {port}")


def server_pid(ws_url: str, given: int | None) -> int:
    """The server's pid: ``given``, or the listener of ``ws_url``'s port on this machine.

    Raises:
        ProbeUnavailable: it cannot be found.
    """
    if given is not None:
        return given
    parts = urlsplit(ws_url)
    if not is_loopback_host(parts.hostname):
        raise ProbeUnavailable("the server is not on this machine (pass --server-pid)")
    return find_listener(parts.port or 80)


@attrs.define
class ServerProbe:
    """Samples one process: CPU (% of one core) and resident memory."""

    pid: int
    _process: psutil.Process = attrs.field(init=False)
    _cpu_start: float = attrs.field(init=False, default=0.0)
    cpu_percent_max: float = 0.0
    rss_max: int = 0
    rss_last: int = 0
    samples: int = 0

    def __attrs_post_init__(self) -> None:
        try:
            self._process = psutil.Process(self.pid)
            self._cpu_start = self._cpu_seconds()
            self._process.cpu_percent(None)  # starts the first interval
        except psutil.Error as exc:
            raise ProbeUnavailable(f"cannot watch process {self.pid}: {exc}") from exc

    def restart(self) -> None:
        """Count CPU time from now on (the run starts)."""
        try:
            self._cpu_start = self._cpu_seconds()
            self._process.cpu_percent(None)
        except psutil.Error:
            return

    def _cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def sample(self) -> tuple[float, int] | None:
        """CPU percent since the last sample, and RSS in bytes; None once it is gone."""
        try:
            with self._process.oneshot():
                cpu = float(self._process.cpu_percent(None))
                rss = int(self._process.memory_info().rss)
        except psutil.Error:
            return None
        self.samples += 1
        self.cpu_percent_max = max(self.cpu_percent_max, cpu)
        self.rss_max = max(self.rss_max, rss)
        self.rss_last = rss
        return cpu, rss

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the process used since the probe started."""
        try:
            return self._cpu_seconds() - self._cpu_start
        except psutil.Error:
            return None

    def summary(self, wall_seconds: float) -> dict[str, Any]:
        """What the report shows of the server process."""
        cpu = self.cpu_seconds()
        return {
            "available": True,
            "pid": self.pid,
            "cpu_seconds": None if cpu is None else round(cpu, 3),
            "cpu_percent_avg": (
                None if cpu is None or wall_seconds <= 0 else round(100 * cpu / wall_seconds, 1)
            ),
            "cpu_percent_max": round(self.cpu_percent_max, 1),
            "rss_mb_max": round(self.rss_max / 2**20, 1),
            "rss_mb_end": round(self.rss_last / 2**20, 1),
        }
