"""The console's live node: arenas by mode, region and load, one arena's board as the
players see it, the supervision tree, and charts of the figures operators watch.

The live board is a spectator (``WatchArena``): the arena gives the console's
:class:`SpectatorLink` a snapshot, then every frame it publishes to its players, the same
encoded text; the spectator holds no seat and is never announced. The page reads them as
Server-Sent Events (``/console/arenas/<id>/events``). The link's buffer is bounded: a
browser that does not keep up loses its stream, which ends; ``EventSource`` reconnects and
starts again from a fresh snapshot. The stream also ends when the arena does, when the
server stops, and after :data:`STREAM_LIMIT` seconds (the browser reconnects).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import attrs
import orjson
import trio
from quart import Response
from quart_trio import QuartTrio
from quart_trio.wrappers import TrioResponse

from tilemud.actors.arena import (
    ArenaListing,
    DirectoryMessage,
    ListArenas,
    UnwatchArena,
    WatchArena,
)
from tilemud.errors import ActorGone
from tilemud.mailbox import Ref
from tilemud.net.http._console_door import PAGE_HEADERS, ConsoleDoor, Refused
from tilemud.net.http._console_figures import FigureRing
from tilemud.supervisors import TreeNode

#: Frames a spectator's buffer holds before the stream is given up.
SPECTATOR_BUFFER: Final = 256
#: Seconds between keep-alive comments on an idle stream (and checks for a stop).
KEEP_ALIVE: Final = 1.0
#: Seconds one event stream lasts at most; the browser then reconnects.
STREAM_LIMIT: Final = 600.0
#: Seconds a page waits for the directory or an arena.
ASK_TIMEOUT: Final = 5.0


@attrs.frozen(kw_only=True)
class ConsoleNode:
    """What the live pages read, handed in by the composition root.

    Attributes:
        directory: the arena directory's mailbox (``ListArenas``).
        tree: draws the supervision tree now.
        figures: the ring of sampled figures.
        stopping: whether the server is stopping (open event streams then end).
    """

    directory: Ref[DirectoryMessage]
    tree: Callable[[], TreeNode]
    figures: FigureRing
    stopping: Callable[[], bool]


class SpectatorLink:
    """A console page's view of an arena: a :class:`~tilemud.actors.arena.PlayerLink`
    without a seat, whose frames wait in a bounded channel for the page's stream."""

    def __init__(self, buffer: int = SPECTATOR_BUFFER) -> None:
        self._id = "console:" + secrets.token_hex(8)
        self._send, self.frames = trio.open_memory_channel[str](buffer)
        #: Set when a frame did not fit, or the arena ended: the stream must end.
        self.done = trio.Event()

    @property
    def player_id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return "console"

    def publish(self, body: str, *, ring: bool = True) -> bool:
        try:
            self._send.send_nowait(body)
        except (trio.WouldBlock, trio.ClosedResourceError):
            self.done.set()
        return False  # a spectator's loss is not a player's drop

    def reset_stream(self, snapshot_body: str) -> None:
        self.publish(snapshot_body)

    def reply(self, rid: str, frame: str) -> None:
        """A spectator sends no requests: nothing to answer."""

    def arena_closed(self, arena_id: str) -> None:
        self.done.set()


def add_live_pages(app: QuartTrio, door: ConsoleDoor, node: ConsoleNode) -> None:
    """Serve the live pages."""

    async def listings() -> list[ArenaListing]:
        return await list_arenas(node)

    async def live() -> Response:
        session = door.visitor()
        return await door.page(
            "live.html", session, arenas=await listings(), tree=_rows(node.tree())
        )

    async def figures() -> Response:
        door.visitor()
        body = {"figures": [f.to_dict() for f in node.figures.sample()]}
        return TrioResponse(
            orjson.dumps(body), headers=dict(PAGE_HEADERS), content_type="application/json"
        )

    async def board(arena_id: str) -> Response:
        session = door.visitor()
        listing = next((a for a in await listings() if a.arena_id == arena_id), None)
        if listing is None:
            raise Refused(404, f"no arena {arena_id!r} runs on this node")
        return await door.page("board.html", session, arena=listing)

    async def events(arena_id: str) -> Response:
        door.visitor()
        listing = next((a for a in await listings() if a.arena_id == arena_id), None)
        if listing is None or listing.ref is None:
            raise Refused(404, f"no arena {arena_id!r} runs on this node")
        ref = listing.ref
        link = SpectatorLink()
        try:
            with trio.fail_after(ASK_TIMEOUT):
                watching: bool = await ref.ask(lambda reply: WatchArena(link=link, reply=reply))
        except (ActorGone, trio.TooSlowError):
            watching = False
        if not watching:
            raise Refused(404, f"arena {arena_id!r} has ended")

        async def stream() -> AsyncIterator[bytes]:
            deadline = trio.current_time() + STREAM_LIMIT
            try:
                while not node.stopping() and trio.current_time() < deadline:
                    body: str | None = None
                    # Never yield inside a cancel scope: the scope would outlive the yield.
                    with trio.move_on_after(KEEP_ALIVE):
                        body = await link.frames.receive()
                    if body is not None:
                        yield b"data: " + body.encode() + b"\n\n"
                    elif link.done.is_set():
                        return
                    else:
                        yield b": keep-alive\n\n"
            finally:
                with contextlib.suppress(ActorGone):
                    ref.try_send(UnwatchArena(watcher_id=link.player_id))

        headers = {**PAGE_HEADERS, "X-Accel-Buffering": "no"}
        response = TrioResponse(stream(), headers=headers, content_type="text/event-stream")
        response.timeout = None  # a stream, not a slow answer
        return response

    app.add_url_rule("/console/live", "console_live", live, methods=["GET"])
    app.add_url_rule("/console/live/figures", "console_figures", figures, methods=["GET"])
    app.add_url_rule("/console/arenas/<arena_id>", "console_board", board, methods=["GET"])
    app.add_url_rule("/console/arenas/<arena_id>/events", "console_events", events, methods=["GET"])


async def list_arenas(node: ConsoleNode) -> list[ArenaListing]:
    """The node's arenas by mode, region, then load (busiest first).

    Raises:
        Refused: 503 when the directory does not answer.
    """
    try:
        with trio.fail_after(ASK_TIMEOUT):
            found: tuple[ArenaListing, ...] = await node.directory.ask(
                lambda reply: ListArenas(reply=reply)
            )
    except (ActorGone, trio.TooSlowError):
        raise Refused(503, "the arena directory is not answering") from None
    return sorted(found, key=lambda a: (a.mode, a.region, -a.players, a.arena_id))


def _rows(root: TreeNode) -> list[dict[str, Any]]:
    """The tree as rows, depth first, each with its depth (for an indented table)."""
    rows: list[dict[str, Any]] = []

    def visit(node: TreeNode, depth: int) -> None:
        rows.append({"depth": depth, **attrs.asdict(node, recurse=False), "children": None})
        for child in node.children:
            visit(child, depth + 1)

    visit(root, 0)
    return rows
