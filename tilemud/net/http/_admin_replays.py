"""The admin API's replays: list and search them (moderator), the board of one after any
tick (moderator), delete one (admin, audited).

docs/console.md ("Replays") describes the routes and the board's shape. Deleting is
admin-only on purpose: a moderator acting on a report needs the replay as evidence. The
board is re-simulated from the log with the arena's own rules (``game.resimulate``) in a
worker thread, so a long replay does not stall the event loop.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import trio
from quart import Response, request
from quart_trio import QuartTrio
from sqlalchemy.engine import Connection

from tilemud.auth import TokenAuthority
from tilemud.game import ReplayTick, resimulate
from tilemud.net.http._admin import _NO_STORE, MAX_PAGE, _int_arg, _not_stored, _time_arg, _within
from tilemud.net.http._admin_access import claims_with_role, json_object
from tilemud.net.http._responses import error_response, json_response
from tilemud.storage import (
    PLAYED_IN_ROUNDS,
    AdminStorage,
    AuditEntry,
    RecordConflict,
    RecordNotFound,
    Replay,
    ReplayQuery,
    ReplaySummary,
    list_rounds,
    load_replay,
)
from tilemud.storage.tables import ID_LENGTH

_LAST_TICK: Final = 2**62


def add_replay_admin_routes(
    app: QuartTrio, *, tokens: TokenAuthority, storage: AdminStorage | None
) -> None:
    """Serve ``/v1/admin/replays...`` on ``app`` (see the module docstring)."""

    async def list_replays() -> Response:
        claims_with_role(tokens, "moderator")
        mode = request.args.get("mode")
        if mode not in (None, "battle", "arena"):
            return error_response(400, "bad_request", "mode is battle or arena")
        player = request.args.get("player")
        if player is not None and not 0 < len(player) <= ID_LENGTH:
            return error_response(400, "bad_request", "player is a player id")
        query = ReplayQuery(
            player=player,
            mode=mode,
            since=_time_arg("since"),
            until=_time_arg("until"),
            limit=_int_arg("limit", 50, 1, MAX_PAGE),
            offset=_int_arg("offset", 0, 0, 10**9),
        )
        if storage is None:
            return _not_stored()
        found: list[ReplaySummary] = await _within(storage.search_replays(query))
        following = query.offset + len(found) if len(found) == query.limit else None
        body = {"replays": [_summary(s) for s in found], "next_offset": following}
        return json_response(body, headers=_NO_STORE)

    async def board_at(arena_id: str) -> Response:
        claims_with_role(tokens, "moderator")
        tick = _int_arg("tick", _LAST_TICK, 0, _LAST_TICK)
        if storage is None:
            return _not_stored()
        if len(arena_id) > ID_LENGTH:
            return _no_replay(arena_id)
        try:
            replay = await _within(storage.transact(functools.partial(_read, arena_id=arena_id)))
        except RecordNotFound as exc:
            return _no_replay(arena_id, exc)
        body = await trio.to_thread.run_sync(_board_after, replay, tick)
        return json_response(body, headers=_NO_STORE)

    async def delete_replay(arena_id: str) -> Response:
        claims = claims_with_role(tokens, "admin")
        body = await json_object({"reason": str})
        reason = body["reason"].strip()
        if not reason:
            return error_response(400, "bad_request", "give a reason")
        if storage is None:
            return _not_stored()
        if len(arena_id) > ID_LENGTH:
            return _no_replay(arena_id)
        entry = AuditEntry(
            actor=claims.player_id, action="replay_deleted", target=arena_id, reason=reason
        )
        try:
            await _within(storage.delete_replay(arena_id, entry))
        except RecordNotFound as exc:
            return _no_replay(arena_id, exc)
        except RecordConflict as exc:
            return error_response(409, exc.code, exc.message)
        return json_response({"arena_id": arena_id, "deleted": True}, headers=_NO_STORE)

    app.add_url_rule("/v1/admin/replays", "admin_replays", list_replays, methods=["GET"])
    app.add_url_rule(
        "/v1/admin/replays/<arena_id>/board", "admin_replay_board", board_at, methods=["GET"]
    )
    app.add_url_rule(
        "/v1/admin/replays/<arena_id>",
        "admin_replay_delete",
        delete_replay,
        methods=["DELETE"],
    )


def _read(conn: Connection, *, arena_id: str) -> Replay:
    """The replay (in a storage thread).

    Raises:
        RecordNotFound: no such arena, its replay is gone, or it is played in rounds.
    """
    replay = load_replay(conn, arena_id)
    if not replay.ticks and list_rounds(conn, arena_id, limit=1):
        raise RecordNotFound(f"arena {arena_id} is played in rounds", code=PLAYED_IN_ROUNDS)
    return replay


def _board_after(replay: Replay, tick: int) -> dict[str, Any]:
    """The board document after ``tick`` (the last logged one when ``tick`` is past it)."""
    logged = [t.tick for t in replay.ticks]
    last = logged[-1] if logged else 0
    tick = min(tick, last)
    wanted: list[ReplayTick] = [t for t in replay.ticks if t.tick <= tick]
    final = None
    for resolved in resimulate(wanted, rules=replay.rules, seed=replay.arena.seed):
        final = resolved
    state = None if final is None else final.state
    players: dict[str, int] = {}
    kinds = {name: index for index, name in enumerate(replay.rules.kind_names)}
    cells = []
    if state is not None:
        for placed in state.board.tiles():
            owner = players.setdefault(placed.tile.owner, len(players))
            cells.append([placed.x, placed.y, owner, kinds[placed.tile.kind]])
    this_tick = wanted[-1] if wanted and wanted[-1].tick == tick else None
    placements = [
        [players.setdefault(p.player_id, len(players)), p.x, p.y, kinds[p.kind]]
        for p in (() if this_tick is None else this_tick.placements)
    ]
    earlier = [n for n in logged if n < tick]
    later = [n for n in logged if n > tick]
    return {
        "arena_id": replay.arena.arena_id,
        "tick": tick,
        "ticks": logged,
        "previous_tick": earlier[-1] if earlier else None,
        "next_tick": later[0] if later else None,
        "last_tick": last,
        "width": replay.rules.width,
        "height": replay.rules.height,
        "players": list(players),
        "kinds": list(kinds),
        "cells": cells,
        "placements": placements,
        "scores": {} if state is None else dict(state.scores),
        "checksum": None if final is None else final.checksum,
    }


def _no_replay(arena_id: str, why: RecordNotFound | None = None) -> Response:
    if why is not None and why.code == PLAYED_IN_ROUNDS:
        return error_response(
            404,
            PLAYED_IN_ROUNDS,
            f"arena {arena_id!r} is played in rounds and each round is a replay of its own: "
            f"GET /v1/arenas/{arena_id}/rounds lists them",
        )
    return error_response(404, "not_found", f"no replay of arena {arena_id!r} is stored")


def _summary(summary: ReplaySummary) -> dict[str, Any]:
    return {
        "arena_id": summary.arena_id,
        "mode": summary.mode,
        "region": summary.region,
        "state": summary.state,
        "created": summary.created.isoformat(),
        "ended": None if summary.ended is None else summary.ended.isoformat(),
        "parent_id": summary.parent_id,
        "round": summary.round,
        "rules_version": summary.rules_version,
        "rule_version": summary.rule_version,
        "participants": summary.participants,
        "result": summary.result,
    }
