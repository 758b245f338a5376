"""``GET /v1/discovery`` (where to connect) and ``POST /v1/admin/drain`` (hand over, stop).

Discovery is public, like ``/healthz``: a client asks it before it opens its WebSocket
(and again after ``elsewhere``, a close 1001, or a node that stopped answering). Answers:

- 400 ``bad_request``: neither ``arena_id`` nor both ``mode`` (``battle``/``arena``) and
  ``region`` (one this server serves), or a value too long.
- 404 ``not_found``: no live node runs that arena (it may be being restored after its
  node died: ask again after ``retry_after``).
- 503 ``unavailable`` with ``retry_after``: no node can take a player now (all draining
  or full), or the node is starting.
- 200: ``{"node_id", "ws_url", "http_url", "arena_id", "draining"}``.

The drain (an admin's Bearer token) begins the hand-over of this node's arenas to the
others and then the node's graceful stop; it answers 202 at once (docs/operations.md,
"Draining a node").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Protocol

import trio
from quart import Response, request
from quart_trio import QuartTrio

from tilemud.actors.arena import Route
from tilemud.auth import TokenAuthority
from tilemud.errors import ActorGone
from tilemud.net.http._admin_access import claims_with_role
from tilemud.net.http._responses import error_response, json_response, retry_later_response

_MAX_ID: Final = 128
_RETRY_AFTER: Final = 1.0


class Discoverer(Protocol):
    """What discovery asks (:class:`tilemud.actors.arena.Discovery`)."""

    async def find(
        self, *, mode: str | None = None, region: str | None = None, arena_id: str | None = None
    ) -> Route | None: ...


def add_discovery_routes(
    app: QuartTrio,
    *,
    tokens: TokenAuthority,
    discovery: Discoverer | None,
    regions: Sequence[str],
    drain: Callable[[], Awaitable[bool]] | None,
) -> None:
    """Serve ``GET /v1/discovery`` and ``POST /v1/admin/drain`` on ``app``."""

    async def get_discovery() -> Response:
        if discovery is None:
            return _unavailable("this node is starting")
        arena_id = request.args.get("arena_id")
        mode = request.args.get("mode")
        region = request.args.get("region")
        if arena_id is not None:
            if not 0 < len(arena_id) <= _MAX_ID:
                return error_response(400, "bad_request", "arena_id must be 1-128 characters")
        elif mode not in ("battle", "arena") or region not in regions:
            return error_response(
                400,
                "bad_request",
                "give arena_id, or mode (battle or arena) and region "
                f"(one of {', '.join(regions)})",
            )
        try:
            route = await discovery.find(mode=mode, region=region, arena_id=arena_id)
        except (ActorGone, trio.TooSlowError):
            return _unavailable("matchmaking did not answer")
        if route is None:
            if arena_id is not None:
                return retry_later_response(
                    "not_found",
                    f"no live node runs arena {arena_id!r} now",
                    retry_after=_RETRY_AFTER,
                    status=404,
                )
            return _unavailable("no node can take a player now")
        body = {
            "node_id": route.node_id,
            "ws_url": route.ws_url,
            "http_url": route.http_url,
            "arena_id": route.arena_id,
            "draining": route.draining,
        }
        return json_response(body, headers={"Cache-Control": "no-store"})

    async def post_drain() -> Response:
        claims_with_role(tokens, "admin")
        if drain is None:
            return error_response(404, "not_found", "this server cannot be drained")
        began = await drain()
        return json_response({"status": "draining", "began": began}, status=202)

    app.add_url_rule("/v1/discovery", "discovery", get_discovery, methods=["GET"])
    app.add_url_rule("/v1/admin/drain", "drain", post_drain, methods=["POST"])


def _unavailable(why: str) -> Response:
    return retry_later_response("unavailable", why, retry_after=_RETRY_AFTER)


_ERROR: Final = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

DISCOVERY_PATHS: Final[dict[str, Any]] = {
    "/v1/discovery": {
        "get": {
            "operationId": "discover",
            "summary": "Which node to connect to for a mode and region, or for an arena.",
            "description": (
                "Public. Give `arena_id` (where that arena runs now) or `mode` and `region` "
                "(matchmaking over the whole cluster, Mode -> Region -> Load: the node with "
                "the least-loaded arena that has a free seat, else the node running the "
                "fewest arenas). One node alone always answers itself. Ask again after a "
                "`join` answered `elsewhere`, after a close 1001 (a drain or a stop) and when "
                "a node stops answering (its arenas are restored on the others)."
            ),
            "tags": ["discovery"],
            "parameters": [
                {"name": "mode", "in": "query", "schema": {"enum": ["battle", "arena"]}},
                {"name": "region", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "arena_id",
                    "in": "query",
                    "schema": {"type": "string", "minLength": 1, "maxLength": _MAX_ID},
                },
            ],
            "responses": {
                "200": {
                    "description": "Where to connect.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Route"}}
                    },
                },
                "400": {"description": "`bad_request`.", "content": _ERROR},
                "404": {
                    "description": (
                        "`not_found`: no live node runs that arena now (it may be being "
                        "restored: retry after `retry_after`)."
                    ),
                    "content": _ERROR,
                },
                "503": {
                    "description": "`unavailable`: no node can take a player now.",
                    "content": _ERROR,
                },
                "default": {"description": "Unexpected error.", "content": _ERROR},
            },
        }
    },
    "/v1/admin/drain": {
        "post": {
            "operationId": "drainNode",
            "summary": "Drain this node: hand its arenas over to the others, then stop.",
            "description": (
                "Admin role. The node stops taking new arenas and players (`join` answers "
                "`elsewhere`), stops each arena (snapshotted, still live in storage), waits "
                "for the database to commit, gives the arenas' leases back (another node "
                "restores them within a heartbeat), closes players' connections with 1001 "
                "and exits 0. Answers at once; `began` is false when a drain already runs. "
                "The same as `kill -USR1 <pid>`."
            ),
            "tags": ["admin"],
            "security": [{"adminToken": []}],
            "responses": {
                "202": {
                    "description": "The drain has begun (or was under way: `began` false).",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Drain"}}
                    },
                },
                "401": {"description": "no usable token.", "content": _ERROR},
                "403": {"description": "`forbidden`: not an admin.", "content": _ERROR},
                "404": {"description": "`not_found`: this server cannot drain.", "content": _ERROR},
                "default": {"description": "Unexpected error.", "content": _ERROR},
            },
        }
    },
}

DISCOVERY_SCHEMAS: Final[dict[str, Any]] = {
    "Drain": {
        "type": "object",
        "additionalProperties": False,
        "required": ["status", "began"],
        "properties": {
            "status": {"const": "draining"},
            "began": {"type": "boolean", "description": "False: a drain was under way."},
        },
    },
    "Route": {
        "type": "object",
        "additionalProperties": False,
        "required": ["node_id", "ws_url", "http_url", "arena_id", "draining"],
        "properties": {
            "node_id": {"type": "string"},
            "ws_url": {"type": "string", "description": "Open the WebSocket here."},
            "http_url": {"type": "string", "description": "That node's HTTP API."},
            "arena_id": {
                "type": ["string", "null"],
                "description": "The arena it would seat the player in; null: a new one.",
            },
            "draining": {"type": "boolean"},
        },
    },
}
