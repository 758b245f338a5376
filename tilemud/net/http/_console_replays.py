"""The console's replays: list and search them (player, mode, time), open one and step
through it tick by tick on a drawn board, delete one (admin; audited as
``replay_deleted`` in the transaction that deletes it, as the JSON API's ``DELETE``).

The page gets the same replay document as ``GET /v1/replays/{arena_id}``
(:func:`~tilemud.net.http._replay_format.replay_document`) embedded as JSON; its script
(``console/static/replay.js``) rebuilds the board at any tick from the logged placements
(each tick's placements are the accepted ones, applied in order, so a capture overwrites
the cell like the arena did) and draws it on a canvas.
"""

from __future__ import annotations

import functools
from typing import Final
from urllib.parse import quote, urlencode

import trio
from quart import Response, request
from quart_trio import QuartTrio

from tilemud.errors import ActorGone
from tilemud.net.http._console_door import ConsoleDoor, Refused, see_other
from tilemud.net.http._console_moderation import PAGE_ROWS, moment, whole_number, within
from tilemud.net.http._replay_format import replay_document
from tilemud.net.http._replays import PlayedInRounds
from tilemud.net.http._replays import _read_replay as read_replay
from tilemud.storage import (
    AdminStorage,
    ArenaStorage,
    AuditEntry,
    RecordConflict,
    RecordNotFound,
    ReplayQuery,
    StorageUnavailable,
)
from tilemud.storage.tables import ID_LENGTH

#: Seconds a replay page waits for storage.
REPLAY_PAGE_TIMEOUT: Final = 10.0


def add_replay_pages(
    app: QuartTrio, door: ConsoleDoor, *, arenas: ArenaStorage | None, admin: AdminStorage
) -> None:
    """Serve the replay pages."""

    async def replays() -> Response:
        session = door.visitor()
        args = request.args
        wanted = args.get("arena_id", "").strip()
        if wanted:
            return see_other("/console/replays/" + quote(wanted[:ID_LENGTH], safe=""))
        player = args.get("player", "").strip()[:ID_LENGTH]
        mode = args.get("mode", "")
        offset = whole_number(args.get("offset"), 0)
        query = ReplayQuery(
            player=player or None,
            mode=mode if mode in ("battle", "arena") else None,
            since=moment(args.get("since")),
            until=moment(args.get("until")),
            limit=PAGE_ROWS + 1,
            offset=offset,
        )
        found = await within(admin.search_replays(query))
        shown = {
            "player": player,
            "mode": query.mode or "",
            "since": args.get("since", ""),
            "until": args.get("until", ""),
        }
        pages = {}
        if offset > 0:
            pages["newer"] = {**shown, "offset": str(max(0, offset - PAGE_ROWS))}
        if len(found) > PAGE_ROWS:
            pages["older"] = {**shown, "offset": str(offset + PAGE_ROWS)}
        return await door.page(
            "replays.html",
            session,
            replays=found[:PAGE_ROWS],
            filters=shown,
            pages={k: "/console/replays?" + urlencode(v) for k, v in pages.items()},
            notice=args.get("done"),
        )

    async def delete(arena_id: str) -> Response:
        session, form = await door.checked_form("admin")
        reason = form.get("reason", "").strip()
        if not reason:
            raise Refused(400, "give a reason")
        entry = AuditEntry(
            actor=session.user.subject, action="replay_deleted", target=arena_id, reason=reason
        )
        try:
            await within(admin.delete_replay(arena_id[:ID_LENGTH], entry))
        except RecordNotFound:
            raise Refused(404, f"no replay {arena_id!r}") from None
        except RecordConflict as conflict:
            raise Refused(409, f"{conflict.code}: {conflict.message}") from None
        return see_other("/console/replays?" + urlencode({"done": f"replay {arena_id} deleted"}))

    async def replay(arena_id: str) -> Response:
        session = door.visitor()
        if arenas is None or len(arena_id) > ID_LENGTH:
            raise Refused(404, f"no replay {arena_id!r}")
        # The API's own read: purged and played-in-rounds arenas are refused alike.
        read = functools.partial(
            read_replay, arena_id=arena_id, viewer=session.user.subject, admin=True
        )
        try:
            with trio.fail_after(REPLAY_PAGE_TIMEOUT):
                await arenas.flush()  # a live arena's latest placements too
                readable = await arenas.transact(read)
        except PlayedInRounds:
            raise Refused(
                404, f"arena {arena_id!r} is played in rounds: each round is a replay"
            ) from None
        except RecordNotFound:
            raise Refused(404, f"no replay {arena_id!r}") from None
        except (StorageUnavailable, ActorGone, trio.TooSlowError):
            raise Refused(503, "the database cannot be reached: try again later") from None
        assert readable is not None  # admin=True: never refused
        found, participants = readable
        document = await trio.to_thread.run_sync(replay_document, found, participants)
        return await door.page("replay.html", session, replay=document)

    app.add_url_rule("/console/replays", "console_replays", replays, methods=["GET"])
    app.add_url_rule("/console/replays/<arena_id>", "console_replay", replay, methods=["GET"])
    app.add_url_rule(
        "/console/replays/<arena_id>/delete", "console_replay_delete", delete, methods=["POST"]
    )
