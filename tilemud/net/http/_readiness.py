"""What ``GET /readyz`` asks: is this node ready to take players, now?

Liveness (``/healthz``) says the process and its tree run; readiness says a load balancer may
send players here: every child of the root supervisor is running, the node is not stopping,
and, when the node keeps a database, the database answers within ``server.readiness_timeout``.

The database is asked **through the storage actor**: a ``SELECT 1`` sent as one ``Transact``
(its mailbox, one of its worker threads and a pooled connection, as any request of the game
goes). So a storage actor that is restarting, saturated (mailbox full, every thread busy) or
cut from its database makes the node not ready, which is what a player's next ``join``
would find; a cheap query on the engine beside the actor would miss the first two. The ping
costs one short transaction and counts in ``tilemud_storage_failures_total`` when it fails.

At most one ping is in flight, whatever the number of probes: concurrent probes wait for
the same ping, and a ping runs in the app's background nursery, not in a request, so
a probe that times out or whose client goes away neither cancels it nor starts another.
A ping the storage actor has not answered keeps its place until it is answered: while the
database hangs, probes answer ``timeout`` and the storage actor sees one ping, not one per
probe. A ping counts as answered in time only when its own round trip took at most the
timeout (a probe that joins a ping already running does not wait longer than its own
timeout either).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal, Protocol, TypeAlias

import attrs
import trio
from sqlalchemy.engine import Connection

from tilemud.errors import ActorGone
from tilemud.storage import StorageClient, StorageUnavailable

__all__ = [
    "DatabaseCheck",
    "DatabaseStatus",
    "NodeReadiness",
    "ReadinessProbe",
    "ReadinessReport",
]

#: ``ok`` the database answered in time; ``unavailable`` the storage actor said it cannot
#: reach it; ``timeout`` no answer within the bound; ``error`` any other failure of the ping;
#: ``not_used`` the node keeps no database (``database.durable = false``).
DatabaseStatus: TypeAlias = Literal["ok", "unavailable", "timeout", "error", "not_used"]


@attrs.frozen(kw_only=True)
class ReadinessReport:
    """One answer to "may players be sent here now?".

    Attributes:
        ready: every check passed.
        details: JSON-serialisable facts merged into the ``/readyz`` body (``children``,
            ``database``, ``stopping``); a ``status`` key is ignored.
    """

    ready: bool
    details: Mapping[str, object] = attrs.field(factory=dict)


class ReadinessProbe(Protocol):
    """Anything that can tell whether the node is ready; the root tree passes one in."""

    async def readiness(self, *, background: trio.Nursery) -> ReadinessReport:
        """Check readiness; returns within the probe's own bound.

        Args:
            background: where work that must outlive the request runs (the app's nursery).
        """
        ...


@attrs.define(eq=False)
class _Ping:
    started_at: float
    done: trio.Event = attrs.field(factory=trio.Event)
    status: DatabaseStatus = "timeout"
    seconds: float = math.inf


def _select_one(conn: Connection) -> None:
    conn.exec_driver_sql("SELECT 1")


class DatabaseCheck:
    """Pings the database, one ping at a time (see the module docstring).

    Build it with :meth:`through`; the constructor takes the ping itself so that tests can
    hold it back or make it fail.

    Args:
        ping: one round trip to the database; raises ``StorageUnavailable`` (or
            ``ActorGone``) when it cannot be reached.
    """

    def __init__(self, ping: Callable[[], Awaitable[object]]) -> None:
        self._ping_once = ping
        self._current: _Ping | None = None

    @classmethod
    def through(cls, storage: StorageClient) -> DatabaseCheck:
        """The check the server uses: a ``SELECT 1`` transaction through the storage actor."""
        return cls(functools.partial(storage.transact, _select_one))

    async def check(
        self, *, bound: float, background: trio.Nursery
    ) -> tuple[DatabaseStatus, float | None]:
        """Ping the database (or join the ping in flight) and wait at most ``bound`` seconds.

        Returns:
            The status, and the ping's round trip in seconds when it was answered.
        """
        ping = self._current
        if ping is None:
            ping = self._current = _Ping(started_at=trio.current_time())
            background.start_soon(self._ping, ping)
        with trio.move_on_after(bound):
            await ping.done.wait()
        if not ping.done.is_set():
            return "timeout", None
        if ping.status == "ok" and ping.seconds > bound:
            return "timeout", ping.seconds
        return ping.status, ping.seconds

    async def _ping(self, ping: _Ping) -> None:
        try:
            await self._ping_once()
        except (StorageUnavailable, ActorGone):
            ping.status = "unavailable"
        except Exception:
            # Not ours to crash on: the storage actor logs and handles its own bugs. The
            # probe only has to say "not ready".
            ping.status = "error"
        else:
            ping.status = "ok"
        finally:
            ping.seconds = trio.current_time() - ping.started_at
            self._current = None
            ping.done.set()


class NodeReadiness:
    """The node's readiness: its root children, its stop, its database.

    Args:
        children: each root child's id and whether it runs now (read per probe).
        stopping: True once a graceful stop began (the node drains: not ready).
        database: the database check; None when the node keeps no database.
        timeout: seconds the database gets to answer (``server.readiness_timeout``).
        cluster: the node's cluster state (``status``: ``ok`` or ``unavailable`` ...), read
            per probe; None when the node runs alone (``not_used``). Said, never part of
            ``ready``: a node cut from Redis still serves its own arenas and players
            (docs/operations.md, "When Redis is down").
    """

    def __init__(
        self,
        *,
        children: Callable[[], Mapping[str, bool]],
        stopping: Callable[[], bool],
        database: DatabaseCheck | None,
        timeout: float,
        cluster: Callable[[], Mapping[str, object]] | None = None,
    ) -> None:
        self._cluster = cluster
        self._children = children
        self._stopping = stopping
        self._database = database
        self._timeout = timeout

    async def readiness(self, *, background: trio.Nursery) -> ReadinessReport:
        """Check every child, the stop and the database; see the module docstring."""
        database: dict[str, object]
        if self._database is None:
            database = {"status": "not_used"}
            database_ok = True
        else:
            status, seconds = await self._database.check(bound=self._timeout, background=background)
            database = {"status": status, "timeout_s": self._timeout}
            if seconds is not None:
                database["latency_ms"] = round(seconds * 1000, 3)
            database_ok = status == "ok"
        # Read after the database's answer, so that the report is of one moment.
        children = dict(self._children())
        stopping = self._stopping()
        ready = all(children.values()) and not stopping and database_ok
        return ReadinessReport(
            ready=ready,
            details={
                "children": {child: "up" if up else "down" for child, up in children.items()},
                "stopping": stopping,
                "database": database,
                "cluster": (
                    {"status": "not_used"} if self._cluster is None else dict(self._cluster())
                ),
            },
        )
