"""Stopping: graceful and brutal shutdown, cancellation, the start trap, crash logging."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from tests.supervisors.probes import Boom, Probe, Tree, errors, run_tree
from tilemud.supervisors import (
    ChildContext,
    ChildSpec,
    Intensity,
    Strategy,
    Supervisor,
    SupervisorEscalation,
    run_root,
)

settle = trio.testing.wait_all_tasks_blocked


async def stop_and_time(sup: Supervisor) -> float:
    begun = trio.current_time()
    sup.stop()
    await sup.wait_stopped()
    return trio.current_time() - begun


async def test_graceful_shutdown_waits_for_a_child_that_watches_stopping(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a = Probe("a", log, cleanup=2.0)
    sup = Supervisor("sup", [a.spec(shutdown=5.0)])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        assert await stop_and_time(sup) == pytest.approx(2.0)
    assert log[-1] == "stop a"


async def test_graceful_shutdown_cancels_a_child_that_ignores_stopping_after_its_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a = Probe("a", log, ignores_stopping=True)
    sup = Supervisor("sup", [a.spec(shutdown=5.0)])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        assert await stop_and_time(sup) == pytest.approx(5.0)
    assert log[-1] == "cancelled a"


async def test_brutal_shutdown_cancels_at_once(autojump_clock: trio.testing.MockClock) -> None:
    log: list[str] = []
    a = Probe("a", log, cleanup=2.0)
    sup = Supervisor("sup", [a.spec(shutdown=None)])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        assert await stop_and_time(sup) == 0.0
    assert log[-1] == "cancelled a"


async def test_cancelling_the_supervisor_is_not_a_crash(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tilemud.supervisor")
    log: list[str] = []
    a, b = Probe("a", log), Probe("b", log, cleanup=1.0)
    sup = Supervisor("sup", [a.spec(), b.spec(shutdown=5.0)], strategy=Strategy.ONE_FOR_ALL)
    tree = Tree(sup)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, tree)
        nursery.cancel_scope.cancel()
    assert sorted(log[-2:]) == ["cancelled a", "cancelled b"]
    assert (a.incarnations, b.incarnations) == (1, 1)
    assert errors(caplog) == []
    assert tree.escalation is None
    assert any("torn down" in r.getMessage() for r in caplog.records)


async def test_a_start_turned_into_runtime_error_by_our_cancellation_is_no_crash(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The start-protocol trap (docs/architecture.md, "Supervision"): nursery.start()
    reports a child that swallowed our cancellation and returned before started() as
    RuntimeError. That is cancellation, not a crash."""
    log: list[str] = []
    a = Probe("a", log)
    attempts = 0

    async def swallows_cancel(ctx: ChildContext) -> None:
        nonlocal attempts
        attempts += 1
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            log.append("swallowed b")
        # returns without calling ctx.started(): bad manners, seen in the wild

    sup = Supervisor("sup", [a.spec(), ChildSpec(id="b", run=swallows_cancel)])
    with trio.move_on_after(1.0) as scope:
        await sup.run(ChildContext("sup"))
    assert scope.cancelled_caught
    assert attempts == 1
    assert log[:2] == ["start a", "ready a"]
    assert sorted(log[2:]) == ["cancelled a", "swallowed b"]
    assert errors(caplog) == []


async def test_each_crash_is_logged_once_with_the_child_id(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tilemud.supervisor")
    log: list[str] = []
    a, b, c = (Probe(n, log, cleanup=1.0) for n in "abc")
    sup = Supervisor(
        "world", [a.spec(shutdown=3), b.spec(shutdown=3), c.spec()], strategy=Strategy.ONE_FOR_ALL
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        b.crash()
        await trio.sleep(10)
        sup.stop()
    (record,) = errors(caplog)
    assert record.levelno == logging.ERROR
    assert (record.supervisor, record.child) == ("world", "b")  # type: ignore[attr-defined]
    assert "'world'" in record.getMessage()
    assert "'b'" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], Boom)


async def test_run_root_uses_the_start_protocol_and_stops_gracefully(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a = Probe("a", log, start_delay=2.0, cleanup=1.0)
    sup = Supervisor("root", [a.spec(shutdown=5.0)])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_root, sup)
        assert log == ["start a", "ready a"]
        sup.stop()
        sup.stop()  # a second request changes nothing
        await sup.wait_stopped()
        assert log[-1] == "stop a"
    await sup.wait_stopped()  # not running: returns at once
    sup.stop()


async def test_a_stop_during_startup_stops_the_child_being_started(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b = Probe("a", log), Probe("b", log, start_delay=100.0)
    sup = Supervisor("root", [a.spec(), b.spec(shutdown=2.0)])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_root, sup)
        await trio.sleep(1)
        sup.stop()
        await sup.wait_stopped()
        assert trio.current_time() == pytest.approx(3.0)
    assert log == ["start a", "ready a", "start b", "cancelled b", "cancelled a"]


async def test_root_escalation_is_raised_and_logged_critical(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    a = Probe("a", log)
    sup = Supervisor("root", [a.spec()], intensity=Intensity(restarts=0))
    with pytest.RaisesGroup(SupervisorEscalation):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_root, sup)
            a.crash()
    assert [r.levelno for r in errors(caplog)] == [logging.ERROR, logging.CRITICAL]
