"""The read hub: one task that waits for every idle reader's socket at once.

A reader task per connection, each waiting on its own socket, costs a pass of the
scheduler for every frame a player sends (the task's whole chain of coroutines resumed,
the socket registered with Trio's epoll again, a read that finds nothing before the next
wait): at epic-300's 900 frames a second that was a quarter of the server's CPU (issue 13,
docs/performance.md). A reader with nothing to do parks here instead (:meth:`ReadHub.wait`):
its socket joins the hub's own epoll, level-triggered and registered once, and the hub's
task calls the reader's ``on_readable`` when bytes arrive. That callback handles what it can
at once, without waiting (a ``place``, an ``ack``: most of what players send), and asks for
its task only for the rest, which then goes the usual way, in order.

Fairness: each pass calls every ready reader once, and a reader reads its socket at most
once per call; a socket with more bytes is still readable at the next pass
(level-triggered).

Batching: after a pass the hub waits ``pause`` seconds before the next, so that the sockets
that became readable meanwhile are taken in one pass (one scheduler pass for many frames,
as an arena takes its mailbox, ``TAKE_PAUSE``). A placement waits for its tick anyway; the
pause is the longest a frame can wait for the hub.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Callable
from typing import Final

import outcome
import trio

from tilemud.nap import nap_until

#: Seconds between the hub's passes (at most: an idle hub wakes at the first byte). 20 ms,
#: not 5: under epic-300's steady input the hub then wakes ~50 times a second instead of
#: ~200, each wake ~25 µs of CPU whatever it does (docs/performance.md, "The send path,
#: eighth pass"); a placement waits for its tick anyway, and a frame at most this long.
HUB_PAUSE: Final = 0.02


class HubStopped(Exception):
    """The hub's task ended while a reader was parked: it must read its socket itself."""


class ReadHub:
    """Waits on the sockets of parked readers; its :meth:`run` task serves them.

    Args:
        pause: seconds between passes (:data:`HUB_PAUSE`; 0 for none).
    """

    def __init__(self, *, pause: float = HUB_PAUSE) -> None:
        self._pause = pause
        self._epoll: select.epoll | None = None
        # A parked reader's task and callback, by its socket's descriptor.
        self._parked: dict[int, tuple[trio.lowlevel.Task, Callable[[], bool]]] = {}
        #: Callbacks made (each ready socket once per pass), for the tests and the metrics.
        self.calls = 0

    @property
    def running(self) -> bool:
        """Whether :meth:`run` serves parked readers now (else readers wait on their own)."""
        return self._epoll is not None

    async def wait(self, fd: int, on_readable: Callable[[], bool]) -> None:
        """Park the calling task until ``on_readable`` returns True.

        The hub's task calls ``on_readable`` (never this task) each pass in which ``fd`` is
        readable; it must not block, and returns True when the parked task must go on (it
        found something only the task can do). An exception it raises is raised here.

        Raises:
            HubStopped: the hub is not running, or stopped while the task was parked.
        """
        epoll = self._epoll
        if epoll is None:
            raise HubStopped("the read hub is not running")
        epoll.register(fd, select.EPOLLIN)
        self._parked[fd] = (trio.lowlevel.current_task(), on_readable)

        def abort(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
            self._forget(fd)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    async def run(self) -> None:
        """Serve parked readers until cancelled."""
        with select.epoll() as epoll:
            self._epoll = epoll
            try:
                slept = False
                while True:
                    # After a pause, the sockets that became readable meanwhile are
                    # ready at once: no wait for the hub's epoll (a registration and a
                    # pass of the scheduler more per pass) when there are.
                    ready = epoll.poll(0) if slept else []
                    if not ready:
                        await trio.lowlevel.wait_readable(epoll)
                        ready = epoll.poll(0)
                    woke = trio.current_time()
                    self._pass(ready)
                    # (Without a pause, the wait above is the pass's checkpoint.)
                    slept = self._pause > 0
                    if slept:
                        await nap_until(woke + self._pause)
            finally:
                self._epoll = None
                stopped = HubStopped("the read hub stopped")
                for fd, (task, _) in list(self._parked.items()):
                    self._forget(fd, epoll)
                    trio.lowlevel.reschedule(task, outcome.Error(stopped))

    def _pass(self, ready: list[tuple[int, int]]) -> None:
        parked = self._parked
        for fd, _ in ready:
            found = parked.get(fd)
            if found is None:
                continue
            task, on_readable = found
            self.calls += 1
            try:
                done = on_readable()
            except BaseException as exc:  # raised in the reader's own task, where it belongs
                self._forget(fd)
                trio.lowlevel.reschedule(task, outcome.Error(exc))
                continue
            if done:
                self._forget(fd)
                trio.lowlevel.reschedule(task)

    def _forget(self, fd: int, epoll: select.epoll | None = None) -> None:
        epoll = epoll or self._epoll
        if self._parked.pop(fd, None) is not None and epoll is not None:
            # A descriptor closed meanwhile has left the epoll set by itself.
            with contextlib.suppress(OSError, ValueError):
                epoll.unregister(fd)
