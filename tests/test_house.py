"""The house rules of tilemud/: which room may import which, written down once.

A room is a top-level module or package of ``tilemud`` (``actors``, ``storage``,
``config`` ...). Each has a depth in :data:`DEPTH`; an import must point to a deeper room.
Inside ``actors`` the kinds of actor follow :data:`ACTOR_KINDS` the same way. Only runtime
imports count, including imports inside functions; an ``if TYPE_CHECKING:`` block may carry
annotations. docs/architecture.md ("The map") draws the same picture.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tilemud"

#: How deep each room sits: a room imports only rooms deeper than itself.
DEPTH: dict[str, int] = {
    "__main__": 0,
    "cli": 1,
    "server": 2,  # the composition root: the one module that knows every room
    "wiring": 3,  # small adapters the composition root hands the rooms
    "net": 3,
    "loadtest": 3,
    "actors": 4,
    "player_client": 4,
    "player_route": 3,  # above player_client: the node to play on (discovery)
    "storage": 5,
    "cluster": 5,
    "metrics": 6,
    "auth": 6,
    # pure rooms: no Trio, no I/O
    "social": 7,
    "protocol": 8,
    "game": 9,
    # the floor
    "wire": 10,  # the WebSocket protocol over a Trio stream (wsproto); knows nothing of the game
    "supervisors": 10,
    "mailbox": 10,
    "clock": 10,
    "logs": 10,
    "config": 11,
    "nap": 11,  # the pause of loops that pause many times a second (the hub, an arena)
    "errors": 12,
    "__init__": 12,
}

#: How deep each kind of actor sits inside ``actors``.
ACTOR_KINDS: dict[str, int] = {
    "chat": 0,
    "guilds": 0,
    "parties": 0,
    "moderation": 0,
    "session": 1,
    "arena": 2,
    "elasticity": 3,
}

#: Rooms that must stay pure.
PURE = ("game", "protocol", "social")
#: What a pure room may not import.
IMPURE = ("trio", "trio_websocket", "sqlalchemy", "psycopg", "hypercorn", "quart", "quart_trio")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module named by an import that runs (TYPE_CHECKING blocks are skipped)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for other in node.orelse:
                yield from runtime_imports(other, module, is_package)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parts = parts if is_package else parts[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        yield from runtime_imports(node, module, is_package)


def _graph() -> tuple[dict[str, set[str]], dict[str, Path]]:
    files = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for name in runtime_imports(
            ast.parse(path.read_text()), module, path.name == "__init__.py"
        ):
            if not name.startswith("tilemud"):
                continue
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph, files


GRAPH, FILES = _graph()


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def actor_kind(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "actors" else None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of two or more nodes (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_room_has_a_depth() -> None:
    assert {room(module) for module in FILES} <= set(DEPTH)
    assert {actor_kind(module) for module in FILES} - {None} == set(ACTOR_KINDS)


def test_no_import_cycle_between_modules() -> None:
    # A package's __init__ re-exporting its own modules is its face, not a cycle.
    graph = {
        module: {t for t in targets if not module.startswith(t + ".")}
        for module, targets in GRAPH.items()
    }
    assert _cycles(graph) == []


def test_arrows_between_rooms_point_down() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if room(module) != room(target) and DEPTH[room(target)] <= DEPTH[room(module)]
    )
    assert upward == []


def test_arrows_between_kinds_of_actor_point_down() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if (kind := actor_kind(module)) in ACTOR_KINDS
        and (other := actor_kind(target)) in ACTOR_KINDS
        and kind != other
        and ACTOR_KINDS[other] <= ACTOR_KINDS[kind]
    )
    assert upward == []


def test_no_module_imports_another_packages_private_module() -> None:
    trespass = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if target.rpartition(".")[2].startswith("_")
        and not target.rpartition(".")[2].startswith("__")
        and not (module + ".").startswith(target.rpartition(".")[0] + ".")
    )
    assert trespass == []


@pytest.mark.parametrize("pure", PURE)
def test_pure_rooms_do_no_io(pure: str) -> None:
    for module, path in FILES.items():
        if room(module) != pure:
            continue
        names = runtime_imports(ast.parse(path.read_text()), module, path.name == "__init__.py")
        assert not [n for n in names if n.split(".")[0] in IMPURE], module


def test_modules_stay_small_or_say_why() -> None:
    for module, path in FILES.items():
        lines = path.read_text().splitlines()
        assert len(lines) <= 600, module
        if len(lines) > 400:
            docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert "over 400 lines" in docstring, module


def test_actors_is_one_room_per_kind() -> None:
    loose = sorted(p.name for p in (PACKAGE / "actors").glob("*.py") if p.name != "__init__.py")
    assert loose == []
