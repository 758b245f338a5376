"""Supervision with OTP semantics: supervisors, dynamic supervisors and the tree's root.

A :class:`Supervisor` runs a fixed list of children (:class:`ChildSpec`), starting them in
order with the start protocol and stopping them in reverse order; it restarts them by their
:class:`Restart` type and its :class:`Strategy`, and gives up with
:class:`SupervisorEscalation` when restarts exceed its :class:`Intensity`. A
:class:`DynamicSupervisor` does the same, one_for_one, for children started and stopped by
id at run time. :func:`run_root` runs the top of the tree.
"""

from tilemud.supervisors._dynamic import DynamicSupervisor as DynamicSupervisor
from tilemud.supervisors._errors import ChildNotRunning as ChildNotRunning
from tilemud.supervisors._errors import ChildNotStarted as ChildNotStarted
from tilemud.supervisors._errors import DuplicateChild as DuplicateChild
from tilemud.supervisors._errors import SupervisorError as SupervisorError
from tilemud.supervisors._errors import SupervisorEscalation as SupervisorEscalation
from tilemud.supervisors._errors import SupervisorFull as SupervisorFull
from tilemud.supervisors._errors import SupervisorNotRunning as SupervisorNotRunning
from tilemud.supervisors._outline import NodeKind as NodeKind
from tilemud.supervisors._outline import TreeNode as TreeNode
from tilemud.supervisors._root import run_root as run_root
from tilemud.supervisors._spec import ChildContext as ChildContext
from tilemud.supervisors._spec import ChildSpec as ChildSpec
from tilemud.supervisors._spec import Intensity as Intensity
from tilemud.supervisors._spec import Restart as Restart
from tilemud.supervisors._spec import Strategy as Strategy
from tilemud.supervisors._supervisor import Supervisor as Supervisor
