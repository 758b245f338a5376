"""One incarnation of a child, and the moves every supervisor makes with it.

Both supervisor kinds build on these pieces: run an incarnation inside the supervisor's
nursery (:func:`run_incarnation`), start one with the start protocol from the supervisor's
own task (:func:`start_incarnation`), stop one gracefully or brutally
(:func:`stop_incarnation`), count restarts against the intensity (:class:`RestartBudget`),
and wake the supervisor's loop when something happened (:class:`Doorbell`).

Logging happens here, so that each crash is logged exactly once: where the supervisor first
sees it (the wrapper, or the start that failed). Stops, normal exits and cancellation are
logged at DEBUG.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import trio

from tilemud.supervisors._spec import ChildContext, ChildSpec, Intensity

logger = logging.getLogger("tilemud.supervisor")


def log_extra(supervisor: str, child: str) -> dict[str, str]:
    """The ``extra`` of every supervisor log record."""
    return {"supervisor": supervisor, "child": child}


def log_crash(supervisor: str, child: str, exc: BaseException) -> None:
    """Log one crash at ERROR, with its traceback."""
    logger.error(
        "supervisor %r: child %r crashed",
        supervisor,
        child,
        exc_info=exc,
        extra=log_extra(supervisor, child),
    )


def log_debug(supervisor: str, child: str, what: str) -> None:
    """Log a stop, a normal exit or a cancellation: teardown, not an error."""
    logger.debug(
        "supervisor %r: child %r %s", supervisor, child, what, extra=log_extra(supervisor, child)
    )


class Incarnation:
    """One run of a child: its cancel scope, stop signal and how it ended.

    Only the supervisor's code touches it; the child sees its :class:`ChildContext`.

    Attributes:
        pending: it exited on its own and the supervisor has not yet decided what follows.
        crash: the exception it raised, if it crashed.
        returned: ``run`` returned (including after a cancel by :func:`stop_incarnation`).
        stop_requested: the supervisor is stopping it; its exit needs no decision.
    """

    __slots__ = (
        "crash",
        "ctx",
        "done",
        "pending",
        "returned",
        "scope",
        "spec",
        "stop_requested",
        "stopping",
        "supervisor",
    )

    def __init__(self, spec: ChildSpec, supervisor: str) -> None:
        """Prepare an incarnation of ``spec`` under the supervisor called ``supervisor``."""
        self.spec = spec
        self.supervisor = supervisor
        self.scope = trio.CancelScope()
        self.stopping = trio.Event()
        self.done = trio.Event()
        self.ctx: ChildContext | None = None
        self.crash: Exception | None = None
        self.returned = False
        self.stop_requested = False
        self.pending = False

    @property
    def running(self) -> bool:
        """It called ``started()`` and has not exited."""
        return self.ctx is not None and self.ctx.has_started and not self.done.is_set()


async def run_incarnation(
    inc: Incarnation,
    on_exit: Callable[[Incarnation], None],
    *,
    task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run one incarnation; the task the supervisor starts with ``nursery.start``.

    Before the child calls ``started()``, an exception goes to whoever called
    ``nursery.start``. After it, a crash is recorded and logged here and never escapes into
    the supervisor's nursery. Cancellation from outside (``trio.Cancelled``, possibly inside
    a ``BaseExceptionGroup``) always propagates; a group that mixes crashes with
    cancellation propagates whole until a cancel scope strips the ``Cancelled`` out of it.

    Args:
        inc: the incarnation to run.
        on_exit: called synchronously when it ends, however it ends, before ``done`` is set.
        task_status: the start protocol's status, passed on through the child's context.
    """
    ctx = ChildContext(inc.spec.id, task_status=task_status, stopping=inc.stopping)
    inc.ctx = ctx
    try:
        with inc.scope:
            await inc.spec.run(ctx)
    except Exception as exc:
        if not ctx.has_started:
            raise
        inc.crash = exc
        inc.pending = not inc.stop_requested
        log_crash(inc.supervisor, inc.spec.id, exc)
    else:
        inc.returned = True
        if inc.scope.cancelled_caught:
            log_debug(inc.supervisor, inc.spec.id, "was cancelled")
        else:
            log_debug(inc.supervisor, inc.spec.id, "returned")
        inc.pending = ctx.has_started and not inc.stop_requested
    finally:
        on_exit(inc)
        inc.done.set()


