"""The console's door: who is signed in, CSRF checks, and how a page is answered.

Every console page goes through :class:`ConsoleDoor`:

- :meth:`ConsoleDoor.visitor` reads the ``tilemud_console`` cookie, and only it: an
  ``Authorization`` header (a player's, a guest's, even an admin's Bearer token) opens no
  page. A ``GET`` without a live session is sent to the sign-in page (303); anything else
  is answered 403.
- Every ``POST`` carries the session's CSRF token in its ``csrf`` field
  (:meth:`ConsoleDoor.checked_form`); missing, wrong or another session's: 403, and
  nothing is done.
- A page needing the ``admin`` role answers a moderator 403 (and the moderator's pages
  do not link to it).

Pages are Jinja templates (``tilemud/net/http/console/``, autoescaped) answered with
headers that keep them out of caches and frames and allow scripts from this origin only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from quart import Response, render_template, request
from quart_trio.wrappers import TrioResponse
from werkzeug.datastructures import MultiDict

from tilemud.auth import has_role
from tilemud.net.http._console_sessions import (
    COOKIE_PATH,
    SESSION_COOKIE,
    ConsoleSession,
    ConsoleSessions,
)

#: Headers of every console answer.
PAGE_HEADERS: Final[Mapping[str, str]] = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class Refused(Exception):
    """A console request turned away: answered with ``status`` and a short page."""

    def __init__(self, status: int, message: str, *, sign_in: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        #: Send the browser to the sign-in page instead (a GET without a session).
        self.sign_in = sign_in


class ConsoleDoor:
    """Sessions, roles and CSRF for the console's pages.

    Args:
        sessions: the node's console sessions.
        secure_cookie: mark the session cookie ``Secure`` (TLS is on).
    """

    def __init__(self, sessions: ConsoleSessions, *, secure_cookie: bool) -> None:
        self.sessions = sessions
        self.secure_cookie = secure_cookie

    def visitor(self, role: str = "moderator") -> ConsoleSession:
        """The signed-in session of this request, holding ``role``.

        Raises:
            Refused: no live session (303 to the sign-in page for a GET, else 403), or
                the session's account lacks ``role`` (403).
        """
        session = self.sessions.find(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise Refused(403, "sign in first", sign_in=request.method in ("GET", "HEAD"))
        if not has_role((session.user.role,), role):
            raise Refused(403, f"this page needs the {role} role")
        return session

    async def checked_form(self, role: str = "moderator") -> tuple[ConsoleSession, MultiDict]:  # type: ignore[type-arg]
        """The session and the posted form, once its CSRF token matched.

        Raises:
            Refused: as :meth:`visitor`, or 403 when the CSRF token is missing or wrong.
        """
        session = self.visitor(role)
        form = await request.form
        if not session.csrf_matches(form.get("csrf")):
            raise Refused(403, "the form's CSRF token is missing or wrong: reload the page")
        return session, form

    async def page(
        self,
        template: str,
        session: ConsoleSession | None,
        *,
        status: int = 200,
        **context: Any,
    ) -> Response:
        """Render ``template`` for ``session`` (None: the sign-in page)."""
        body = await render_template(
            template,
            user=None if session is None else session.user,
            csrf=None if session is None else session.csrf,
            is_admin=session is not None and has_role((session.user.role,), "admin"),
            **context,
        )
        return TrioResponse(
            body, status=status, headers=dict(PAGE_HEADERS), content_type="text/html"
        )

    def set_session_cookie(self, response: Response, session: ConsoleSession | None) -> None:
        """Give the browser the session's cookie (None: delete it)."""
        if session is None:
            response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
            return
        response.set_cookie(
            SESSION_COOKIE,
            session.session_id,
            path=COOKIE_PATH,
            httponly=True,
            secure=self.secure_cookie,
            samesite="Strict",
        )

    async def refused(self, refusal: Refused) -> Response:
        """The answer to a :class:`Refused`."""
        if refusal.sign_in:
            return see_other("/console/sign-in")
        session = self.sessions.find(request.cookies.get(SESSION_COOKIE))
        return await self.page(
            "refused.html", session, status=refusal.status, message=refusal.message
        )


def see_other(location: str) -> Response:
    """A 303 to ``location`` (after a form, or to the sign-in page)."""
    response = TrioResponse("", status=303, headers=dict(PAGE_HEADERS))
    response.headers["Location"] = location
    return response
