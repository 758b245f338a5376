"""The console's moderation pages: find a player, sanction them, the report queue, the
audit log.

Each act goes to the moderation actor exactly as the JSON API's (``Order``,
``decide_report``): the actor checks it, stores it with its audit record in one
transaction and only then applies it. A refusal (``already_banned``, a missing reason ...)
is shown on the page with the status the API would answer, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

import trio
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.datastructures import MultiDict

from tilemud.actors.moderation import (
    ModerationClient,
    ModerationRefused,
    Order,
    Outcome,
    SanctionBook,
)
from tilemud.net.http._console_door import ConsoleDoor, Refused, see_other
from tilemud.net.http._console_sessions import ConsoleSession
from tilemud.storage import AdminStorage, AuditQuery, PlayerStorage, StorageUnavailable

#: Seconds a page waits for the moderation actor or storage.
PAGE_TIMEOUT: Final = 10.0
#: Rows on one page of the audit log, the report queue, a search.
PAGE_ROWS: Final = 50
#: Seconds in each unit a duration may be given in.
UNITS: Final = {"minutes": 60.0, "hours": 3600.0, "days": 86400.0}
#: What the player page offers, and whether each act takes a duration.
ACTS: Final = {"mute": True, "unmute": False, "ban": True, "unban": False, "kick": False}
#: HTTP status of each refusal (as the JSON API answers it).
REFUSAL_STATUS: Final = {
    "bad_request": 400,
    "unknown_player": 404,
    "not_found": 404,
    "unavailable": 503,
}

T = TypeVar("T")


def add_moderation_pages(
    app: QuartTrio,
    door: ConsoleDoor,
    *,
    admin: AdminStorage,
    moderation: ModerationClient | None,
    players: PlayerStorage | None,
    sanctions: SanctionBook | None,
) -> None:
    """Serve the moderation pages (``sanctions``: the mutes and bans in force, read)."""

    async def find_players() -> Response:
        session = door.visitor()
        text = request.args.get("q", "").strip()[:64]
        found: list[Any] = []
        if text and players is not None:
            # Players are remembered behind the play (write-behind): wait for what is queued.
            await within(players.flush())
            found = await within(players.find_players(text, limit=PAGE_ROWS))
        return await door.page("players.html", session, q=text, found=found)

    async def player_page(
        session: ConsoleSession,
        player_id: str,
        *,
        status: int = 200,
        notice: str | None = None,
        error: str | None = None,
    ) -> Response:
        record = None
        if players is not None:
            matches = await within(players.find_players(player_id, limit=1))
            record = next((m for m in matches if m.player_id == player_id), None)
        in_force = []
        if sanctions is not None:
            for kind in ("ban", "mute"):
                found = sanctions.in_force(player_id, kind)
                if found is not None:
                    until = None
                    if found.until is not None:
                        until = dt.datetime.fromtimestamp(found.until, dt.UTC)
                    in_force.append((kind, until, found.reason))
        history: list[Any] = []
        if session.user.role == "admin":
            history = await within(admin.query_audit(AuditQuery(target=player_id, limit=20)))
        return await door.page(
            "player.html",
            session,
            status=status,
            player_id=player_id,
            record=record,
            in_force=in_force,
            history=history,
            acts=ACTS,
            units=UNITS,
            notice=notice,
            error=error,
        )

    async def show_player(player_id: str) -> Response:
        return await player_page(door.visitor(), player_id)

    async def act(player_id: str, action: str) -> Response:
        session, form = await door.checked_form()
        if action not in ACTS or moderation is None:
            raise Refused(404, "no such act")
        try:
            order = Order(
                action=action,  # type: ignore[arg-type]
                player_id=player_id,
                actor=session.user.subject,
                reason=form.get("reason", ""),
                duration=_duration(form) if ACTS[action] else None,
            )
            outcome = await within(moderation.moderate(order))
        except ModerationRefused as refused:
            return await player_page(
                session,
                player_id,
                status=REFUSAL_STATUS.get(refused.code or "", 409),
                error=f"{refused.code}: {refused.message}",
            )
        return await player_page(session, player_id, notice=_told(outcome))

    async def reports() -> Response:
        session = door.visitor()
        state = request.args.get("state", "open")
        if state not in ("open", "dismissed", "actioned", "all"):
            state = "open"
        offset = whole_number(request.args.get("offset"), 0)
        found = await within(
            admin.list_reports(
                state=None if state == "all" else state,  # type: ignore[arg-type]
                limit=PAGE_ROWS + 1,
                offset=offset,
            )
        )
        return await door.page(
            "reports.html",
            session,
            state=state,
            reports=found[:PAGE_ROWS],
            offset=offset,
            more=len(found) > PAGE_ROWS,
            page_rows=PAGE_ROWS,
            units=UNITS,
            notice=request.args.get("done"),
        )

    async def decide(report_id: str, decision: str) -> Response:
        session, form = await door.checked_form()
        if moderation is None or decision not in ("act", "dismiss"):
            raise Refused(404, "a report is acted on (act) or dismissed (dismiss)")
        action = form.get("action", "") if decision == "act" else "dismiss"
        if action not in ("dismiss", "mute", "ban", "kick"):
            raise Refused(400, "a report is dismissed, or acted on with mute, ban or kick")
        try:
            outcome = await within(
                moderation.decide_report(
                    report_id,
                    decision=action,  # type: ignore[arg-type]
                    actor=session.user.subject,
                    reason=form.get("reason", ""),
                    duration=_duration(form) if action in ("mute", "ban") else None,
                )
            )
        except ModerationRefused as refused:
            raise Refused(
                REFUSAL_STATUS.get(refused.code or "", 409), f"{refused.code}: {refused.message}"
            ) from None
        done = "dismissed" if action == "dismiss" else _told(outcome)
        return see_other("/console/reports?" + urlencode({"done": done}))

    async def audit() -> Response:
        session = door.visitor("admin")
        args = request.args
        filters = {k: args.get(k, "").strip() for k in ("actor", "target", "action")}
        since, until = moment(args.get("since")), moment(args.get("until"))
        before = whole_number(args.get("before"), None)
        query = AuditQuery(
            actor=filters["actor"] or None,
            target=filters["target"] or None,
            action=filters["action"] or None,
            since=since,
            until=until,
            before_id=before,
            limit=PAGE_ROWS,
        )
        records = await within(admin.query_audit(query))
        following = records[-1].audit_id if len(records) == PAGE_ROWS else None
        shown = {**filters, "since": args.get("since", ""), "until": args.get("until", "")}
        next_page = None
        if following is not None:
            next_page = "/console/audit?" + _query({**shown, "before": str(following)})
        return await door.page(
            "audit.html", session, records=records, filters=shown, next_page=next_page
        )

    app.add_url_rule("/console/players", "console_players", find_players, methods=["GET"])
    app.add_url_rule("/console/players/<player_id>", "console_player", show_player, methods=["GET"])
    app.add_url_rule("/console/players/<player_id>/<action>", "console_act", act, methods=["POST"])
    app.add_url_rule("/console/reports", "console_reports", reports, methods=["GET"])
    app.add_url_rule(
        "/console/reports/<report_id>/<decision>",
        "console_decide",
        decide,
        methods=["POST"],
    )
    app.add_url_rule("/console/audit", "console_audit", audit, methods=["GET"])


async def within(pending: Awaitable[T]) -> T:
    """``pending``, bounded; storage trouble becomes a 503 page."""
    try:
        with trio.fail_after(PAGE_TIMEOUT):
            return await pending
    except (StorageUnavailable, trio.TooSlowError) as exc:
        raise Refused(503, "the database cannot be reached: try again later") from exc


def _duration(form: MultiDict) -> float | None:  # type: ignore[type-arg]
    """Seconds from the form's ``duration`` and ``unit``; None when no duration is given."""
    raw = form.get("duration", "").strip()
    if not raw:
        return None
    unit = UNITS.get(form.get("unit", "minutes"))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if unit is None or not value > 0:
        return -1.0  # refused by the order's own check, with its message
    return min(value * unit, 1e12)


def _told(outcome: Outcome) -> str:
    text = f"{outcome.action}: done for {outcome.player_id}"
    if outcome.until is not None:
        until = dt.datetime.fromtimestamp(outcome.until, dt.UTC)
        text += f" until {until:%Y-%m-%d %H:%M:%S} UTC"
    elif outcome.action == "ban":
        text += " (permanent)"
    if outcome.disconnected:
        text += "; their connection was closed"
    return text


def whole_number(raw: str | None, default: int | None) -> Any:
    """A query argument as a whole number, or ``default`` when absent or not one."""
    if raw is None or not raw.isdigit() or len(raw) > 10:
        return default
    return int(raw)


def moment(raw: str | None) -> dt.datetime | None:
    """A time from a ``datetime-local`` field (UTC) or ISO 8601 with its zone."""
    if not raw:
        return None
    try:
        at = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Refused(400, f"not a time: {raw[:40]!r} (use YYYY-MM-DDTHH:MM, UTC)") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _query(values: dict[str, str]) -> str:
    return urlencode({k: v for k, v in values.items() if v})
