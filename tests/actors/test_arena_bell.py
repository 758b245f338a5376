"""The arena's doorbell: placements do not wake it before the tick's end (issue 13).

Every other message rings it, so joins, leaves and asks are taken within ``TAKE_PAUSE``;
a placement waits in the mailbox, in order with the rest, until a message that rings or
the tick's end. The differential test holds it to an arena that every message rings (the
general path: waking for each message as it comes), message for message.
"""

from __future__ import annotations

import re

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.actors.test_arena_fakes import (
    SMALL_RULES,
    TICK,
    FakeLink,
    describe,
    join,
    make_arena,
    start_arena,
    stream_frame,
)
from tilemud.actors.arena import (
    Arena,
    ArenaMessage,
    LeaveArena,
    PlaceTile,
    Resync,
)
from tilemud.actors.arena._actor import MAX_BATCH, TAKE_PAUSE
from tilemud.game import board_checksum
from tilemud.protocol import MAX_COORD, ErrorFrame, PlayerLeft

PLAYERS = ("ann", "bob", "cy")


class EveryMessageRings(Arena):
    """The general path: the arena wakes for every message, placements included."""

    def _arrived(self, message: ArenaMessage) -> None:
        self._bell.ring()


def quiet_arena() -> Arena:
    return make_arena()


def ringing_arena() -> Arena:
    return EveryMessageRings(
        arena_id="a_test", mode=SMALL_RULES.mode, region="eu", rules=SMALL_RULES, seed=7
    )


def unstamped(body: str) -> str:
    """``body`` without its wall clock (``sent_at``), the only part two runs may differ in."""
    return re.sub(r'"sent_at":[0-9.e+-]+,', "", body)


STEP = st.tuples(
    st.booleans(),  # on to the next tick first
    st.integers(1, 20),  # ms after the step before
    st.sampled_from(("place", "place", "place", "place", "leave", "join", "resync", "ask")),
    st.sampled_from(PLAYERS),
    st.integers(-1, 17),  # x: off the 16x16 board, and past MAX_COORD below
    st.integers(0, 15),
    st.sampled_from(("stone", "stone", "nope")),
)
Step = tuple[bool, int, str, str, int, int, str]


async def play(arena: Arena, steps: list[Step]) -> object:
    """Drive ``arena`` through ``steps``; return everything its links and views show."""
    links = {player: FakeLink(player) for player in PLAYERS}
    views = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            # Each step's time depends on the steps alone, never on how long an ask took
            # (up to TAKE_PAUSE on the general path, less on the other), and every ask is
            # answered before its tick ends on both paths.
            tick, at, asked = 1, 0, False
            for n, (later, gap, what, player, x, y, kind) in enumerate(steps):
                at += gap + (10 if asked else 0)
                if later or at > 70:
                    tick, at = tick + 1, gap
                asked = what in ("join", "ask")
                await trio.sleep_until(t0 + tick * TICK + at / 1000)
                if what == "place":
                    x = MAX_COORD + 1 if x < 0 else x
                    await arena.ref.send(
                        PlaceTile(player_id=player, rid=f"r{n}", x=x, y=y, kind=kind)
                    )
                elif what == "leave":
                    await arena.ref.send(LeaveArena(player_id=player, reason="left"))
                elif what == "join":
                    await join(arena, links[player])
                elif what == "resync":
                    await arena.ref.send(Resync(player_id=player))
                else:
                    view = await describe(arena)
                    views.append((view.tick, view.players, view.scores))
            await trio.sleep_until(t0 + (tick + 3.5) * TICK)
            final = await describe(arena)
            nursery.cancel_scope.cancel()
    return (
        {
            player: ([(what, unstamped(body)) for what, body in link.events], link.rids)
            for player, link in links.items()
        },
        views,
        board_checksum(final.board),
        final.scores,
        final.tick,
    )


