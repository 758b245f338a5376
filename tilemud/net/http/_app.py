"""The Quart-Trio application: routes, and JSON errors for everything that can go wrong.

Every answer of the API is JSON (the console's pages under ``/console/`` are HTML:
``_console``). Errors, including 401 for a missing or bad bearer token, 404 for unknown
paths, 405 for wrong methods, 413 for oversized bodies and 500 for bugs, have one shape:
``{"error": {"code": ..., "message": ...}}`` (see ``_openapi.ERROR_CODES``; a 503 and a
429 add ``retry_after``, a guest login's 403 ``banned`` ``until``). No traceback ever
reaches a client; a bug is logged on the ``tilemud.http`` logger.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import orjson
import trio
from quart import Response, request
from quart_trio import QuartTrio
from quart_trio.wrappers import TrioResponse
from werkzeug.exceptions import HTTPException, MethodNotAllowed

import tilemud
from tilemud.actors.moderation import BanAdmission, ModerationClient, SanctionBook
from tilemud.auth import TokenAuthority, new_player_id
from tilemud.cluster import InProcessRateLimiter, RateLimiter
from tilemud.config import Settings
from tilemud.errors import ActorGone, AuthError, ProtocolError
from tilemud.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from tilemud.metrics import ServerMetrics
from tilemud.net.http._addresses import address_key
from tilemud.net.http._admin import (
    BAD_ARGUMENT,
    add_admin_routes,
    bad_argument,
    storage_unavailable,
)
from tilemud.net.http._admin_access import Forbidden
from tilemud.net.http._admin_replays import add_replay_admin_routes
from tilemud.net.http._admin_rules import add_rule_routes
from tilemud.net.http._admin_sign_in import SignInDesk
from tilemud.net.http._console import add_console_routes
from tilemud.net.http._console_live import ConsoleNode
from tilemud.net.http._console_sessions import ConsoleSessions
from tilemud.net.http._cors import install_cors
from tilemud.net.http._discovery import Discoverer, add_discovery_routes
from tilemud.net.http._health import HealthProbe
from tilemud.net.http._names import check_player_name
from tilemud.net.http._openapi import openapi_document
from tilemud.net.http._readiness import ReadinessProbe, ReadinessReport
from tilemud.net.http._replays import add_replay_route, unauthorized
from tilemud.net.http._responses import error_response, json_response, retry_later_response
from tilemud.net.http._rounds import add_rounds_route
from tilemud.storage import (
    AdminStorage,
    ArenaStorage,
    PlayerStorage,
    RuleStorage,
    StorageUnavailable,
)

__all__ = ["MAX_BODY_BYTES", "create_app"]

#: Largest request body accepted, in bytes; larger answers 413 ``payload_too_large``.
MAX_BODY_BYTES: Final = 16 * 1024

#: Roles carried by a token minted through the guest login.
GUEST_ROLES: Final = ("guest",)

_log = logging.getLogger("tilemud.http")

#: A guest login's ``device``: at least 128 bits of base64url, at most 128 characters.
_DEVICE: Final = re.compile(r"[A-Za-z0-9_-]{22,128}")

# werkzeug's HTTP errors by status, as our stable error codes.
_HTTP_ERROR_CODES: Final[Mapping[int, str]] = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal",
}


def create_app(
    *,
    settings: Settings,
    tokens: TokenAuthority,
    health: HealthProbe,
    metrics: ServerMetrics | None = None,
    storage: ArenaStorage | None = None,
    guest_limiter: RateLimiter | None = None,
    sign_in_limiter: RateLimiter | None = None,
    readiness: ReadinessProbe | None = None,
    admin: AdminStorage | None = None,
    moderation: ModerationClient | None = None,
    sanctions: SanctionBook | None = None,
    players: PlayerStorage | None = None,
    console: ConsoleNode | None = None,
    console_sessions: ConsoleSessions | None = None,
    rules: RuleStorage | None = None,
    bans: BanAdmission | None = None,
    discovery: Discoverer | None = None,
    drain: Callable[[], Awaitable[bool]] | None = None,
) -> QuartTrio:
    """Build the HTTP API application.

    Args:
        settings: the whole settings tree (``auth.guest_login`` is read per request).
        tokens: mints the guest login's access tokens and verifies the bearer tokens of
            authenticated routes.
        health: asked on every ``GET /healthz``.
        metrics: the server's metrics, rendered on every ``GET /metrics``; an app built
            without a server gets a fresh set of its own (only the process metrics move).
        storage: where ``GET /v1/replays/{arena_id}`` reads replays; None when the server
            runs without a database (that route then answers 404 ``replays_not_stored``).
        guest_limiter: counts guest logins per client address (keys ``guest_login:<addr>``);
            None builds an in-process one from ``limits.guest_logins`` per
            ``limits.guest_logins_window`` (none at all when ``guest_logins`` is 0).
        sign_in_limiter: counts admin sign-in attempts per client address; None builds an
            in-process one from ``limits.admin_sign_ins`` per ``limits.admin_sign_ins_window``.
        readiness: asked on every ``GET /readyz``; None (an app without a server) makes
            readiness the same as health.
        admin: admin accounts, the audit log and reports; None (no database): every
            ``/v1/admin/`` route answers 404 ``admin_not_stored``.
        moderation: the moderation actor's door, for the admin API's acts.
        sanctions: the mutes and bans in force, shown on the console's player pages.
        players: where the console finds players by id or name.
        console: the live node for the console's live pages; None: no live pages.
        console_sessions: the console's browser sessions (a fresh store when None).
        rules: rule-config versions (``/v1/admin/rules/``); None (no database): those
            routes answer 404 ``admin_not_stored``.
        bans: the bans in force: a guest login from a banned player's ``device`` is
            refused (403 ``banned``); None: no check.
        discovery: answers ``GET /v1/discovery``; None: 503 (an app without a server).
        drain: begins this node's drain (``POST /v1/admin/drain``); None: 404.

    Returns:
        The app; serve it with ``serve_http``, which adds the Hypercorn #106 workaround.
    """
    app = QuartTrio(__name__, static_folder=None, template_folder="console")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # No route answers OPTIONS by itself: it is a 405 like any method a route does not
    # take (only an allowed CORS preflight gets an answer).
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    document = orjson.dumps(openapi_document(version=tilemud.__version__))
    server_metrics = ServerMetrics() if metrics is None else metrics
    limits = settings.limits
    if guest_limiter is None and limits.guest_logins > 0:
        guest_limiter = InProcessRateLimiter(
            limit=limits.guest_logins, window=limits.guest_logins_window
        )

    async def get_health() -> Response:
        report = health.health()
        status = "ok" if report.ok else "unavailable"
        body = {"status": status, **{k: v for k, v in report.details.items() if k != "status"}}
        return json_response(
            body, status=200 if report.ok else 503, headers={"Cache-Control": "no-store"}
        )

    async def get_readiness() -> Response:
        if readiness is None:
            report = ReadinessReport(ready=health.health().ok)
        else:
            report = await readiness.readiness(background=app.nursery)
        status = "ready" if report.ready else "not_ready"
        body = {"status": status, **{k: v for k, v in report.details.items() if k != "status"}}
        return json_response(
            body, status=200 if report.ready else 503, headers={"Cache-Control": "no-store"}
        )

    async def guest_login() -> Response:
        if not settings.auth.guest_login:
            return error_response(
                403, "guest_login_disabled", "guest login is switched off on this server"
            )
        if guest_limiter is not None:
            # Counted before the body is read: a flood of bad bodies is a flood too.
            address = address_key(request.scope.get("client"))
            retry_after = await guest_limiter.acquire(f"guest_login:{address}")
            if retry_after is not None:
                return retry_later_response(
                    "rate_limited",
                    "too many guest logins from this address",
                    retry_after=retry_after,
                    status=429,
                )
        raw_name, device = await _json_name_field()
        name = check_player_name(raw_name)
        if device is None:
            player_id = new_player_id()
        else:
            if not _DEVICE.fullmatch(device):
                raise ProtocolError(
                    "device must be 22-128 characters of A-Z a-z 0-9 _ -", code="bad_request"
                )
            # A returning device is the same player: its ban holds here too.
            player_id = tokens.device_player_id(device)
            banned = None if bans is None else bans.refusal(player_id)
            if banned is not None:
                error: dict[str, object] = {"code": banned.code, "message": banned.message}
                if banned.until is not None:
                    error["until"] = banned.until
                return json_response({"error": error}, status=403)
        now = time.time()
        token = tokens.mint_access(player_id=player_id, name=name, roles=GUEST_ROLES, now=now)
        claims = tokens.verify_access(token, now=now)
        body = {
            "token": token,
            "token_type": "Bearer",
            "player_id": player_id,
            "name": name,
            "expires_at": int(claims.expires_at),
        }
        # Tokens are credentials: no cache may keep one (RFC 6749 section 5.1).
        return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def get_openapi() -> Response:
        return TrioResponse(document, content_type="application/json")

    async def get_metrics() -> Response:
        # Rendered in this task, synchronously: the gateway's figures read at scrape time
        # all come from one instant.
        return TrioResponse(
            server_metrics.exposition(),
            content_type=METRICS_CONTENT_TYPE,
            headers={"Cache-Control": "no-store"},
        )

    app.add_url_rule("/healthz", "health", get_health, methods=["GET"])
    app.add_url_rule("/readyz", "readiness", get_readiness, methods=["GET"])
    app.add_url_rule("/v1/auth/guest", "guest_login", guest_login, methods=["POST"])
    app.add_url_rule("/openapi.json", "openapi", get_openapi, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", get_metrics, methods=["GET"])
    add_replay_route(app, tokens=tokens, storage=storage)
    # One desk for both doors: attempts from an address count together.
    desk = None if admin is None else SignInDesk(admin, settings.limits, sign_in_limiter)
    add_admin_routes(app, tokens=tokens, storage=admin, moderation=moderation, desk=desk)
    # Rule changes of this node go one at a time, through the API or the console.
    rules_lock = trio.Lock()
    add_rule_routes(
        app, tokens=tokens, storage=rules, regions=settings.world.regions, changing=rules_lock
    )
    add_replay_admin_routes(app, tokens=tokens, storage=admin)
    add_rounds_route(app, tokens=tokens, storage=storage)
    add_discovery_routes(
        app, tokens=tokens, discovery=discovery, regions=settings.world.regions, drain=drain
    )
    add_console_routes(
        app,
        sessions=ConsoleSessions() if console_sessions is None else console_sessions,
        desk=desk,
        secure_cookie=settings.server.tls,
        admin=admin,
        moderation=moderation,
        sanctions=sanctions,
        players=players,
        arenas=storage,
        node=console,
        rules=rules,
        regions=settings.world.regions,
        rules_lock=rules_lock,
    )

    install_cors(app, settings.server.cors_origins)
    app.register_error_handler(ProtocolError, _bad_request)
    app.register_error_handler(AuthError, unauthorized)
    app.register_error_handler(Forbidden, _forbidden)
    app.register_error_handler(BAD_ARGUMENT, bad_argument)
    for unavailable in (StorageUnavailable, ActorGone, trio.TooSlowError):
        app.register_error_handler(unavailable, storage_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


async def _json_name_field() -> tuple[str, str | None]:
    """Read the request body as ``{"name": <string>, "device"?: <string>}``; returns the
    name and the device (None when not given)."""
    if request.mimetype != "application/json":
        raise _UnsupportedMediaType()
    raw = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"body is not valid JSON: {exc}", code="bad_json") from exc
    if (
        not isinstance(body, dict)
        or not {"name"} <= set(body) <= {"name", "device"}
        or not all(isinstance(value, str) for value in body.values())
    ):
        raise ProtocolError(
            'body must be a JSON object {"name": <string>, "device"?: <string>} with no other keys',
            code="bad_request",
        )
    return body["name"], body.get("device")


class _UnsupportedMediaType(HTTPException):
    code = 415
    description = "send the body as application/json"


async def _forbidden(error: Forbidden) -> Response:
    return error_response(403, error.code, error.message)


async def _bad_request(error: ProtocolError) -> Response:
    return error_response(400, error.code, error.message)


async def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_ERROR_CODES.get(status, "http_error")
    headers: dict[str, str] = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    # A 5xx description could name internals; a 4xx one explains the client's mistake.
    message = "internal server error" if status >= 500 else (error.description or error.name)
    return error_response(status, code, message, headers=headers)


async def _unexpected_error(error: Exception) -> Response:
    # A bug: log it with its traceback for operators, tell the client nothing more.
    _log.error("unhandled error in HTTP handler", exc_info=error)
    return error_response(500, "internal", "internal server error")
