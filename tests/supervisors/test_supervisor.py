"""Supervisor: ordered start, reverse stop, strategies, restart types, started values.

Testing policy: every test runs on the ``autojump_clock``; "settled" means every task is
blocked (``wait_all_tasks_blocked``), so no Trio time passes unless a test says so.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.supervisors.probes import Probe, Tree, errors, run_tree
from tilemud.supervisors import (
    ChildContext,
    ChildNotRunning,
    ChildSpec,
    Intensity,
    Restart,
    Strategy,
    Supervisor,
)

settle = trio.testing.wait_all_tasks_blocked


def probes(log: list[str], *names: str) -> list[Probe]:
    return [Probe(name, log) for name in names]


async def test_ordered_start_and_reverse_stop(autojump_clock: trio.testing.MockClock) -> None:
    log: list[str] = []
    a, b, c = (Probe(n, log, start_delay=1.0, cleanup=1.0) for n in "abc")
    sup = Supervisor("sup", [p.spec(shutdown=5.0) for p in (a, b, c)])
    async with trio.open_nursery() as nursery:
        begun = trio.current_time()
        await nursery.start(run_tree, Tree(sup))
        assert trio.current_time() - begun == pytest.approx(3.0)
        assert log == ["start a", "ready a", "start b", "ready b", "start c", "ready c"]
        log.clear()
        begun = trio.current_time()
        sup.stop()
        await sup.wait_stopped()
        # One after the other, each child's own cleanup: not all at once.
        assert trio.current_time() - begun == pytest.approx(3.0)
    assert log == ["stop c", "stop b", "stop a"]


async def test_one_for_one_restarts_only_the_failed_child(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c = probes(log, "a", "b", "c")
    sup = Supervisor("sup", [a.spec(), b.spec(), c.spec()], strategy=Strategy.ONE_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        log.clear()
        b.crash()
        await settle()
        assert log == ["crash b", "start b", "ready b"]
        assert (a.incarnations, b.incarnations, c.incarnations) == (1, 2, 1)
        sup.stop()
    assert log[-3:] == ["cancelled c", "cancelled b", "cancelled a"]


async def test_one_for_all_stops_the_others_in_reverse_then_restarts_all_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c = probes(log, "a", "b", "c")
    sup = Supervisor("sup", [a.spec(), b.spec(), c.spec()], strategy=Strategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        log.clear()
        b.crash()
        await settle()
        assert log == [
            "crash b",
            "cancelled c",
            "cancelled a",
            "start a",
            "ready a",
            "start b",
            "ready b",
            "start c",
            "ready c",
        ]
        sup.stop()


async def test_rest_for_one_restarts_the_failed_child_and_those_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c, d = probes(log, "a", "b", "c", "d")
    sup = Supervisor("sup", [p.spec() for p in (a, b, c, d)], strategy=Strategy.REST_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        log.clear()
        b.crash()
        await settle()
        assert log == [
            "crash b",
            "cancelled d",
            "cancelled c",
            "start b",
            "ready b",
            "start c",
            "ready c",
            "start d",
            "ready d",
        ]
        assert a.incarnations == 1
        sup.stop()


async def test_started_value_follows_the_current_incarnation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b = probes(log, "a", "b")
    sup = Supervisor("sup", [a.spec(), b.spec()])
    with pytest.raises(ChildNotRunning):
        sup.started_value("a")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        assert sup.started_value("b") == "b#1"
        b.crash()
        await settle()
        assert sup.started_value("b") == "b#2"
        assert sup.started_value("a") == "a#1"
        with pytest.raises(ChildNotRunning):
            sup.started_value("nobody")
        sup.stop()


async def test_a_child_that_fails_to_start_is_restarted_before_the_next_starts(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    a = Probe("a", log)
    b = Probe("b", log, crash_on_start=1)
    c = Probe("c", log)
    sup = Supervisor("sup", [a.spec(), b.spec(), c.spec()])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        assert log == [
            *("start a", "ready a"),
            *("start b", "crash b", "start b", "ready b"),
            *("start c", "ready c"),
        ]
        sup.stop()
    assert [r.child for r in errors(caplog)] == ["b"]  # type: ignore[attr-defined]


async def test_permanent_child_is_restarted_after_a_normal_return(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    (a,) = probes(log, "a")
    sup = Supervisor("sup", [a.spec(Restart.PERMANENT)])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        a.finish()
        await settle()
        assert a.incarnations == 2
        sup.stop()
    assert errors(caplog) == []


@pytest.mark.parametrize(
    ("restart", "move", "restarted"),
    [
        (Restart.TRANSIENT, "return", False),
        (Restart.TRANSIENT, "crash", True),
        (Restart.TEMPORARY, "return", False),
        (Restart.TEMPORARY, "crash", False),
        (Restart.PERMANENT, "crash", True),
    ],
)
async def test_restart_types(
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    restart: Restart,
    move: str,
    restarted: bool,
) -> None:
    log: list[str] = []
    a, b = probes(log, "a", "b")
    sup = Supervisor("sup", [a.spec(), b.spec(restart)])
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        if move == "crash":
            b.crash()
        else:
            b.finish()
        await settle()
        assert b.incarnations == (2 if restarted else 1)
        if restarted:
            assert sup.started_value("b") == "b#2"
        else:
            with pytest.raises(ChildNotRunning):
                sup.started_value("b")
        assert a.incarnations == 1
        sup.stop()
    # A normal return is no crash: nothing at ERROR.
    assert len(errors(caplog)) == (1 if move == "crash" else 0)


async def test_group_restart_drops_temporary_children_and_revives_ended_transient_ones(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, t, tr, c = probes(log, "a", "t", "tr", "c")
    sup = Supervisor(
        "sup",
        [a.spec(), t.spec(Restart.TEMPORARY), tr.spec(Restart.TRANSIENT), c.spec()],
        strategy=Strategy.ONE_FOR_ALL,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, Tree(sup))
        tr.finish()
        await settle()
        assert tr.incarnations == 1
        log.clear()
        c.crash()
        await settle()
        # As in OTP: the temporary child is stopped for good; the transient one that had
        # ended normally comes back with the group.
        assert log == [
            "crash c",
            "cancelled t",
            "cancelled a",
            "start a",
            "ready a",
            "start tr",
            "ready tr",
            "start c",
            "ready c",
        ]
        sup.stop()


async def test_supervisor_runs_again_after_it_ended(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    (a,) = probes(log, "a")
    sup = Supervisor("sup", [a.spec()], intensity=Intensity(restarts=0))
    for _ in range(2):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_tree, Tree(sup))
            sup.stop()
    assert a.incarnations == 2


async def test_child_ids_must_be_unique() -> None:
    log: list[str] = []
    (a,) = probes(log, "a")
    with pytest.raises(ValueError, match="unique"):
        Supervisor("sup", [a.spec(), a.spec()])
    with pytest.raises(ValueError, match="id"):
        ChildSpec(id="", run=a.run)


async def test_value_objects_validate_and_started_is_called_once() -> None:
    with pytest.raises(ValueError, match="restarts"):
        Intensity(restarts=-1)
    with pytest.raises(ValueError, match="period"):
        Intensity(period=0)
    ctx = ChildContext("a")
    assert (ctx.id, ctx.has_started, ctx.started_value) == ("a", False, None)
    ctx.started(7)
    assert (ctx.has_started, ctx.started_value) == (True, 7)
    with pytest.raises(RuntimeError, match="twice"):
        ctx.started()
