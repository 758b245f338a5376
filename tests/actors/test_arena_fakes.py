"""Fakes for the arena tests: recording player links and a way to run an arena.

Testing policy of the arena tests: the arena is driven only through its ``Ref``; players
are :class:`FakeLink` objects that record, in order, everything the arena hands them; all
timing is Trio time under ``autojump_clock``, and every test has an absolute Trio deadline.
This module holds no tests itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import attrs
import trio

from tilemud.actors.arena import (
    Arena,
    ArenaView,
    DescribeArena,
    JoinArena,
    JoinOutcome,
    NpcPolicy,
)
from tilemud.game import ARENA_RULES, RuleConfig
from tilemud.protocol import (
    STREAM_MESSAGES,
    ArenaSnapshot,
    PlaceResult,
    ServerMessage,
    StreamMessage,
    decode_server,
    stamp,
)
from tilemud.supervisors import ChildContext

S = TypeVar("S", bound=StreamMessage)
STREAM_CLASSES = tuple(STREAM_MESSAGES.values())

#: A small, permissive arena: 16x16, no adjacency rule, one placement per player per tick.
SMALL_RULES = attrs.evolve(
    ARENA_RULES,
    width=16,
    height=16,
    require_adjacency=False,
    cooldown_ticks=1,
    player_cap=4,
    captures=False,
    round_ticks=None,
)
#: Length of one tick of the test rules (10 Hz).
TICK = 0.1


@attrs.define(eq=False)
class FakeLink:
    """A player link that records what the arena sends, as ``(what, payload)`` in order.

    ``what`` is ``publish``, ``reset`` (``reset_stream``), ``reply`` (payload is the
    frame; the rid is in :attr:`rids`) or ``closed`` (payload is the arena id).
    """

    player_id: str
    name: str = attrs.field(default=attrs.Factory(lambda self: self.player_id, takes_self=True))
    events: list[tuple[str, str]] = attrs.field(factory=list)
    rids: list[str] = attrs.field(factory=list)
    on_publish: Callable[[str], None] | None = None

    def publish(self, body: str, *, ring: bool = True) -> bool:
        self.events.append(("publish", body))
        if ring:
            self.events.append(("ring", ""))
        if self.on_publish is not None:
            self.on_publish(body)
        return False

    def reset_stream(self, snapshot_body: str) -> None:
        self.events.append(("reset", snapshot_body))

    def reply(self, rid: str, frame: str) -> None:
        self.rids.append(rid)
        self.events.append(("reply", frame))

    def arena_closed(self, arena_id: str) -> None:
        self.events.append(("closed", arena_id))

    def of(self, what: str) -> list[str]:
        """The payloads of one kind of event, in order."""
        return [payload for kind, payload in self.events if kind == what]

    def published(self) -> list[StreamMessage]:
        """The stream bodies published to this player, stamped and decoded strictly."""
        return [stream_frame(body) for body in self.of("publish")]

    def published_of(self, cls: type[S]) -> list[S]:
        """The published stream frames of one class."""
        return [frame for frame in self.published() if isinstance(frame, cls)]

    def replies(self) -> list[ServerMessage]:
        """The reply frames, decoded strictly."""
        return [decode_server(frame) for frame in self.of("reply")]

    def results(self) -> list[PlaceResult]:
        """The ``place_result`` replies (fails on any other reply)."""
        found = self.replies()
        assert all(isinstance(frame, PlaceResult) for frame in found), found
        return [frame for frame in found if isinstance(frame, PlaceResult)]

    def snapshots(self) -> list[ArenaSnapshot]:
        """The snapshots the stream was reset with, stamped and decoded strictly."""
        found = [stream_frame(body) for body in self.of("reset")]
        return [frame for frame in found if isinstance(frame, ArenaSnapshot)]

    def clear(self) -> None:
        self.events.clear()
        self.rids.clear()


def stream_frame(body: str, seq: int = 1) -> StreamMessage:
    """Decode a stream body as a session would send it (stamped with ``seq``)."""
    frame = decode_server(stamp(body, seq))
    assert isinstance(frame, STREAM_CLASSES), frame
    return frame


def make_arena(
    rules: RuleConfig = SMALL_RULES,
    *,
    arena_id: str = "a_test",
    seed: int = 7,
    mailbox_size: int = 1024,
    on_closed: Callable[[str], None] | None = None,
    npcs: NpcPolicy | None = None,
) -> Arena:
    """An arena of ``rules`` (its mode is the rules' mode)."""
    return Arena(
        arena_id=arena_id,
        mode=rules.mode,
        region="eu",
        rules=rules,
        seed=seed,
        mailbox_size=mailbox_size,
        on_closed=on_closed,
        npcs=npcs,
    )


async def run_arena(
    arena: Arena,
    stopping: trio.Event | None = None,
    *,
    task_status: trio.TaskStatus[object] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run one incarnation of ``arena`` as a nursery task (``await nursery.start(...)``).

    Under the autojump clock no time passes between the arena's start and the return of
    ``nursery.start``, so ``trio.current_time()`` right after it is the arena's tick 0.
    """
    await arena.run(ChildContext(arena.arena_id, task_status=task_status, stopping=stopping))


async def start_arena(
    nursery: trio.Nursery, arena: Arena, stopping: trio.Event | None = None
) -> float:
    """Start ``arena`` in ``nursery``; returns its tick 0 in Trio time."""
    await nursery.start(run_arena, arena, stopping)
    return trio.current_time()


async def join(arena: Arena, link: FakeLink) -> JoinOutcome:
    """Ask ``arena`` to seat ``link``."""
    return await arena.ref.ask(lambda reply: JoinArena(link=link, reply=reply))


async def describe(arena: Arena) -> ArenaView:
    """Ask ``arena`` for its view."""
    return await arena.ref.ask(lambda reply: DescribeArena(reply=reply))
