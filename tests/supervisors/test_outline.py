"""The read-only outline of a running tree: nested supervisors, running children, restarts."""

from __future__ import annotations

import trio
import trio.testing

from tests.supervisors.probes import Probe, Tree, run_tree
from tilemud.supervisors import (
    ChildSpec,
    DynamicSupervisor,
    Restart,
    Strategy,
    Supervisor,
    TreeNode,
)


def by_name(node: TreeNode) -> dict[str, TreeNode]:
    found = {node.name: node}
    for child in node.children:
        found.update(by_name(child))
    return found


async def test_outline_draws_nested_supervisors_and_counts_restarts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c, d = (Probe(name, log) for name in "abcd")
    dynamic = DynamicSupervisor("pool")
    inner = Supervisor("inner", [b.spec(), c.spec()], strategy=Strategy.REST_FOR_ONE)
    root = Supervisor(
        "root",
        [
            a.spec(),
            ChildSpec(id="inner", run=inner.run),
            ChildSpec(id="pool", run=dynamic.run),
        ],
    )
    assert root.outline() == TreeNode(
        name="root",
        kind="supervisor",
        strategy="one_for_one",
        running=False,
        children=(
            TreeNode(name="a", kind="worker", running=False),
            TreeNode(
                name="inner",
                kind="supervisor",
                strategy="rest_for_one",
                running=False,
                children=(
                    TreeNode(name="b", kind="worker", running=False),
                    TreeNode(name="c", kind="worker", running=False),
                ),
            ),
            TreeNode(name="pool", kind="dynamic", strategy="one_for_one", running=False),
        ),
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(root))
        await dynamic.start_child(d.spec(restart=Restart.TRANSIENT))
        b.crash()  # rest_for_one: c is restarted with it
        await trio.sleep(1)
        d.crash()
        await trio.sleep(1)
        d.crash()
        await trio.sleep(1)
        nodes = by_name(root.outline())
        assert nodes["root"].running
        assert [n.name for n in nodes["inner"].children] == ["b", "c"]
        assert (nodes["b"].restarts, nodes["c"].restarts) == (1, 1)
        assert (nodes["a"].restarts, nodes["inner"].restarts) == (0, 0)
        assert nodes["d"].restarts == 2
        assert all(nodes[name].running for name in "abcd")
        assert nodes["pool"].kind == "dynamic"
        d.finish()  # a transient child that ends is gone from the outline
        await trio.sleep(1)
        assert by_name(root.outline())["pool"].children == ()
        root.stop()
