"""The top of the supervision tree."""

from __future__ import annotations

import trio

from tilemud.supervisors._dynamic import DynamicSupervisor
from tilemud.supervisors._errors import SupervisorEscalation
from tilemud.supervisors._incarnation import logger
from tilemud.supervisors._spec import ChildContext
from tilemud.supervisors._supervisor import Supervisor


async def run_root(
    supervisor: Supervisor | DynamicSupervisor,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``supervisor`` as the root of a tree, under the Trio start protocol.

    ``await nursery.start(run_root, root)`` returns once every child of the root has
    started. To stop the tree gracefully (the CLI does it on SIGTERM), call ``root.stop()``
    (and ``await root.wait_stopped()`` to wait for it): children stop in reverse order, each
    within its grace, and then this returns. Cancelling it instead is a hard stop.

    Args:
        supervisor: the root supervisor.
        task_status: reported to once the whole tree has started.

    Raises:
        SupervisorEscalation: the root exceeded its restart intensity; the tree is down. It
            is logged here at CRITICAL, once, as nobody above can restart it.
    """
    ctx = ChildContext(supervisor.name, task_status=task_status)
    try:
        await supervisor.run(ctx)
    except SupervisorEscalation as exc:
        logger.critical(
            "root supervisor %r gave up",
            supervisor.name,
            exc_info=exc,
            extra={"supervisor": supervisor.name, "child": exc.child},
        )
        raise
