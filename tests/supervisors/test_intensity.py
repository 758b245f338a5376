"""Restart intensity: escalation at exactly N+1 restarts within T, and up the tree."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.supervisors.probes import Boom, Probe, Tree, errors, run_tree
from tilemud.supervisors import ChildSpec, Intensity, Supervisor, SupervisorEscalation

settle = trio.testing.wait_all_tasks_blocked


async def test_escalates_at_exactly_n_plus_one_restarts_within_the_period(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c = (Probe(n, log) for n in "abc")
    sup = Supervisor(
        "sup", [a.spec(), b.spec(), c.spec()], intensity=Intensity(restarts=2, period=10)
    )
    tree = Tree(sup)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, tree)
        for _ in range(2):
            await trio.sleep(3)
            b.crash()
            await settle()
            assert not tree.finished.is_set()
            assert sup.started_value("b") == f"b#{b.incarnations}"
        log.clear()
        await trio.sleep(3)
        b.crash()
        await tree.finished.wait()
    # The third restart within 10 s is one too many: the rest stop in reverse order.
    assert log == ["crash b", "cancelled c", "cancelled a"]
    assert b.incarnations == 3
    escalation = tree.escalation
    assert escalation is not None
    assert (escalation.supervisor, escalation.child) == ("sup", "b")
    assert isinstance(escalation.__cause__, Boom)


async def test_restarts_spread_over_more_than_the_period_never_escalate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    (a,) = (Probe("a", log),)
    sup = Supervisor("sup", [a.spec()], intensity=Intensity(restarts=1, period=5))
    tree = Tree(sup)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, tree)
        for _ in range(10):
            await trio.sleep(5.5)
            a.crash()
            await settle()
        assert not tree.finished.is_set()
        assert a.incarnations == 11
        sup.stop()
    assert tree.escalation is None


async def test_zero_restarts_escalates_on_the_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a = Probe("a", log)
    sup = Supervisor("sup", [a.spec()], intensity=Intensity(restarts=0))
    tree = Tree(sup)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, tree)
        a.finish()  # permanent: even a normal return is restarted, and counted
        await tree.finished.wait()
    assert tree.escalation is not None
    assert tree.escalation.__cause__ is None


async def test_escalation_is_a_crash_of_the_child_supervisor_for_its_parent(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    x, y = Probe("x", log), Probe("y", log)
    inner = Supervisor("inner", [x.spec()], intensity=Intensity(restarts=0))
    outer = Supervisor("outer", [ChildSpec(id="inner", run=inner.run, shutdown=10), y.spec()])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(outer))
        x.crash()
        await settle()
        # outer (one_for_one) restarted inner, which started x again; y was left alone.
        assert (x.incarnations, y.incarnations) == (2, 1)
        assert outer.started_value("y") == "y#1"
        assert inner.started_value("x") == "x#2"
        outer.stop()
    records = errors(caplog)
    where = [(r.supervisor, r.child) for r in records]  # type: ignore[attr-defined]
    assert where == [("inner", "x"), ("outer", "inner")]
    escalation = records[1].exc_info[1] if records[1].exc_info else None
    assert isinstance(escalation, SupervisorEscalation)
    assert isinstance(escalation.__cause__, Boom)


async def test_a_child_that_never_starts_makes_the_supervisor_give_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b = Probe("a", log), Probe("b", log, crash_on_start=100)
    sup = Supervisor("sup", [a.spec(), b.spec()], intensity=Intensity(restarts=3, period=5))
    tree = Tree(sup)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_tree, tree)
        await tree.finished.wait()
    assert b.incarnations == 4
    assert log[-1] == "cancelled a"
    assert tree.escalation is not None
