"""A short sleep for the loops that pause many times a second.

``trio.sleep_until`` ends by cancelling its own scope: when the deadline passes, Trio
creates a ``Cancelled`` exception, throws it into the sleeping task, and the task's
``move_on_at`` catches it on the way out. The read hub pauses ~150 times a second and an
arena ~85 times (epic-300), and that path was ~5 % of the server's CPU (issue 13,
docs/performance.md). :func:`nap_until` keeps the deadline (Trio's own, so the autojump
clock and the run loop's timeout see it) but wakes the task with a plain value: the
scope's cancellation asks the task's abort function, which reschedules the task itself
instead of letting Trio raise.

Only public ``trio.lowlevel`` calls are used: an abort function may refuse the abort
(``Abort.FAILED``) as long as it reschedules the task, which this one does at once.
"""

from __future__ import annotations

import trio


async def nap_until(deadline: float) -> None:
    """Sleep until Trio time ``deadline``, as :func:`trio.sleep_until` does.

    A checkpoint like it: a cancellation from outside (an enclosing scope cancelled, or
    its deadline passed) raises :class:`trio.Cancelled` here, before or after the nap.
    """
    task = trio.lowlevel.current_task()

    def wake(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
        # Whatever cancelled (the nap's own deadline or an enclosing scope), the task
        # resumes normally; an enclosing cancellation is raised below, the usual way.
        trio.lowlevel.reschedule(task)
        return trio.lowlevel.Abort.FAILED

    with trio.CancelScope(deadline=deadline):
        await trio.lowlevel.wait_task_rescheduled(wake)
    await trio.lowlevel.checkpoint_if_cancelled()
