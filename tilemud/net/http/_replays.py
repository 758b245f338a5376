"""``GET /v1/replays/{arena_id}``: an arena's replay, for the players who took part and admins.

The caller proves who they are with ``Authorization: Bearer <access token>``. Answers, in
the order they are decided:

- 401 ``missing_token`` / ``invalid_token`` / ``token_expired``: no usable token (with a
  ``WWW-Authenticate: Bearer`` challenge, RFC 6750).
- 404 ``replays_not_stored``: this server runs without a database.
- 404 ``not_found``: no such arena, or its replay was purged.
- 404 ``played_in_rounds``: an epic arena played in rounds; each round is a replay of its
  own, and the error names the route that lists them (``GET /v1/arenas/{id}/rounds``).
  Before 403 on purpose: arena ids are not secret (the directory hands them out), and a
  purged arena has no participants left to tell a player's 403 from the truth.
- 403 ``forbidden``: the caller neither took part nor has the ``admin`` role.
- 503 ``unavailable`` with ``retry_after``: the database is down or too slow.
- 200: the replay document (``_replay_format``). An ended arena's replay no longer
  changes, so the caller may keep it; a live arena's grows every tick and is not cached.

The read runs in one storage transaction (arena, participants, then the log only when the
caller may see it); building and encoding the document runs in a worker thread, so a long
replay does not stall the event loop.
"""

from __future__ import annotations

import functools
import logging
from typing import Final

import orjson
import trio
from quart import Response, request
from quart_trio import QuartTrio
from quart_trio.wrappers import TrioResponse
from sqlalchemy.engine import Connection

from tilemud.auth import Claims, TokenAuthority
from tilemud.errors import ActorGone, AuthError
from tilemud.net.http._replay_format import replay_document
from tilemud.net.http._responses import error_response, retry_later_response
from tilemud.storage import (
    ArenaStorage,
    RecordNotFound,
    Replay,
    StorageUnavailable,
    list_rounds,
    load_arena,
    load_participants,
    load_replay,
)
from tilemud.storage.tables import ID_LENGTH

#: The role that may read every replay.
ADMIN_ROLE: Final = "admin"

#: Seconds a replay request waits for the storage actor before answering 503.
REPLAY_TIMEOUT: Final = 10.0

#: ``Cache-Control`` of an ended arena's replay: only the caller's own cache may keep it.
ENDED_CACHE_CONTROL: Final = "private, max-age=3600, immutable"

_REALM: Final = 'Bearer realm="tilemud"'

_log = logging.getLogger("tilemud.http")


def add_replay_route(
    app: QuartTrio,
    *,
    tokens: TokenAuthority,
    storage: ArenaStorage | None,
    timeout: float = REPLAY_TIMEOUT,
) -> None:
    """Serve ``GET /v1/replays/<arena_id>`` on ``app``.

    Args:
        app: the application.
        tokens: verifies the callers' access tokens.
        storage: reads replays; None when the server runs without a database.
        timeout: seconds to wait for the storage actor.
    """

    async def get_replay(arena_id: str) -> Response:
        claims = bearer_claims(tokens)
        if storage is None:
            return error_response(
                404, "replays_not_stored", "this server runs without a database: no replays"
            )
        if len(arena_id) > ID_LENGTH:
            return _not_found(arena_id)
        read = functools.partial(
            _read_replay,
            arena_id=arena_id,
            viewer=claims.player_id,
            admin=ADMIN_ROLE in claims.roles,
        )
        try:
            with trio.fail_after(timeout):
                found = await storage.transact(read)
        except PlayedInRounds:
            return error_response(
                404,
                "played_in_rounds",
                f"arena {arena_id!r} is played in rounds and each round is a replay of its "
                f"own: GET /v1/arenas/{arena_id}/rounds lists them",
            )
        except RecordNotFound:
            return _not_found(arena_id)
        except StorageUnavailable as exc:
            # Its message names the database: for the logs, not for clients.
            _log.warning("replay of %s not read: %s", arena_id, exc, extra={"arena_id": arena_id})
            return _unavailable(exc.retry_after)
        except (ActorGone, trio.TooSlowError):
            _log.warning("replay of %s not read: storage did not answer", arena_id)
            return _unavailable(1.0)
        if found is None:
            return error_response(
                403, "forbidden", "only the arena's players and admins may see its replay"
            )
        replay, participants = found
        body = await trio.to_thread.run_sync(_encode, replay, participants)
        cache = ENDED_CACHE_CONTROL if replay.arena.state == "ended" else "no-store"
        return TrioResponse(
            body,
            content_type="application/json",
            headers={"Cache-Control": cache, "Vary": "Authorization"},
        )

    app.add_url_rule("/v1/replays/<arena_id>", "replay", get_replay, methods=["GET"])


def bearer_claims(tokens: TokenAuthority) -> Claims:
    """The claims of the request's ``Authorization: Bearer`` access token.

    Raises:
        AuthError: ``missing_token`` without one (or not a Bearer one); ``invalid_token``
            or ``token_expired`` as ``TokenAuthority.verify_access`` says.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("send Authorization: Bearer <access token>", code="missing_token")
    return tokens.verify_access(token)


async def unauthorized(error: AuthError) -> Response:
    """401 for a request without a usable token, with the RFC 6750 challenge."""
    challenge = _REALM
    if error.code != "missing_token":
        # RFC 6750 has one error for forged, malformed and expired tokens alike.
        challenge += ', error="invalid_token"'
    return error_response(401, error.code, error.message, headers={"WWW-Authenticate": challenge})


def _unavailable(retry_after: float) -> Response:
    return retry_later_response(
        "unavailable", "replays cannot be read now; try again later", retry_after=retry_after
    )


class PlayedInRounds(RecordNotFound):
    """The arena's own id names no replay: it is played in rounds, each a replay."""


def _not_found(arena_id: str) -> Response:
    return error_response(404, "not_found", f"no replay of arena {arena_id!r} is stored")


def _read_replay(
    conn: Connection, *, arena_id: str, viewer: str, admin: bool
) -> tuple[Replay, tuple[str, ...]] | None:
    """The replay and participants, or None when ``viewer`` may not see them.

    Runs in a storage thread, in one transaction: the log is only read for an allowed
    caller, so a refused request costs two small queries.

    Raises:
        RecordNotFound: no such arena, or its replay was purged.
    """
    arena = load_arena(conn, arena_id)
    if arena.purged is not None:
        raise RecordNotFound(f"the replay of arena {arena_id} was purged")
    participants = load_participants(conn, arena_id)
    if not participants and list_rounds(conn, arena_id, limit=1):
        # An arena played in rounds logs nothing under its own id: each round is a replay.
        raise PlayedInRounds(f"arena {arena_id} is played in rounds; each has its replay")
    if not admin and viewer not in participants:
        return None
    return load_replay(conn, arena_id), participants


def _encode(replay: Replay, participants: tuple[str, ...]) -> bytes:
    return orjson.dumps(replay_document(replay, participants))