@given(steps=st.lists(STEP, max_size=40))
@settings(max_examples=200, deadline=None)
def test_placements_not_ringing_change_nothing_players_see(
    steps: list[Step],
) -> None:
    quiet = trio.run(play, quiet_arena(), steps, clock=trio.testing.MockClock(autojump_threshold=0))
    ringing = trio.run(
        play, ringing_arena(), steps, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    assert quiet == ringing


async def test_a_join_behind_placements_is_taken_within_the_pause(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann"), FakeLink("bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await trio.sleep_until(t0 + TICK + 0.01)
            for n in range(5):
                await arena.ref.send(
                    PlaceTile(player_id="ann", rid=f"a{n}", x=n, y=0, kind="stone")
                )
            # A placement off the board is answered when it is taken: at the tick's end.
            await arena.ref.send(
                PlaceTile(player_id="ann", rid="far", x=MAX_COORD + 1, y=0, kind="stone")
            )
            await trio.sleep(0.03)
            assert ann.replies() == []
            asked = trio.current_time()
            await join(arena, bob)
            assert trio.current_time() - asked <= TAKE_PAUSE
            # The join rang, and everything before it was taken first, in order.
            (error,) = ann.replies()
            assert isinstance(error, ErrorFrame)
            assert error.rid == "far"
            await trio.sleep_until(t0 + 2 * TICK + 0.01)
            assert ann.rids == ["far", "a0", "a1", "a2", "a3", "a4"]
            assert len(ann.replies()) == 6
            nursery.cancel_scope.cancel()


async def test_a_batch_of_placements_rings(autojump_clock: trio.testing.MockClock) -> None:
    arena = make_arena()
    ann = FakeLink("ann")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await trio.sleep_until(t0 + TICK + 0.01)
            far = MAX_COORD + 1
            for n in range(MAX_BATCH - 1):
                await arena.ref.send(
                    PlaceTile(player_id="ann", rid=f"f{n}", x=far, y=0, kind="stone")
                )
            await trio.sleep(0.02)
            assert ann.replies() == []  # waiting for the tick's end
            await arena.ref.send(PlaceTile(player_id="ann", rid="last", x=far, y=0, kind="stone"))
            await trio.sleep(0.001)
            # A full batch is taken at once: the mailbox drains as when each one woke it.
            assert len(ann.replies()) == MAX_BATCH
            nursery.cancel_scope.cancel()


async def test_a_leave_is_taken_within_the_pause(autojump_clock: trio.testing.MockClock) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann"), FakeLink("bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await join(arena, bob)
            await trio.sleep_until(t0 + 2 * TICK + 0.01)
            ann.clear()
            await arena.ref.send(PlaceTile(player_id="bob", rid="b1", x=1, y=1, kind="stone"))
            await arena.ref.send(LeaveArena(player_id="bob", reason="left"))
            await trio.sleep(TAKE_PAUSE)
            (left,) = [stream_frame(body) for body in ann.of("publish")]
            assert isinstance(left, PlayerLeft)
            # Bob's placement, queued before he left, is still resolved and answered.
            await trio.sleep_until(t0 + 3 * TICK + 0.01)
            assert [result.rid for result in bob.results()] == ["b1"]
            nursery.cancel_scope.cancel()


async def test_what_a_full_batch_leaves_is_taken_after_the_pause(
    autojump_clock: trio.testing.MockClock,
) -> None:
    arena = make_arena()
    ann, bob = FakeLink("ann"), FakeLink("bob")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            t0 = await start_arena(nursery, arena)
            await join(arena, ann)
            await trio.sleep_until(t0 + TICK + 0.01)
            far = MAX_COORD + 1
            for n in range(MAX_BATCH + 40):
                await arena.ref.send(
                    PlaceTile(player_id="ann", rid=f"f{n}", x=far, y=0, kind="stone")
                )
            asked = trio.current_time()
            await join(arena, bob)  # its ring is taken with the first batch
            assert trio.current_time() - asked <= TAKE_PAUSE
            assert len(ann.replies()) == MAX_BATCH + 40
            nursery.cancel_scope.cancel()
