"""The console's browser sessions: who signed in, their CSRF token, and when it ends.

A session lives on this node only, in memory: a restart signs everybody out (the console
is for a handful of operators; the JSON API's Bearer tokens are what scripts use). The
browser holds a random id in the ``tilemud_console`` cookie (``HttpOnly``,
``SameSite=Strict``, ``Secure`` when TLS is on, ``Path=/console``); the server maps it to
the account, its role and a per-session CSRF token that every form posts back.

The sign-in form has no session yet: its CSRF token rides in a short-lived cookie of its
own (``tilemud_console_signin``, double submit) so that another site cannot sign a
browser in to an account of its choosing.

Time is Trio time (``clock``), so tests move it with the autojump or a fake clock.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Final

import attrs
import trio

#: The session cookie's name.
SESSION_COOKIE: Final = "tilemud_console"
#: The sign-in form's CSRF cookie.
SIGN_IN_COOKIE: Final = "tilemud_console_signin"
#: The path both cookies are sent to.
COOKIE_PATH: Final = "/console"
#: How long a session lasts from its sign-in, in seconds (no sliding renewal).
SESSION_LIFETIME: Final = 8 * 3600.0
#: Most sessions held at once; the oldest is signed out to make room.
MAX_SESSIONS: Final = 1000


@attrs.frozen(kw_only=True)
class ConsoleUser:
    """Who a session belongs to.

    Attributes:
        name: the admin account's name.
        role: ``moderator`` or ``admin``.
        subject: the audit actor, ``admin:<name>``.
    """

    name: str
    role: str
    subject: str


@attrs.frozen(kw_only=True)
class ConsoleSession:
    """A signed-in browser.

    Attributes:
        session_id: the cookie's value.
        user: who signed in.
        csrf: the token every form of this session must post back.
        expires_at: Trio time at which it ends.
    """

    session_id: str
    user: ConsoleUser
    csrf: str
    expires_at: float

    def csrf_matches(self, candidate: str | None) -> bool:
        """Whether ``candidate`` is this session's CSRF token (constant time)."""
        return candidate is not None and hmac.compare_digest(candidate.encode(), self.csrf.encode())


class ConsoleSessions:
    """The node's console sessions by id (used from the HTTP handlers' tasks only)."""

    def __init__(
        self,
        *,
        lifetime: float = SESSION_LIFETIME,
        limit: int = MAX_SESSIONS,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._lifetime = lifetime
        self._limit = limit
        self._clock = clock
        self._sessions: dict[str, ConsoleSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, user: ConsoleUser) -> ConsoleSession:
        """Sign ``user`` in: a fresh session with a fresh CSRF token."""
        while len(self._sessions) >= self._limit:
            del self._sessions[next(iter(self._sessions))]
        session = ConsoleSession(
            session_id=secrets.token_urlsafe(32),
            user=user,
            csrf=secrets.token_urlsafe(32),
            expires_at=self._clock() + self._lifetime,
        )
        self._sessions[session.session_id] = session
        return session

    def find(self, session_id: str | None) -> ConsoleSession | None:
        """The live session with that id, or None (unknown, signed out or expired)."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if self._clock() >= session.expires_at:
            del self._sessions[session_id]
            return None
        return session

    def close(self, session_id: str) -> None:
        """Sign a session out; its cookie is worthless from now on."""
        self._sessions.pop(session_id, None)
