"""Where sanctions meet players: the ``hello`` admission (bans), the chat gate (mutes),
and the players' ``report`` route. Each runs in a session's (or the gateway's) task and
reads the moderation actor's :class:`SanctionBook` without a hop.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

import trio

from tilemud.actors.moderation._book import Sanction, SanctionBook
from tilemud.actors.session import Presence, Refused, RequestRoute, Session, answer_within
from tilemud.cluster.ratelimit import RateLimiter
from tilemud.protocol import (
    ChatSend,
    ClientMessage,
    DmSend,
    ErrorCode,
    ErrorFrame,
    Report,
    ReportResult,
    encode_server,
)
from tilemud.social.chat_text import MessageRefused, clean_message
from tilemud.storage import AdminStorage, ReportRecord

#: Seconds storage gets to answer a report.
REPORT_TIMEOUT = 5.0


def _until_text(sanction: Sanction) -> str:
    if sanction.until is None:
        return "permanently"
    at = dt.datetime.fromtimestamp(sanction.until, dt.UTC).isoformat(timespec="seconds")
    return f"until {at}"


def farewell(sanction: Sanction) -> str:
    """The ``error`` frame a live connection reads just before a ban closes it (4010):
    ``banned``, with ``until`` (absent for a permanent ban) and the reason."""
    return encode_server(
        ErrorFrame(
            code=ErrorCode.BANNED,
            message=f"banned {_until_text(sanction)}: {sanction.reason}",
            until=sanction.until,
        )
    )


def kick_farewell(reason: str) -> str:
    """The ``error`` frame a live connection reads just before a kick closes it (4011)."""
    return encode_server(ErrorFrame(code=ErrorCode.KICKED, message=f"kicked: {reason}"))


class BanAdmission:
    """The gateway's question after each ``hello``: is this player banned?"""

    def __init__(self, book: SanctionBook) -> None:
        self._book = book

    def refusal(self, player_id: str) -> Refused | None:
        """``banned`` with ``until`` and the moderator's reason, or None."""
        ban = self._book.in_force(player_id, "ban")
        if ban is None:
            return None
        return Refused(
            ErrorCode.BANNED, f"banned {_until_text(ban)}: {ban.reason}", until=ban.until
        )


class _Unlimited:
    async def acquire(self, key: str, *, at: float | None = None) -> float | None:
        return None


class MuteGate:
    """The chat route, with ``chat_send`` and ``dm_send`` refused (``muted``) while the
    player is muted; every other chat request passes through untouched.

    The refusal goes through ``run_critical``, so a repeat of a rid answered before the
    mute still gets its first answer; it carries ``retry_after`` (a passing refusal: the
    same rid may succeed once the mute ends) and ``until``.

    Args:
        chat: the chat route it guards.
        book: the sanctions in force.
    """

    def __init__(self, chat: RequestRoute, book: SanctionBook) -> None:
        self._chat = chat
        self._book = book
        self._no_limit = _Unlimited()

    @property
    def kinds(self) -> tuple[type[ClientMessage], ...]:
        """The chat route's requests."""
        return self._chat.kinds

    async def handle(self, session: Session, message: Any) -> str | None:
        """Refuse a muted player's message, or hand the request to chat."""
        if isinstance(message, ChatSend | DmSend):
            mute = self._book.in_force(session.player_id, "mute")
            if mute is not None:
                refused = Refused(
                    ErrorCode.MUTED,
                    f"muted {_until_text(mute)}: {mute.reason}",
                    retry_after=max(0.001, round(mute.seconds_left(trio.current_time()) or 0.0, 3)),
                    until=mute.until,
                )

                async def refuse() -> str:
                    raise refused

                return await session.run_critical(
                    message.rid, refuse, limiter=self._no_limit, limited=""
                )
        return await self._chat.handle(session, message)


class ReportRequests:
    """The sessions' ``report`` route (critical tier, rate limited per player).

    Args:
        storage: where reports wait for moderators; None refuses every report
            (``forbidden``: this server keeps none).
        presence: who is online (a report of an online player needs no storage read).
        limiter: ``limits.reports`` per ``limits.reports_window``.
        max_chars: the longest reason, after trimming (``social.message_max_chars``).
        clock: the wall clock reports are stamped with.
    """

    def __init__(
        self,
        *,
        storage: AdminStorage | None,
        presence: Presence,
        limiter: RateLimiter,
        max_chars: int,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._storage = storage
        self._presence = presence
        self._limiter = limiter
        self._max_chars = max_chars
        self._clock = clock

    @property
    def kinds(self) -> tuple[type[ClientMessage], ...]:
        """``report``."""
        return (Report,)

    async def handle(self, session: Session, message: Report) -> str | None:
        """Store the report and answer ``report_result``."""
        return await session.run_critical(
            message.rid,
            lambda: self._report(session.player_id, message),
            limiter=self._limiter,
            limited="too many reports; wait before the next one",
        )

    async def _report(self, reporter_id: str, message: Report) -> str:
        storage = self._storage
        if storage is None:
            raise Refused(ErrorCode.FORBIDDEN, "this server keeps no reports")
        if message.player_id == reporter_id:
            raise Refused(ErrorCode.INVALID_TARGET, "you cannot report yourself")
        try:
            reason = clean_message(message.reason, max_chars=self._max_chars)
        except MessageRefused as exc:
            raise Refused(exc.code, exc.message) from exc
        if self._presence.find(message.player_id) is None:
            known = await answer_within(
                storage.player_exists(message.player_id), seconds=REPORT_TIMEOUT, what="storage"
            )
            if not known:
                raise Refused(
                    ErrorCode.UNKNOWN_PLAYER, f"player {message.player_id!r} never played here"
                )
        report = ReportRecord(
            report_id="r_" + secrets.token_urlsafe(12),
            reporter_id=reporter_id,
            target_id=message.player_id,
            reason=reason,
            created=self._clock(),
        )
        await answer_within(storage.add_report(report), seconds=REPORT_TIMEOUT, what="storage")
        return encode_server(ReportResult(rid=message.rid, report_id=report.report_id))
