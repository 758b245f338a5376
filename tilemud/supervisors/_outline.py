"""A read-only picture of a running supervision tree, for operators (the console's tree page).

:func:`outline` walks a supervisor's children; a child whose ``run`` is the bound ``run``
of another :class:`~tilemud.supervisors.Supervisor` or
:class:`~tilemud.supervisors.DynamicSupervisor` is drawn with its own children. It only
reads: nothing here starts, stops or restarts anything.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

#: What a node of the tree is.
NodeKind: TypeAlias = Literal["supervisor", "dynamic", "worker"]


@attrs.frozen(kw_only=True)
class TreeNode:
    """One node of the tree at one instant.

    Attributes:
        name: the child's id (the root's own name for the root).
        kind: ``supervisor``, ``dynamic`` or ``worker``.
        strategy: the supervisor's strategy (``one_for_one`` ...), None for a worker.
        running: an incarnation of it runs now (a supervisor's root: it is running).
        restarts: how many times its supervisor restarted it since that supervisor was
            created (a sibling restarted with it by ``rest_for_one`` or ``one_for_all``
            counts too).
        children: its children in start order (none for a worker).
    """

    name: str
    kind: NodeKind
    strategy: str | None = None
    running: bool = True
    restarts: int = 0
    children: tuple[TreeNode, ...] = ()


def child_node(run: object, *, name: str, running: bool, restarts: int) -> TreeNode:
    """The node of a child whose entry point is ``run``: a supervisor draws itself."""
    owner = getattr(run, "__self__", None)
    outline = getattr(owner, "outline", None)
    if outline is not None and getattr(run, "__name__", "") == "run":
        node: TreeNode = outline(name=name, restarts=restarts)
        return attrs.evolve(node, running=running)
    return TreeNode(name=name, kind="worker", running=running, restarts=restarts)
