"""Joins of one batch of the arena's mail share one snapshot, answered after it; a
snapshot that cannot be built gives the batch's seats back and drops its answers.

The arena is driven through its ``Ref`` with recording fake links (``test_arena_fakes``);
time is Trio's autojump clock.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.actors.test_arena_fakes import (
    SMALL_RULES,
    FakeLink,
    describe,
    join,
    make_arena,
    start_arena,
)
from tilemud.actors.arena import Arena, ArenaJoined, JoinOutcome
from tilemud.actors.arena._core import ArenaCore
from tilemud.actors.arena._frames import ArenaFrames
from tilemud.errors import ActorGone
from tilemud.metrics import ArenaMeter
from tilemud.supervisors import ChildContext


async def test_joins_that_came_together_get_one_snapshot_and_their_answers_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    links = [FakeLink(f"p{n}", f"P{n}") for n in range(3)]  # the cap is 4
    answers: dict[str, JoinOutcome] = {}
    seen_at_answer: dict[str, int] = {}

    async def join_one(link: FakeLink) -> None:
        answers[link.player_id] = await join(arena, link)
        seen_at_answer[link.player_id] = len(link.of("reset"))

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await start_arena(nursery, arena)
            await join(arena, FakeLink("ann", "Ann"))
            # Three asks in the mailbox before the arena next takes its mail: one batch.
            async with trio.open_nursery() as joiners:
                for link in links:
                    joiners.start_soon(join_one, link)
            nursery.cancel_scope.cancel()
    bodies = [link.of("reset") for link in links]
    assert all(len(sent) == 1 for sent in bodies)
    assert all(sent[0] is bodies[0][0] for sent in bodies)  # one text for all three
    assert links[0].snapshots()[0].players == (
        ("ann", "Ann"),
        *((link.player_id, link.name) for link in links),
    )
    assert answers == dict.fromkeys(
        answers, ArenaJoined(arena_id="a_test", rules=SMALL_RULES, tick=0)
    )
    assert seen_at_answer == dict.fromkeys(answers, 1)  # the snapshot came before the answer


async def test_a_batch_whose_snapshot_cannot_be_built_gives_its_seats_back(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann", "Ann"), FakeLink("bob", "Bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(restarted_on_crash, arena)
            await join(arena, ann)
            real = ArenaFrames.snapshot

            def broken(self: ArenaFrames, *args: object, **kwargs: object) -> str:
                monkeypatch.setattr(ArenaFrames, "snapshot", real)  # once: the restart works
                raise RuntimeError("a bug in the snapshot")

            monkeypatch.setattr(ArenaFrames, "snapshot", broken)
            with pytest.raises(ActorGone):
                await join(arena, bob)
            # The arena restarted (restarted_on_crash stands for its supervisor) without bob.
            assert (await describe(arena)).players == ("ann",)
            assert bob.of("reset") == []
            assert isinstance(await join(arena, bob), ArenaJoined)
            assert (await describe(arena)).players == ("ann", "bob")
            nursery.cancel_scope.cancel()


async def restarted_on_crash(
    arena: Arena, *, task_status: trio.TaskStatus[object] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run ``arena``, starting a new incarnation after each crash, as its supervisor would."""
    status = task_status
    while True:
        try:
            await arena.run(ChildContext(arena.arena_id, task_status=status))
        except RuntimeError:
            status = trio.TASK_STATUS_IGNORED
        else:
            return


def _table() -> ArenaCore:
    """An arena's table alone, without its actor."""
    return ArenaCore(
        arena_id="a_w",
        mode="arena",
        region="eu",
        rules=SMALL_RULES,
        seed=1,
        meter=ArenaMeter.standalone("arena"),
    )


def test_the_table_gives_back_every_seat_of_a_failed_batch_and_its_announcements() -> None:
    core = _table()
    ann, ann_again, bob = FakeLink("ann"), FakeLink("ann"), FakeLink("bob")
    core.take_seat(ann)
    core.welcome_joiners()
    core.take_seat(ann_again)  # a replaced session's link
    core.take_seat(bob)
    core._frames = _Broken("a_w")
    with pytest.raises(RuntimeError):
        core.welcome_joiners()
    assert core.view().players == ("ann",)
    core.place(player_id="ann", rid="r1", x=1, y=1, kind="stone")
    assert core.end_tick(1) is None
    assert ann.rids == ["r1"]  # the link ann had before the failed batch
    assert ann_again.events == []
    assert bob.events == []
    assert "bob" not in str(ann.of("publish"))  # never announced


class _Broken(ArenaFrames):
    def snapshot(self, *args: object, **kwargs: object) -> str:
        raise RuntimeError("a bug in the snapshot")


def test_the_wire_form_of_the_board_is_let_go_once_a_tick_changed_the_board() -> None:
    """The joins' encoded board is stale after a tick that placed tiles: not kept until
    the next join (which may never come) with the board it encoded."""
    core = _table()
    ann = FakeLink("ann")
    core.take_seat(ann)
    core.welcome_joiners()
    frames = core._frames
    assert wire_form(frames) == (True, True)  # kept for the joins of this tick
    assert core.end_tick(1) is None  # nothing placed: still the same board
    assert wire_form(frames) == (True, True)
    core.place(player_id="ann", rid="r1", x=1, y=1, kind="stone")
    assert core.end_tick(2) is None
    assert wire_form(frames) == (False, False)
    core.take_seat(FakeLink("bob"))
    core.welcome_joiners()  # a later join encodes the new board
    assert wire_form(frames) == (True, True)


def wire_form(frames: ArenaFrames) -> tuple[bool, bool]:
    """Whether ``frames`` keeps an encoded board, and the board it encoded."""
    return frames._encoded_board is not None, frames._board is not None
