"""The vocabulary of supervision: strategies, restart types, intensity, child specs.

The words are OTP's. A *child* is described once by a :class:`ChildSpec`; each time its
supervisor (re)starts it, a new *incarnation* runs ``spec.run(ctx)`` with a fresh
:class:`ChildContext`.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one of them has to be restarted."""

    #: Only the child that exited.
    ONE_FOR_ONE = "one_for_one"
    #: All children: the others are stopped (in reverse order), then all start again in order.
    ONE_FOR_ALL = "one_for_all"
    #: The child that exited and every child started after it.
    REST_FOR_ONE = "rest_for_one"


class Restart(enum.Enum):
    """When a child that exited is started again."""

    #: Always, even after a normal return.
    PERMANENT = "permanent"
    #: Only after a crash (an exception); a normal return ends it.
    TRANSIENT = "transient"
    #: Never.
    TEMPORARY = "temporary"

    def wants_restart(self, *, crashed: bool) -> bool:
        """Whether a child of this type is restarted after it exited on its own.

        Args:
            crashed: the incarnation raised an exception rather than returning.
        """
        if self is Restart.PERMANENT:
            return True
        if self is Restart.TRANSIENT:
            return crashed
        return False


@attrs.frozen(kw_only=True)
class Intensity:
    """How many restarts a supervisor tolerates before it gives up.

    More than ``restarts`` restarts within ``period`` seconds of Trio time make the
    supervisor stop all its children and raise
    :class:`~tilemud.supervisors.SupervisorEscalation` to its parent.
    """

    restarts: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    period: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class ChildSpec:
    """How to run, restart and stop one child.

    Attributes:
        id: unique among the supervisor's children; names the child in logs and requests.
        run: the child's body, awaited once per incarnation. It calls ``ctx.started()`` once
            it is ready; returning is a normal exit, raising is a crash.
        restart: when the child is started again after it exited on its own.
        shutdown: ``None`` stops the child brutally (cancelled at once). A number stops it
            gracefully: ``ctx.stopping`` is set, the supervisor waits up to that many seconds
            for ``run`` to return, then cancels it. A supervisor child should get a grace
            long enough for its own children's graces.
    """

    id: str = attrs.field(validator=attrs.validators.min_len(1))
    run: Callable[[ChildContext], Awaitable[None]]
    restart: Restart = Restart.PERMANENT
    shutdown: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )


class ChildContext:
    """What one incarnation of a child gets from its supervisor.

    The child reads ``stopping`` to learn that a graceful stop began, and calls
    :meth:`started` exactly once, when it is ready: its supervisor starts the next child
    only then (the start protocol of ``nursery.start``).
    """

    __slots__ = ("_id", "_started", "_stopping", "_task_status", "_value")

    def __init__(
        self,
        id: str,
        *,
        task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
        stopping: trio.Event | None = None,
    ) -> None:
        """Create the context of one incarnation.

        Args:
            id: the child's id.
            task_status: the start protocol's status object that :meth:`started` reports to.
            stopping: the event that signals a graceful stop; a new one by default.
        """
        self._id = id
        self._task_status = task_status
        self._stopping = trio.Event() if stopping is None else stopping
        self._started = False
        self._value: object = None

    @property
    def id(self) -> str:
        """The child's id."""
        return self._id

    @property
    def stopping(self) -> trio.Event:
        """Set when a graceful stop of this incarnation begins: finish up and return."""
        return self._stopping

    @property
    def has_started(self) -> bool:
        """Whether :meth:`started` was called."""
        return self._started

    @property
    def started_value(self) -> object:
        """The value passed to :meth:`started` (``None`` before it is called)."""
        return self._value

    def started(self, value: object = None) -> None:
        """Tell the supervisor that this incarnation is ready.

        Args:
            value: handed to whoever started the child (``DynamicSupervisor.start_child``
                returns it; ``Supervisor.started_value`` reads it).

        Raises:
            RuntimeError: called a second time.
        """
        if self._started:
            raise RuntimeError(f"child {self._id!r} called started() twice")
        self._started = True
        self._value = value
        self._task_status.started(value)
