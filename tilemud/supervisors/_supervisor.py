"""A supervisor of a fixed list of children, with OTP semantics.

Children start in list order with the start protocol: child *k+1* starts only once child *k*
called ``started()``. A stop goes in reverse order, each child honouring its own shutdown
grace. When a child exits on its own, its restart type decides whether it is restarted, the
strategy decides which siblings go down and come back with it, and the intensity decides
whether the supervisor gives up and escalates to its parent.

Tasks: ``run`` is the supervisor's own task; it alone decides restarts and stops. ``stop``
and ``started_value`` may be called from any task.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import attrs
import trio

from tilemud.supervisors._errors import ChildNotRunning, SupervisorEscalation
from tilemud.supervisors._incarnation import (
    Doorbell,
    Incarnation,
    RestartBudget,
    logger,
    start_incarnation,
    stop_incarnation,
)
from tilemud.supervisors._outline import TreeNode, child_node
from tilemud.supervisors._spec import ChildContext, ChildSpec, Intensity, Restart, Strategy


@attrs.define(kw_only=True, eq=False)
class _Child:
    """A child in the supervisor's list: its spec and its current incarnation, if any."""

    spec: ChildSpec
    incarnation: Incarnation | None = None
    #: False once a transient child ended normally: it stays in the list, not running.
    wanted: bool = True


@attrs.define(kw_only=True, eq=False)
class _Run:
    """The state of one ``run`` of a supervisor; a restarted supervisor starts afresh."""

    ctx: ChildContext
    children: list[_Child]
    budget: RestartBudget
    doorbell: Doorbell = attrs.field(factory=Doorbell)
    finished: trio.Event = attrs.field(factory=trio.Event)
    starting: Incarnation | None = None


