"""Scripted children for the supervisor tests, and a harness that runs a tree.

A :class:`Probe` is a child whose every move is written to a shared event log, and whose
next move the test decides: ``crash()``, ``finish()`` (return normally), or nothing (keep
running until stopped). All timing is Trio time, so the tests run under ``autojump_clock``.
"""

from __future__ import annotations

import logging

import attrs
import pytest
import trio

from tilemud.supervisors import (
    ChildContext,
    ChildSpec,
    DynamicSupervisor,
    Restart,
    Supervisor,
    SupervisorEscalation,
    run_root,
)


class Boom(Exception):
    """The crash the probes raise."""


class Probe:
    """A child that logs ``start``/``ready``/``stop``/``cancelled``/``crash``/``return``.

    Args:
        name: its child id, used in the log lines.
        log: the shared event log, in the order things happened.
        start_delay: Trio seconds to wait before calling ``started()``.
        crash_on_start: how many incarnations (the first ones) raise before ``started()``.
        ignores_stopping: it never looks at ``ctx.stopping`` (only a cancel stops it).
        cleanup: Trio seconds its graceful cleanup takes after ``stopping`` is set.
    """

    def __init__(
        self,
        name: str,
        log: list[str],
        *,
        start_delay: float = 0.0,
        crash_on_start: int = 0,
        ignores_stopping: bool = False,
        cleanup: float = 0.0,
    ) -> None:
        self.name = name
        self.log = log
        self.start_delay = start_delay
        self.crash_on_start = crash_on_start
        self.ignores_stopping = ignores_stopping
        self.cleanup = cleanup
        self.incarnations = 0
        self._wake: trio.CancelScope | None = None
        self._next: str | None = None

    def spec(
        self, restart: Restart = Restart.PERMANENT, shutdown: float | None = None
    ) -> ChildSpec:
        """This probe as a child of a supervisor."""
        return ChildSpec(id=self.name, run=self.run, restart=restart, shutdown=shutdown)

    def crash(self) -> None:
        """Make the running incarnation raise :class:`Boom`."""
        self._act("crash")

    def finish(self) -> None:
        """Make the running incarnation return normally."""
        self._act("return")

    def _act(self, move: str) -> None:
        assert self._wake is not None, f"{self.name} is not running"
        self._next = move
        self._wake.cancel()

    async def run(self, ctx: ChildContext) -> None:
        """The child's body."""
        self.incarnations += 1
        number = self.incarnations
        self.log.append(f"start {self.name}")
        try:
            await trio.sleep(self.start_delay)
            if number <= self.crash_on_start:
                self.log.append(f"crash {self.name}")
                raise Boom(f"{self.name} failed to start")
            wake = self._wake = trio.CancelScope()
            ctx.started(f"{self.name}#{number}")
            self.log.append(f"ready {self.name}")
            with wake:
                if self.ignores_stopping:
                    await trio.sleep_forever()
                await ctx.stopping.wait()
            self._wake = None
            if wake.cancelled_caught:
                self.log.append(f"{self._next} {self.name}")
                if self._next == "crash":
                    raise Boom(f"{self.name} crashed")
                return
            await trio.sleep(self.cleanup)
            self.log.append(f"stop {self.name}")
        except trio.Cancelled:
            self._wake = None
            self.log.append(f"cancelled {self.name}")
            raise


@attrs.define
class Tree:
    """A supervisor run by :func:`run_tree`, and how its run ended."""

    supervisor: Supervisor | DynamicSupervisor
    finished: trio.Event = attrs.field(factory=trio.Event)
    escalation: SupervisorEscalation | None = None


async def run_tree(
    tree: Tree, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run ``tree.supervisor`` as a root, keeping an escalation instead of raising it."""
    try:
        await run_root(tree.supervisor, task_status=task_status)
    except SupervisorEscalation as exc:
        tree.escalation = exc
    finally:
        tree.finished.set()


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The supervisor's records at ERROR or above."""
    return [
        r for r in caplog.records if r.name == "tilemud.supervisor" and r.levelno >= logging.ERROR
    ]
