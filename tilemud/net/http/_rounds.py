"""``GET /v1/arenas/{arena_id}/rounds``: the rounds of an epic arena, latest first.

Every round of an arena with rounds is stored as an arena of its own (its replay, read
with ``GET /v1/replays/{replay_id}`` by the round's players and admins, purged 7 days after
the round ended). This lists them for any logged-in player: numbers, ticks, times, state,
winners and scores; no placements. Answers:

- 401 ``missing_token`` / ``invalid_token`` / ``token_expired``.
- 404 ``replays_not_stored``: this server runs without a database.
- 404 ``not_found``: no arena of that id, or one without rounds (a battle, an arena of
  one endless round).
- 503 ``unavailable`` with ``retry_after``: the database is down or too slow.
- 200: ``{"arena_id": ..., "rounds": [...]}``, at most :data:`MAX_ROUNDS_LISTED` rounds.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Final

import trio
from quart import Response
from quart_trio import QuartTrio
from sqlalchemy.engine import Connection

from tilemud.auth import TokenAuthority
from tilemud.errors import ActorGone
from tilemud.net.http._replays import bearer_claims
from tilemud.net.http._responses import error_response, json_response, retry_later_response
from tilemud.storage import (
    ArenaRecord,
    ArenaStorage,
    RecordNotFound,
    StorageUnavailable,
    list_rounds,
)
from tilemud.storage.tables import ID_LENGTH

#: Most rounds one listing returns (the latest).
MAX_ROUNDS_LISTED: Final = 100
#: Seconds a listing waits for the storage actor before answering 503.
ROUNDS_TIMEOUT: Final = 10.0

_log = logging.getLogger("tilemud.http")


def add_rounds_route(
    app: QuartTrio,
    *,
    tokens: TokenAuthority,
    storage: ArenaStorage | None,
    timeout: float = ROUNDS_TIMEOUT,
) -> None:
    """Serve ``GET /v1/arenas/<arena_id>/rounds`` on ``app``."""

    async def get_rounds(arena_id: str) -> Response:
        bearer_claims(tokens)
        if storage is None:
            return error_response(
                404, "replays_not_stored", "this server runs without a database: no rounds"
            )
        if len(arena_id) > ID_LENGTH:
            return _not_found(arena_id)
        try:
            with trio.fail_after(timeout):
                rounds = await storage.transact(lambda c: _read(c, arena_id))
        except RecordNotFound:
            return _not_found(arena_id)
        except StorageUnavailable as exc:
            _log.warning("rounds of %s not read: %s", arena_id, exc, extra={"arena_id": arena_id})
            return retry_later_response(
                "unavailable",
                "rounds cannot be read now; try again later",
                retry_after=exc.retry_after,
            )
        except (ActorGone, trio.TooSlowError):
            return _unavailable(1.0)
        return json_response(
            {"arena_id": arena_id, "rounds": [_round(r) for r in rounds]},
            headers={"Cache-Control": "no-store"},
        )

    app.add_url_rule("/v1/arenas/<arena_id>/rounds", "rounds", get_rounds, methods=["GET"])


def _unavailable(retry_after: float) -> Response:
    return retry_later_response(
        "unavailable", "rounds cannot be read now; try again later", retry_after=retry_after
    )


def _not_found(arena_id: str) -> Response:
    return error_response(404, "not_found", f"no arena {arena_id!r} with rounds is stored")


def _read(conn: Connection, arena_id: str) -> list[ArenaRecord]:
    rounds = list_rounds(conn, arena_id, limit=MAX_ROUNDS_LISTED)
    if not rounds:
        raise RecordNotFound(f"no rounds of arena {arena_id}")
    return rounds


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _round(record: ArenaRecord) -> dict[str, Any]:
    result = record.result or {}
    return {
        "round": record.round,
        "replay_id": record.arena_id,
        "state": record.state,
        "first_tick": record.first_tick,
        "last_tick": result.get("last_tick"),
        "started_at": _time(record.created),
        "ended_at": _time(record.ended),
        "winners": result.get("winners", []),
        "scores": result.get("scores", {}),
        "replay_purged": record.purged is not None,
    }


ROUNDS_PATHS: Final[dict[str, Any]] = {
    "/v1/arenas/{arena_id}/rounds": {
        "get": {
            "operationId": "listRounds",
            "summary": "The rounds of an epic arena, latest first, with their results.",
            "description": (
                "For any logged-in player. Each round is a replay of its own: read it with "
                "`GET /v1/replays/{replay_id}` (its players and admins; purged 7 days after "
                f"the round ended). At most {MAX_ROUNDS_LISTED} rounds, the latest. A live "
                "round has no `last_tick`, `ended_at`, winners or scores yet."
            ),
            "tags": ["replays"],
            "security": [{"playerToken": []}],
            "parameters": [
                {
                    "name": "arena_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "The epic arena's id, as `joined.arena_id` gave it.",
                }
            ],
            "responses": {
                "200": {
                    "description": "The rounds.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Rounds"}}
                    },
                },
                "401": {
                    "description": "`missing_token`, `invalid_token` or `token_expired`.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "404": {
                    "description": (
                        "`not_found`: no such arena, or one without rounds; "
                        "`replays_not_stored`: this server runs without a database."
                    ),
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "503": {
                    "description": (
                        "`unavailable`: the database is down or slow; retry after "
                        "`error.retry_after` seconds (also the `Retry-After` header)."
                    ),
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "default": {
                    "description": "Unexpected error.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
    }
}

_NULLABLE_INT: Final = {"type": ["integer", "null"]}
_NULLABLE_TIME: Final = {"type": ["string", "null"], "format": "date-time"}

ROUNDS_SCHEMAS: Final[dict[str, Any]] = {
    "Rounds": {
        "type": "object",
        "additionalProperties": False,
        "required": ["arena_id", "rounds"],
        "properties": {
            "arena_id": {"type": "string"},
            "rounds": {
                "type": "array",
                "maxItems": MAX_ROUNDS_LISTED,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": [
                        "round",
                        "replay_id",
                        "state",
                        "first_tick",
                        "last_tick",
                        "started_at",
                        "ended_at",
                        "winners",
                        "scores",
                        "replay_purged",
                    ],
                    "properties": {
                        "round": {"type": "integer", "minimum": 1},
                        "replay_id": {"type": "string"},
                        "state": {"enum": ["live", "ended"]},
                        "first_tick": _NULLABLE_INT,
                        "last_tick": _NULLABLE_INT,
                        "started_at": {"type": "string", "format": "date-time"},
                        "ended_at": _NULLABLE_TIME,
                        "winners": {"type": "array", "items": {"type": "string"}},
                        "scores": {
                            "type": "object",
                            "additionalProperties": {"type": "integer"},
                        },
                        "replay_purged": {"type": "boolean"},
                    },
                },
            },
        },
    }
}
