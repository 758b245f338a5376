"""The console's replays: find one, open it and step through it tick by tick on a drawn
board.

The page gets the same replay document as ``GET /v1/replays/{arena_id}``
(:func:`~tilemud.net.http._replay_format.replay_document`) embedded as JSON; its script
(``console/static/replay.js``) rebuilds the board at any tick from the logged placements
(each tick's placements are the accepted ones, applied in order, so a capture overwrites
the cell like the arena did) and draws it on a canvas.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

import trio
from quart import Response, request
from quart_trio import QuartTrio

from tilemud.errors import ActorGone
from tilemud.net.http._console_door import ConsoleDoor, Refused, see_other
from tilemud.net.http._console_live import ConsoleNode, list_arenas
from tilemud.net.http._replay_format import replay_document
from tilemud.storage import ArenaStorage, RecordNotFound, StorageUnavailable
from tilemud.storage.tables import ID_LENGTH

#: Seconds a replay page waits for storage.
REPLAY_PAGE_TIMEOUT: Final = 10.0


def add_replay_pages(
    app: QuartTrio, door: ConsoleDoor, *, arenas: ArenaStorage | None, node: ConsoleNode | None
) -> None:
    """Serve the replay pages."""

    async def replays() -> Response:
        session = door.visitor()
        wanted = request.args.get("arena_id", "").strip()
        if wanted:
            return see_other("/console/replays/" + quote(wanted[:ID_LENGTH], safe=""))
        running = [] if node is None else await list_arenas(node)
        return await door.page("replays.html", session, running=running)

    async def replay(arena_id: str) -> Response:
        session = door.visitor()
        if arenas is None or len(arena_id) > ID_LENGTH:
            raise Refused(404, f"no replay {arena_id!r}")
        try:
            with trio.fail_after(REPLAY_PAGE_TIMEOUT):
                await arenas.flush()  # a live arena's latest placements too
                found = await arenas.load_replay(arena_id)
                participants = await arenas.load_participants(arena_id)
        except RecordNotFound:
            raise Refused(404, f"no replay {arena_id!r}") from None
        except (StorageUnavailable, ActorGone, trio.TooSlowError):
            raise Refused(503, "the database cannot be reached: try again later") from None
        document = await trio.to_thread.run_sync(replay_document, found, participants)
        return await door.page("replay.html", session, replay=document)

    app.add_url_rule("/console/replays", "console_replays", replays, methods=["GET"])
    app.add_url_rule("/console/replays/<arena_id>", "console_replay", replay, methods=["GET"])
