"""The admin console in a browser: pages under ``/console/`` on the HTTP port.

Server-rendered Quart-Trio pages (Jinja templates in ``tilemud/net/http/console/``) over the
same services the JSON API under ``/v1/admin/`` uses: the moderation actor, admin storage,
the arena directory, the metrics. docs/console.md shows every page.

- ``/console/sign-in`` (name and password of an account made by ``tilemud admin add``),
  ``/console/sign-out``; the session is a cookie (:mod:`._console_sessions`), every form
  carries a CSRF token (:mod:`._console_door`).
- Moderation (:mod:`._console_moderation`): players, sanctions, the report queue, the
  audit log (admin).
- Replays (:mod:`._console_replays`) and the live node (:mod:`._console_live`).

Without a database there are no admin accounts: every console page answers 404.
"""

from __future__ import annotations

import hmac
import importlib.resources
import secrets
from collections.abc import Sequence
from typing import Final

import trio
from quart import Response, request
from quart_trio import QuartTrio
from quart_trio.wrappers import TrioResponse

from tilemud.actors.moderation import ModerationClient, SanctionBook
from tilemud.auth import admin_subject
from tilemud.net.http._addresses import address_key
from tilemud.net.http._admin_sign_in import SignInDesk, SignInRefused
from tilemud.net.http._console_door import ConsoleDoor, Refused, see_other
from tilemud.net.http._console_live import ConsoleNode, add_live_pages
from tilemud.net.http._console_moderation import add_moderation_pages
from tilemud.net.http._console_replays import add_replay_pages
from tilemud.net.http._console_rules import add_rule_pages
from tilemud.net.http._console_sessions import (
    COOKIE_PATH,
    SIGN_IN_COOKIE,
    ConsoleSessions,
    ConsoleUser,
)
from tilemud.storage import (
    AdminStorage,
    ArenaStorage,
    PlayerStorage,
    RuleStorage,
    StorageUnavailable,
)

#: Seconds the sign-in form's own CSRF cookie lives.
SIGN_IN_FORM_LIFETIME: Final = 600


def add_console_routes(
    app: QuartTrio,
    *,
    sessions: ConsoleSessions,
    desk: SignInDesk | None,
    secure_cookie: bool,
    admin: AdminStorage | None,
    moderation: ModerationClient | None,
    sanctions: SanctionBook | None,
    players: PlayerStorage | None,
    arenas: ArenaStorage | None,
    node: ConsoleNode | None,
    rules: RuleStorage | None,
    regions: Sequence[str],
    rules_lock: trio.Lock,
) -> None:
    """Serve the console on ``app`` (see the module docstring).

    Args:
        sessions: the node's console sessions.
        desk: checks names and passwords (the JSON API's desk); None: no accounts.
        secure_cookie: TLS is on: cookies are ``Secure``.
        admin: admin accounts, the audit log, reports; None: no console (404).
        moderation: the moderation actor's door.
        sanctions: the mutes and bans in force (shown on a player's page).
        players: for finding players.
        arenas: for replays.
        node: the live node (arena directory, supervision tree, figures); None: the live
            pages answer 404.
        rules: rule-config versions; None: no rule pages.
        regions: the regions an activation may name.
        rules_lock: the JSON API's lock over rule changes (one at a time per node).
    """
    door = ConsoleDoor(sessions, secure_cookie=secure_cookie)

    async def sign_in_page() -> Response:
        if desk is None:
            return await _not_stored(door)
        return await _sign_in_form(door)

    async def sign_in() -> Response:
        if desk is None:
            return await _not_stored(door)
        address = address_key(request.scope.get("client"))
        try:
            await desk.admit(address)
        except SignInRefused:
            return await _sign_in_form(
                door, error="Too many sign-in attempts: wait a minute.", status=429
            )
        form = await request.form
        expected = request.cookies.get(SIGN_IN_COOKIE)
        posted = form.get("csrf")
        if not expected or posted is None or not _same(expected, posted):
            raise Refused(403, "the sign-in form expired or came from elsewhere: reload it")
        name, password = form.get("name", ""), form.get("password", "")
        try:
            account = await desk.check(name, password, address=address, door="console")
        except SignInRefused:
            return await _sign_in_form(door, error="Wrong name or password.", name=name, status=401)
        except (StorageUnavailable, trio.TooSlowError):
            return await _sign_in_form(
                door, error="The database cannot be reached: try again later.", status=503
            )
        session = sessions.open(
            ConsoleUser(name=account.name, role=account.role, subject=admin_subject(account.name))
        )
        response = see_other("/console/")
        door.set_session_cookie(response, session)
        response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
        return response

    async def sign_out() -> Response:
        session, _ = await door.checked_form()
        sessions.close(session.session_id)
        response = see_other("/console/sign-in")
        door.set_session_cookie(response, None)
        return response

    async def home() -> Response:
        session = door.visitor()
        return await door.page("home.html", session, live=node is not None)

    app.add_url_rule("/console/sign-in", "console_sign_in_page", sign_in_page, methods=["GET"])
    app.add_url_rule("/console/sign-in", "console_sign_in", sign_in, methods=["POST"])
    app.add_url_rule("/console/sign-out", "console_sign_out", sign_out, methods=["POST"])
    app.add_url_rule("/console/", "console_home", home, methods=["GET"])
    if admin is not None:
        add_moderation_pages(
            app, door, admin=admin, moderation=moderation, players=players, sanctions=sanctions
        )
        add_replay_pages(app, door, arenas=arenas, admin=admin)
    if rules is not None:
        add_rule_pages(app, door, rules=rules, regions=regions, changing=rules_lock)
    if node is not None:
        add_live_pages(app, door, node)
    app.add_url_rule("/console/static/<name>", "console_static", _static, methods=["GET"])
    app.register_error_handler(Refused, door.refused)


async def _sign_in_form(
    door: ConsoleDoor, *, error: str | None = None, name: str = "", status: int = 200
) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE) or _new_token()
    response = await door.page(
        "sign_in.html", None, status=status, error=error, name=name, form_csrf=token
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=SIGN_IN_FORM_LIFETIME,
        path=COOKIE_PATH,
        httponly=True,
        secure=door.secure_cookie,
        samesite="Strict",
    )
    return response


async def _not_stored(door: ConsoleDoor) -> Response:
    return await door.page(
        "refused.html",
        None,
        status=404,
        message="This server runs without a database: there are no admin accounts.",
    )


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


#: The console's static files and their types (nothing else is served).
STATIC_FILES: Final = {
    "console.css": "text/css",
    "board.js": "text/javascript",
    "live.js": "text/javascript",
    "live_board.js": "text/javascript",
    "replay.js": "text/javascript",
}


async def _static(name: str) -> Response:
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        return TrioResponse("not found", status=404, content_type="text/plain")
    body = (
        importlib.resources.files("tilemud.net.http") / "console" / "static" / name
    ).read_bytes()
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return TrioResponse(body, headers=headers, content_type=content_type)
