"""The public surface of tilemud.supervisors, pinned."""

from __future__ import annotations

import types

import tilemud.supervisors


def test_public_names() -> None:
    public = {
        name
        for name, value in vars(tilemud.supervisors).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == {
        "ChildContext",
        "ChildNotRunning",
        "ChildNotStarted",
        "ChildSpec",
        "DuplicateChild",
        "DynamicSupervisor",
        "Intensity",
        "NodeKind",
        "Restart",
        "Strategy",
        "Supervisor",
        "SupervisorError",
        "SupervisorEscalation",
        "SupervisorFull",
        "SupervisorNotRunning",
        "TreeNode",
        "run_root",
    }
