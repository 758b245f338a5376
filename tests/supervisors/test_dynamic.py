"""DynamicSupervisor: start and stop by id, refusals, restart types, escalation."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.supervisors.probes import Boom, Probe, Tree, errors, run_tree
from tilemud.supervisors import (
    ChildContext,
    ChildNotStarted,
    ChildSpec,
    DuplicateChild,
    DynamicSupervisor,
    Intensity,
    Restart,
    SupervisorFull,
    SupervisorNotRunning,
)

settle = trio.testing.wait_all_tasks_blocked


async def test_start_and_stop_children_by_id(autojump_clock: trio.testing.MockClock) -> None:
    log: list[str] = []
    a, b = Probe("a", log, cleanup=1.0), Probe("b", log, start_delay=1.0)
    arenas = DynamicSupervisor("arenas")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(arenas))
        assert arenas.child_ids() == []
        assert await arenas.start_child(a.spec(shutdown=5.0)) == "a#1"
        assert await arenas.start_child(b.spec()) == "b#1"
        assert arenas.child_ids() == ["a", "b"]
        begun = trio.current_time()
        assert await arenas.stop_child("a") is True
        assert trio.current_time() - begun == pytest.approx(1.0)
        assert arenas.child_ids() == ["b"]
        assert await arenas.stop_child("a") is False
        # The id is free again at once.
        assert await arenas.start_child(a.spec()) == "a#2"
        arenas.stop()
    assert log[-2:] == ["cancelled a", "cancelled b"]  # reverse order of start


async def test_refusals(autojump_clock: trio.testing.MockClock) -> None:
    log: list[str] = []
    a, b = Probe("a", log), Probe("b", log)
    parties = DynamicSupervisor("parties", max_children=1)
    with pytest.raises(SupervisorNotRunning):
        await parties.start_child(a.spec())
    assert await parties.stop_child("a") is False
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(parties))
        await parties.start_child(a.spec())
        with pytest.raises(DuplicateChild):
            await parties.start_child(a.spec())
        with pytest.raises(SupervisorFull) as full:
            await parties.start_child(b.spec())
        assert full.value.code == "overloaded"
        parties.stop()
    with pytest.raises(SupervisorNotRunning):
        await parties.start_child(b.spec())
    assert (a.incarnations, b.incarnations) == (1, 0)


async def test_a_crash_before_started_goes_to_the_caller_and_is_not_restarted(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    a = Probe("a", log, crash_on_start=1)
    chat = DynamicSupervisor("chat")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(chat))
        with pytest.raises(Boom):
            await chat.start_child(a.spec())
        await settle()
        assert a.incarnations == 1
        assert chat.child_ids() == []
        chat.stop()
    assert errors(caplog) == []


async def test_a_child_that_returns_before_started_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def quits(ctx: ChildContext) -> None:
        return

    chat = DynamicSupervisor("chat")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(chat))
        with pytest.raises(ChildNotStarted):
            await chat.start_child(ChildSpec(id="quits", run=quits))
        assert chat.child_ids() == []
        chat.stop()


@pytest.mark.parametrize(
    ("restart", "move", "restarted"),
    [
        (Restart.PERMANENT, "return", True),
        (Restart.PERMANENT, "crash", True),
        (Restart.TRANSIENT, "return", False),
        (Restart.TRANSIENT, "crash", True),
        (Restart.TEMPORARY, "crash", False),
    ],
)
async def test_restart_types(
    autojump_clock: trio.testing.MockClock, restart: Restart, move: str, restarted: bool
) -> None:
    log: list[str] = []
    a, b = Probe("a", log), Probe("b", log)
    arenas = DynamicSupervisor("arenas")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(arenas))
        await arenas.start_child(a.spec())
        await arenas.start_child(b.spec(restart))
        if move == "crash":
            b.crash()
        else:
            b.finish()
        await settle()
        assert b.incarnations == (2 if restarted else 1)
        assert arenas.child_ids() == (["a", "b"] if restarted else ["a"])
        assert a.incarnations == 1
        arenas.stop()


async def test_escalation_stops_all_children_and_raises(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c = (Probe(n, log) for n in "abc")
    arenas = DynamicSupervisor("arenas", intensity=Intensity(restarts=1, period=5))
    tree = Tree(arenas)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, tree)
        for probe in (a, b, c):
            await arenas.start_child(probe.spec())
        b.crash()
        await settle()
        assert not tree.finished.is_set()
        log.clear()
        b.crash()
        await tree.finished.wait()
    assert log == ["crash b", "cancelled c", "cancelled a"]
    assert tree.escalation is not None
    assert (tree.escalation.supervisor, tree.escalation.child) == ("arenas", "b")
    assert isinstance(tree.escalation.__cause__, Boom)
    assert arenas.child_ids() == []


async def test_a_caller_cancelled_during_start_cancels_that_child(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    slow = Probe("slow", log, start_delay=10.0)
    arenas = DynamicSupervisor("arenas")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(arenas))
        with trio.move_on_after(1.0) as scope:
            await arenas.start_child(slow.spec())
        assert scope.cancelled_caught
        assert log == ["start slow", "cancelled slow"]
        assert arenas.child_ids() == []
        arenas.stop()
    assert errors(caplog) == []


async def test_stopping_a_child_that_is_still_starting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    slow = Probe("slow", log, start_delay=10.0)
    arenas = DynamicSupervisor("arenas")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(arenas))

        async def stop_soon() -> None:
            await trio.sleep(1.0)
            assert await arenas.stop_child("slow") is True

        nursery.start_soon(stop_soon)
        with pytest.raises(ChildNotStarted):
            await arenas.start_child(slow.spec(shutdown=2.0))
        assert trio.current_time() == pytest.approx(3.0)
        assert arenas.child_ids() == []
        arenas.stop()


async def test_stopping_the_supervisor_refuses_a_child_that_is_still_starting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    slow = Probe("slow", log, start_delay=10.0)
    arenas = DynamicSupervisor("arenas")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(arenas))

        async def stop_soon() -> None:
            await trio.sleep(1.0)
            arenas.stop()

        nursery.start_soon(stop_soon)
        with pytest.raises(SupervisorNotRunning):
            await arenas.start_child(slow.spec())
        await arenas.wait_stopped()
    assert log == ["start slow", "cancelled slow"]


async def test_a_dynamic_supervisor_under_a_parent_is_cancelled_cleanly(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    a = Probe("a", log)
    arenas = DynamicSupervisor("arenas")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(arenas))
        await arenas.start_child(a.spec())
        nursery.cancel_scope.cancel()
    assert log[-1] == "cancelled a"
    assert a.incarnations == 1
    assert errors(caplog) == []


async def test_a_caller_cancelled_while_its_child_swallows_the_cancel_sees_cancellation(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The nursery.start trap, from a caller's task: no ChildNotStarted, no crash."""

    swallowed: list[str] = []

    async def swallows_cancel(ctx: ChildContext) -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            swallowed.append(ctx.id)  # then returns without started(): bad manners

    arenas = DynamicSupervisor("arenas")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(arenas))
        with trio.move_on_after(1.0) as scope:
            await arenas.start_child(ChildSpec(id="rude", run=swallows_cancel))
        assert scope.cancelled_caught
        assert swallowed == ["rude"]
        assert arenas.child_ids() == []
        arenas.stop()
    assert errors(caplog) == []


async def test_cancelling_the_supervisor_cancels_children_still_starting_elsewhere(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    slow = Probe("slow", log, start_delay=100.0)
    arenas = DynamicSupervisor("arenas")
    supervisor_scope = trio.CancelScope()
    refused: list[str] = []

    async def run_supervisor(*, task_status: trio.TaskStatus[None]) -> None:
        with supervisor_scope:
            await run_tree(Tree(arenas), task_status=task_status)

    async def caller() -> None:
        with pytest.raises(SupervisorNotRunning):
            await arenas.start_child(slow.spec(shutdown=50.0))
        refused.append("slow")

    async with trio.open_nursery() as nursery:
        await nursery.start(run_supervisor)
        nursery.start_soon(caller)
        await trio.sleep(1.0)
        supervisor_scope.cancel()
    # A hard stop: the child's grace is not waited for.
    assert trio.current_time() == pytest.approx(1.0)
    assert refused == ["slow"]
    assert log == ["start slow", "cancelled slow"]
    assert errors(caplog) == []
