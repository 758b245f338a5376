"""A supervisor of children created at run time: arenas, parties, chat channels.

Always one_for_one: a child that exits on its own is restarted (or not) by its restart type
alone, and counts against the supervisor's intensity like any restart. Over the intensity,
the supervisor stops every child, last started first, and raises
:class:`~tilemud.supervisors.SupervisorEscalation`.

Which task may call what:

- ``run`` is the supervisor's own task. It alone restarts children and stops them all at
  the end.
- ``start_child``, ``stop_child``, ``child_ids`` and ``stop`` may be called from any task
  of the same Trio run, children of this supervisor included. ``start_child`` runs the new
  child's start in the *caller's* task (``nursery.start`` on the supervisor's nursery), so a
  slow start holds up only its caller, and a caller cancelled during the start cancels that
  child. ``stop_child`` waits in the caller's task, for at most the child's grace plus its
  cancellation.
- A child that wants to end itself (a party that became empty) returns from ``run`` and is
  transient or temporary; calling ``stop_child`` on itself would wait out its own grace.

The registry is only changed by synchronous code between checkpoints, so no lock is needed.
"""

from __future__ import annotations

import collections

import attrs
import trio

from tilemud.supervisors._errors import (
    ChildNotStarted,
    DuplicateChild,
    SupervisorEscalation,
    SupervisorFull,
    SupervisorNotRunning,
)
from tilemud.supervisors._incarnation import (
    Doorbell,
    Incarnation,
    RestartBudget,
    log_debug,
    log_extra,
    logger,
    run_incarnation,
    start_incarnation,
    stop_incarnation,
)
from tilemud.supervisors._outline import TreeNode, child_node
from tilemud.supervisors._spec import ChildContext, ChildSpec, Intensity


@attrs.define(kw_only=True, eq=False)
class _Entry:
    """A registered child: its spec and its current (or last) incarnation."""

    spec: ChildSpec
    incarnation: Incarnation


@attrs.define(kw_only=True, eq=False)
class _DynamicRun:
    """The state of one ``run`` of a dynamic supervisor."""

    ctx: ChildContext
    nursery: trio.Nursery
    budget: RestartBudget
    #: Registered children in start order: starting, running, restarting or stopping.
    children: dict[str, _Entry] = attrs.field(factory=dict)
    doorbell: Doorbell = attrs.field(factory=Doorbell)
    finished: trio.Event = attrs.field(factory=trio.Event)
    accepting: bool = False
    #: The incarnation the supervisor's own task is restarting right now.
    starting: Incarnation | None = None

    def on_exit(self, inc: Incarnation) -> None:
        """Called by each incarnation as it ends: drop it if it was stopped, wake the loop."""
        entry = self.children.get(inc.spec.id)
        if inc.stop_requested and entry is not None and entry.incarnation is inc:
            del self.children[inc.spec.id]
        self.doorbell.ring()