class Supervisor:
    """Runs a fixed list of children and restarts them as their specs and its strategy say.

    A supervisor is itself a child: put ``ChildSpec(id=..., run=sup.run, shutdown=...)`` in
    its parent, with a grace that covers its own children's graces. The same object may be
    run again after it ended (a parent restarting it); each run starts afresh.
    """

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec],
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        intensity: Intensity = Intensity(),  # noqa: B008 - a frozen value object
    ) -> None:
        """Describe a supervisor.

        Args:
            name: names it in logs and in :class:`SupervisorEscalation`.
            children: started in this order, stopped in the reverse order.
            strategy: which siblings restart with a child that has to be restarted.
            intensity: more restarts than this within its period makes it give up.

        Raises:
            ValueError: two children share an id.
        """
        ids = [spec.id for spec in children]
        if len(set(ids)) != len(ids):
            raise ValueError(f"supervisor {name!r}: child ids must be unique, got {ids}")
        self.name = name
        self.strategy = strategy
        self.intensity = intensity
        self._specs = tuple(children)
        self._run: _Run | None = None
        # Restarts per child id over every run of this supervisor (the console's tree).
        self._restarts: collections.Counter[str] = collections.Counter()

    def outline(self, *, name: str | None = None, restarts: int = 0) -> TreeNode:
        """A read-only picture of this supervisor and its children now.

        Args:
            name: the node's name (its id in its parent); the supervisor's own by default.
            restarts: how many times its parent restarted it.
        """
        state = self._run
        children = [] if state is None else state.children
        by_id = {child.spec.id: child for child in children}
        nodes = []
        for spec in self._specs:
            child = by_id.get(spec.id)
            inc = None if child is None else child.incarnation
            nodes.append(
                child_node(
                    spec.run,
                    name=spec.id,
                    running=inc is not None and inc.running,
                    restarts=self._restarts[spec.id],
                )
            )
        return TreeNode(
            name=self.name if name is None else name,
            kind="supervisor",
            strategy=self.strategy.value,
            running=state is not None,
            restarts=restarts,
            children=tuple(nodes),
        )

    def started_value(self, child_id: str) -> object:
        """The value the child's current incarnation passed to ``started()``.

        Raises:
            ChildNotRunning: no incarnation of that child is running now.
        """
        state = self._run
        if state is not None:
            for child in state.children:
                if child.spec.id == child_id:
                    inc = child.incarnation
                    if inc is not None and inc.ctx is not None and inc.running:
                        return inc.ctx.started_value
                    break
        raise ChildNotRunning(f"supervisor {self.name!r} has no running child {child_id!r}")

    def stop(self) -> None:
        """Begin a graceful stop of the running supervisor; returns at once.

        Children stop in reverse order, each within its grace, then ``run`` returns; await
        :meth:`wait_stopped` for that. Meant for the root of a tree (the CLI calls it on
        SIGTERM): a supervisor under a parent is stopped by that parent, and one that
        returns on its own is, to a parent, a child that exited normally. Safe to call from
        any task, and more than once; does nothing if the supervisor is not running.
        """
        if self._run is not None:
            self._run.ctx.stopping.set()

    async def wait_stopped(self) -> None:
        """Wait until the current ``run`` has ended (at once if it is not running).

        The caller bounds the wait if it must (``trio.move_on_after``).
        """
        if self._run is not None:
            await self._run.finished.wait()

    async def run(self, ctx: ChildContext) -> None:
        """Supervise the children until stopped; calls ``ctx.started()`` once all run.

        Returns after a graceful stop (``ctx.stopping`` set): all children stopped in
        reverse order. Cancelling it instead cancels all its children at once.

        Raises:
            SupervisorEscalation: the restart intensity was exceeded; every child has been
                stopped in reverse order. The last crash is its ``__cause__``.
            RuntimeError: this supervisor is already running.
        """
        if self._run is not None:
            raise RuntimeError(f"supervisor {self.name!r} is already running")
        state = _Run(
            ctx=ctx,
            children=[_Child(spec=spec) for spec in self._specs],
            budget=RestartBudget(self.intensity),
        )
        self._run = state
        escalation: SupervisorEscalation | None = None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_stop, state)
                escalation = await self._supervise(state, nursery)
                await self._stop_all(state)
                nursery.cancel_scope.cancel()
        except BaseException:
            logger.debug("supervisor %r torn down", self.name, extra={"supervisor": self.name})
            raise
        finally:
            self._run = None
            state.finished.set()
        if escalation is not None:
            raise escalation from escalation.__cause__
        logger.debug("supervisor %r stopped", self.name, extra={"supervisor": self.name})

    async def _supervise(self, state: _Run, nursery: trio.Nursery) -> SupervisorEscalation | None:
        """The supervisor's loop: react to exits, keep every wanted child running.

        Returns:
            None when a graceful stop was asked for; the escalation to raise once all
            children are stopped when the intensity was exceeded.
        """
        while not state.ctx.stopping.is_set():
            exited = next(
                (c for c in state.children if c.incarnation and c.incarnation.pending), None
            )
            if exited is not None:
                escalation = await self._after_exit(state, exited)
                if escalation is not None:
                    return escalation
            elif await self._start_missing(state, nursery):
                if not state.ctx.has_started:
                    state.ctx.started()
                await state.doorbell.wait()
        return None

    async def _watch_stop(self, state: _Run) -> None:
        """Wake the loop when a stop is asked for, and stop a child caught mid-start."""
        await state.ctx.stopping.wait()
        state.doorbell.ring()
        if state.starting is not None:
            # The loop is blocked in nursery.start(): stop that child so it gets unblocked.
            await stop_incarnation(state.starting)

    async def _start_missing(self, state: _Run, nursery: trio.Nursery) -> bool:
        """Start, in list order, every wanted child that is not running.

        Returns:
            False as soon as one exits before calling ``started()`` (it is then pending),
            or a stop is asked for; True once all wanted children run.
        """
        for child in list(state.children):
            if not child.wanted or child.incarnation is not None:
                continue
            if state.ctx.stopping.is_set():
                return False
            inc = Incarnation(child.spec, self.name)
            child.incarnation = inc
            state.starting = inc
            try:
                ok = await start_incarnation(nursery, inc, state.doorbell.ring)
            finally:
                state.starting = None
            if not ok:
                return False
        return True

    async def _after_exit(self, state: _Run, child: _Child) -> SupervisorEscalation | None:
        """Decide what follows a child's own exit, and stop the siblings that go with it."""
        inc = child.incarnation
        assert inc is not None
        child.incarnation = None
        crashed = inc.crash is not None
        if not child.spec.restart.wants_restart(crashed=crashed):
            self._retire(state, child)
            return None
        if not state.budget.spend():
            logger.warning(
                "supervisor %r: restart intensity %s exceeded by child %r; escalating",
                self.name,
                self.intensity,
                child.spec.id,
                extra={"supervisor": self.name, "child": child.spec.id},
            )
            escalation = SupervisorEscalation(self.name, child.spec.id)
            escalation.__cause__ = inc.crash
            return escalation
        logger.info(
            "supervisor %r: restarting child %r (%s)",
            self.name,
            child.spec.id,
            self.strategy.value,
            extra={"supervisor": self.name, "child": child.spec.id},
        )
        index = state.children.index(child)
        self._restarts[child.spec.id] += 1
        if self.strategy is Strategy.ONE_FOR_ALL:
            group = state.children[:]
        elif self.strategy is Strategy.REST_FOR_ONE:
            group = state.children[index:]
        else:
            group = [child]
        for sibling in reversed(group):
            if sibling is child:
                continue
            if sibling.incarnation is not None:
                await stop_incarnation(sibling.incarnation)
                sibling.incarnation = None
            if sibling.spec.restart is Restart.TEMPORARY:
                state.children.remove(sibling)
            else:
                # OTP restarts the whole group, transient children that had ended included.
                sibling.wanted = True
                self._restarts[sibling.spec.id] += 1
        return None

    def _retire(self, state: _Run, child: _Child) -> None:
        """A child that is not restarted: temporary ones leave the list, transient stay."""
        if child.spec.restart is Restart.TEMPORARY:
            state.children.remove(child)
        else:
            child.wanted = False
        logger.debug(
            "supervisor %r: child %r ended; not restarted (%s)",
            self.name,
            child.spec.id,
            child.spec.restart.value,
            extra={"supervisor": self.name, "child": child.spec.id},
        )

    async def _stop_all(self, state: _Run) -> None:
        """Stop every child, last started first, each per its own shutdown grace."""
        for child in reversed(state.children):
            if child.incarnation is not None:
                await stop_incarnation(child.incarnation)