async def start_incarnation(
    nursery: trio.Nursery, inc: Incarnation, on_exit: Callable[[Incarnation], None]
) -> bool:
    """Start ``inc`` in ``nursery`` from the supervisor's own task, with the start protocol.

    Returns:
        True once the child called ``started()``. False if it exited first: then it is
        marked ``pending`` (unless a stop was requested) and a crash has been logged.

    Raises:
        trio.Cancelled: the calling task is being cancelled.
    """
    failure: Exception | None = None
    returned_early = False
    try:
        await nursery.start(run_incarnation, inc, on_exit)
    except Exception as exc:
        if inc.returned and isinstance(exc, RuntimeError):
            returned_early = True
        else:
            failure = exc
    if returned_early:
        # XXX: nursery.start() reports a child that returned without calling started() as
        # RuntimeError("child exited without calling task_status.started()"), and a child
        # returns that way when *our* task is cancelled and it swallows the Cancelled. That
        # is cancellation, not a crash: re-raise it as such instead of restarting anything.
        await trio.lowlevel.checkpoint_if_cancelled()
        log_debug(inc.supervisor, inc.spec.id, "returned before calling started()")
    elif failure is not None:
        inc.crash = failure
        log_crash(inc.supervisor, inc.spec.id, failure)
    else:
        return True
    inc.pending = not inc.stop_requested
    return False


async def stop_incarnation(inc: Incarnation) -> None:
    """Stop ``inc`` as its spec says and wait until it has exited.

    Graceful (``shutdown`` is a number): set ``stopping``, wait up to the grace, then cancel.
    Brutal (``shutdown`` is None): cancel at once. Calling it again, or on an incarnation
    that already exited, is harmless. If the caller is cancelled while waiting, the child is
    cancelled too rather than left half-stopped.

    XXX: after the cancel this waits without a bound: Trio cannot kill a task, and letting a
    new incarnation start beside an old one that shields itself would be worse.
    """
    inc.stop_requested = True
    inc.pending = False
    if inc.done.is_set():
        return
    try:
        if inc.spec.shutdown is not None:
            log_debug(inc.supervisor, inc.spec.id, "stopping gracefully")
            inc.stopping.set()
            with trio.move_on_after(inc.spec.shutdown):
                await inc.done.wait()
            if inc.done.is_set():
                return
            log_debug(inc.supervisor, inc.spec.id, "outlived its grace; cancelling")
        else:
            log_debug(inc.supervisor, inc.spec.id, "stopping brutally")
        inc.scope.cancel()
        await inc.done.wait()
    finally:
        if not inc.done.is_set():
            inc.scope.cancel()


class RestartBudget:
    """Restarts counted against an :class:`Intensity` on Trio time."""

    def __init__(self, intensity: Intensity) -> None:
        """Start with no restarts on record."""
        self._intensity = intensity
        self._times: deque[float] = deque()

    def spend(self) -> bool:
        """Record a restart now.

        Returns:
            False when it is more than ``restarts`` restarts within ``period`` seconds
            (counting restarts at most ``period`` seconds old, as OTP does).
        """
        now = trio.current_time()
        self._times.append(now)
        while now - self._times[0] > self._intensity.period:
            self._times.popleft()
        return len(self._times) <= self._intensity.restarts


class Doorbell:
    """Wakes a supervisor's loop; rings that come while it is busy are not lost."""

    def __init__(self) -> None:
        """Create a bell that has not rung."""
        self._event = trio.Event()

    def ring(self, _: object = None) -> None:
        """Wake the waiter (now, or as soon as it next waits)."""
        self._event.set()

    async def wait(self) -> None:
        """Wait for a ring made since the last wait returned."""
        await self._event.wait()
        self._event = trio.Event()


async def ring_when_set(event: trio.Event, doorbell: Doorbell) -> None:
    """Ring ``doorbell`` once ``event`` is set (how a supervisor hears its own stop)."""
    await event.wait()
    doorbell.ring()
