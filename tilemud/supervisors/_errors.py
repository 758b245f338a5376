"""Errors raised by supervisors.

Two kinds live here. :class:`SupervisorEscalation` is not a request gone wrong but a crash
travelling up the tree: a supervisor whose restart intensity was exceeded gives up and raises
it, and its parent treats that as the crash of one of its own children. The others are typed
refusals of a :class:`~tilemud.supervisors.DynamicSupervisor` request (or of a
``started_value`` look-up), part of tilemud's error hierarchy so that a caller can turn them
into an error reply.
"""

from __future__ import annotations

from tilemud.errors import TilemudError


class SupervisorEscalation(Exception):
    """A supervisor exceeded its restart intensity, stopped its children and gave up.

    Deliberately not a :class:`~tilemud.errors.TilemudError`: it is a crash travelling up
    the tree, and code that answers bad input with typed errors must never catch it.

    The last crash is chained as ``__cause__``.

    Attributes:
        supervisor: the name of the supervisor that gave up.
        child: the id of the child whose crash went over the limit.
    """

    def __init__(self, supervisor: str, child: str) -> None:
        super().__init__(
            f"supervisor {supervisor!r} exceeded its restart intensity (last crash: {child!r})"
        )
        self.supervisor = supervisor
        self.child = child


class SupervisorError(TilemudError):
    """A supervisor refused a request."""

    code = "unavailable"


class SupervisorNotRunning(SupervisorError):
    """The supervisor is not running, or is stopping, so it takes no new children."""

    code = "unavailable"


class DuplicateChild(SupervisorError):
    """A child with that id is already supervised (starting, running or stopping)."""

    code = "conflict"


class SupervisorFull(SupervisorError):
    """The dynamic supervisor already has ``max_children`` children."""

    code = "overloaded"


class ChildNotStarted(SupervisorError):
    """The child returned, or was stopped, before it called ``started()``."""

    code = "unavailable"


class ChildNotRunning(SupervisorError):
    """No incarnation of that child is running (unknown id, exited, or between restarts)."""

    code = "not_found"