class DynamicSupervisor:
    """Starts and stops children by id while it runs; restarts them one_for_one."""

    def __init__(
        self,
        name: str,
        *,
        intensity: Intensity = Intensity(),  # noqa: B008 - a frozen value object
        max_children: int | None = None,
    ) -> None:
        """Describe a dynamic supervisor.

        Args:
            name: names it in logs and in :class:`SupervisorEscalation`.
            intensity: more restarts than this within its period makes it give up.
            max_children: how many children it holds at most (None: no limit).
        """
        if max_children is not None and max_children < 0:
            raise ValueError("max_children must not be negative")
        self.name = name
        self.intensity = intensity
        self.max_children = max_children
        self._run: _DynamicRun | None = None
        # Restarts per child id (ids of children that ended are forgotten).
        self._restarts: collections.Counter[str] = collections.Counter()

    def outline(self, *, name: str | None = None, restarts: int = 0) -> TreeNode:
        """A read-only picture of this supervisor and its registered children now.

        Args:
            name: the node's name (its id in its parent); the supervisor's own by default.
            restarts: how many times its parent restarted it.
        """
        state = self._run
        entries = [] if state is None else list(state.children.values())
        return TreeNode(
            name=self.name if name is None else name,
            kind="dynamic",
            strategy="one_for_one",
            running=state is not None,
            restarts=restarts,
            children=tuple(
                child_node(
                    entry.spec.run,
                    name=entry.spec.id,
                    running=entry.incarnation.running,
                    restarts=self._restarts[entry.spec.id],
                )
                for entry in entries
            ),
        )

    def child_ids(self) -> list[str]:
        """Ids of the registered children (starting, running, restarting or stopping)."""
        return [] if self._run is None else list(self._run.children)

    async def start_child(self, spec: ChildSpec) -> object:
        """Start a child and wait until it called ``started()``.

        Returns:
            The value the child passed to ``started()``.

        Raises:
            SupervisorNotRunning: the supervisor is not running or is stopping.
            DuplicateChild: a child with ``spec.id`` is registered.
            SupervisorFull: ``max_children`` children are registered.
            ChildNotStarted: the child returned, or was stopped, before ``started()``.
            Exception: whatever the child raised before ``started()``; it is not restarted.
        """
        state = self._run
        if state is None or not state.accepting:
            raise SupervisorNotRunning(f"supervisor {self.name!r} is not running")
        if spec.id in state.children:
            raise DuplicateChild(f"supervisor {self.name!r} already has a child {spec.id!r}")
        if self.max_children is not None and len(state.children) >= self.max_children:
            raise SupervisorFull(f"supervisor {self.name!r} is full ({self.max_children})")
        inc = Incarnation(spec, self.name)
        entry = _Entry(spec=spec, incarnation=inc)
        state.children[spec.id] = entry
        ok = False
        try:
            value = await state.nursery.start(run_incarnation, inc, state.on_exit)
            ok = True
            return value
        except Exception as exc:
            if not (inc.returned and isinstance(exc, RuntimeError)):
                log_debug(self.name, spec.id, f"failed to start: {exc!r}; raised to the caller")
                raise
        finally:
            if not ok and state.children.get(spec.id) is entry:
                del state.children[spec.id]
        # XXX: nursery.start() turned "returned without calling started()" into a
        # RuntimeError; the child may have returned because the caller is being cancelled.
        await trio.lowlevel.checkpoint_if_cancelled()
        if inc.stop_requested and not state.accepting:
            raise SupervisorNotRunning(
                f"supervisor {self.name!r} stopped while {spec.id!r} started"
            )
        if inc.stop_requested:
            raise ChildNotStarted(f"child {spec.id!r} was stopped before it was ready")
        raise ChildNotStarted(f"child {spec.id!r} returned before calling started()")

    async def stop_child(self, child_id: str) -> bool:
        """Stop a child per its ``shutdown`` grace and wait until it has exited.

        Returns:
            False if no child has that id; True once it is stopped and unregistered.
        """
        state = self._run
        entry = None if state is None else state.children.get(child_id)
        if state is None or entry is None:
            return False
        await stop_incarnation(entry.incarnation)
        if state.children.get(child_id) is entry:
            del state.children[child_id]
        return True

    def stop(self) -> None:
        """Begin a graceful stop; returns at once. See :meth:`Supervisor.stop`."""
        if self._run is not None:
            self._run.ctx.stopping.set()

    async def wait_stopped(self) -> None:
        """Wait until the current ``run`` has ended (at once if it is not running)."""
        if self._run is not None:
            await self._run.finished.wait()

    async def run(self, ctx: ChildContext) -> None:
        """Supervise until stopped; calls ``ctx.started()`` at once (it starts empty).

        Returns after a graceful stop, with every child stopped, last started first.

        Raises:
            SupervisorEscalation: the restart intensity was exceeded; every child has been
                stopped. The last crash is its ``__cause__``.
            RuntimeError: this supervisor is already running.
        """
        if self._run is not None:
            raise RuntimeError(f"supervisor {self.name!r} is already running")
        escalation: SupervisorEscalation | None = None
        state: _DynamicRun | None = None
        try:
            async with trio.open_nursery() as nursery:
                state = _DynamicRun(ctx=ctx, nursery=nursery, budget=RestartBudget(self.intensity))
                self._run = state
                nursery.start_soon(self._watch_stop, state)
                try:
                    state.accepting = True
                    ctx.started()
                    escalation = await self._supervise(state)
                    state.accepting = False
                    await self._stop_all(state)
                    nursery.cancel_scope.cancel()
                finally:
                    # Children mid-start in other tasks are not in this nursery yet, and the
                    # nursery waits for them: cancel them so that it can close.
                    state.accepting = False
                    for entry in list(state.children.values()):
                        entry.incarnation.stop_requested = True
                        entry.incarnation.scope.cancel()
        except BaseException:
            logger.debug("supervisor %r torn down", self.name, extra={"supervisor": self.name})
            raise
        finally:
            self._run = None
            if state is not None:
                state.finished.set()
        if escalation is not None:
            raise escalation from escalation.__cause__
        logger.debug("supervisor %r stopped", self.name, extra={"supervisor": self.name})

    async def _watch_stop(self, state: _DynamicRun) -> None:
        """Refuse new children once a stop is asked for; wake the loop; unblock a restart."""
        await state.ctx.stopping.wait()
        state.accepting = False
        state.doorbell.ring()
        if state.starting is not None:
            await stop_incarnation(state.starting)

    async def _supervise(self, state: _DynamicRun) -> SupervisorEscalation | None:
        """React to children's own exits until a stop is asked for or the intensity is hit."""
        while not state.ctx.stopping.is_set():
            entry = next((e for e in state.children.values() if e.incarnation.pending), None)
            if entry is None:
                await state.doorbell.wait()
                continue
            inc = entry.incarnation
            inc.pending = False
            child_id = entry.spec.id
            if not entry.spec.restart.wants_restart(crashed=inc.crash is not None):
                del state.children[child_id]
                self._restarts.pop(child_id, None)
                log_debug(self.name, child_id, f"ended; not restarted ({entry.spec.restart.value})")
                continue
            if not state.budget.spend():
                logger.warning(
                    "supervisor %r: restart intensity %s exceeded by child %r; escalating",
                    self.name,
                    self.intensity,
                    child_id,
                    extra=log_extra(self.name, child_id),
                )
                escalation = SupervisorEscalation(self.name, child_id)
                escalation.__cause__ = inc.crash
                return escalation
            logger.info(
                "supervisor %r: restarting child %r",
                self.name,
                child_id,
                extra=log_extra(self.name, child_id),
            )
            self._restarts[child_id] += 1
            new = Incarnation(entry.spec, self.name)
            entry.incarnation = new
            state.starting = new
            try:
                await start_incarnation(state.nursery, new, state.on_exit)
            finally:
                state.starting = None
        return None

    async def _stop_all(self, state: _DynamicRun) -> None:
        """Stop every registered child, last started first, each per its own grace."""
        while state.children:
            child_id = next(reversed(state.children))
            entry = state.children[child_id]
            await stop_incarnation(entry.incarnation)
            if state.children.get(child_id) is entry:
                del state.children[child_id]
