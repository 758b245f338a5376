"""The admin API under ``/v1/admin/``: sign-in, moderation, the report queue, the audit log.

docs/console.md describes it; ``_admin_openapi`` documents every route. Who may call what
is :mod:`tilemud.net.http._admin_access`' business. Every act is audited by the
moderation actor and storage in the transaction that stores it; a sign-in is audited
whether the password matched (``sign_in``) or not (``sign_in_failed``: the name tried and
the client's address, never the password). Nothing here updates or deletes an audit
record. Rule configs and replays: ``_admin_rules`` and ``_admin_replays``.

Without a database (``database.durable`` off) there are no admin accounts, sanctions or
reports to keep: every admin route answers 404 ``admin_not_stored`` (after the checks of
the caller's token).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import trio
from quart import Response, request
from quart_trio import QuartTrio

from tilemud.actors.moderation import ModerationClient, ModerationRefused, Order, Outcome
from tilemud.auth import TokenAuthority, admin_subject
from tilemud.errors import ActorGone
from tilemud.net.http._addresses import address_key
from tilemud.net.http._admin_access import claims_with_role, json_object
from tilemud.net.http._admin_sign_in import SignInDesk, SignInRefused
from tilemud.net.http._responses import error_response, json_response, retry_later_response
from tilemud.storage import (
    AdminStorage,
    AuditQuery,
    AuditRecord,
    ReportRecord,
    StorageUnavailable,
)

#: Seconds an admin request waits for the moderation actor or storage.
ADMIN_TIMEOUT: Final = 10.0
#: Most records one page of the audit log or the report queue holds.
MAX_PAGE: Final = 200

# HTTP status of each moderation refusal.
_REFUSAL_STATUS: Final = {
    "bad_request": 400,
    "unknown_player": 404,
    "not_found": 404,
    "already_muted": 409,
    "not_muted": 409,
    "already_banned": 409,
    "not_banned": 409,
    "player_offline": 409,
    "already_decided": 409,
}

_log = logging.getLogger("tilemud.http")

_NUMBER = (int, float)


def add_admin_routes(
    app: QuartTrio,
    *,
    tokens: TokenAuthority,
    storage: AdminStorage | None,
    moderation: ModerationClient | None,
    desk: SignInDesk | None,
) -> None:
    """Serve the admin API on ``app`` (see the module docstring); ``desk`` checks
    sign-ins (None without a database), the same desk as the console's."""

    async def sign_in() -> Response:
        address = address_key(request.scope.get("client"))
        try:
            if desk is not None:
                await desk.admit(address)
            body = await json_object({"name": str, "password": str})
            if desk is None:
                return _not_stored()
            account = await desk.check(body["name"], body["password"], address=address, door="api")
        except SignInRefused as refused:
            if refused.retry_after is not None:
                return retry_later_response(
                    refused.code, refused.message, retry_after=refused.retry_after, status=429
                )
            return error_response(401, refused.code, refused.message)
        now = time.time()
        subject = admin_subject(account.name)
        token = tokens.mint_access(
            player_id=subject, name=account.name, roles=(account.role,), now=now
        )
        body = {
            "token": token,
            "token_type": "Bearer",
            "name": account.name,
            "role": account.role,
            "expires_at": int(tokens.verify_access(token, now=now).expires_at),
        }
        return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def moderate(action: str) -> Callable[[str], Awaitable[Response]]:
        timed = action in ("mute", "ban")

        async def act(player_id: str) -> Response:
            claims = claims_with_role(tokens, "moderator")
            optional = {"duration_s": _NUMBER} if timed else {}
            body = await json_object({"reason": str}, optional)
            if storage is None or moderation is None:
                return _not_stored()
            order = Order(
                action=action,  # type: ignore[arg-type]
                player_id=player_id,
                actor=claims.player_id,
                reason=body["reason"],
                duration=_duration(body.get("duration_s")),
            )
            return await _outcome(moderation.moderate(order))

        act.__name__ = f"admin_{action}"
        return act

    async def list_reports() -> Response:
        claims_with_role(tokens, "moderator")
        state = request.args.get("state", "open")
        if state not in ("open", "dismissed", "actioned", "all"):
            return error_response(400, "bad_request", "state is open, dismissed, actioned or all")
        limit, offset = _int_arg("limit", 50, 1, MAX_PAGE), _int_arg("offset", 0, 0, 10**9)
        if storage is None:
            return _not_stored()
        found = await _within(
            storage.list_reports(
                state=None if state == "all" else state,  # type: ignore[arg-type]
                limit=limit,
                offset=offset,
            )
        )
        return json_response({"reports": [_report(r) for r in found]}, headers=_NO_STORE)

    async def dismiss_report(report_id: str) -> Response:
        claims = claims_with_role(tokens, "moderator")
        body = await json_object({"reason": str})
        if storage is None or moderation is None:
            return _not_stored()
        return await _outcome(
            moderation.decide_report(
                report_id, decision="dismiss", actor=claims.player_id, reason=body["reason"]
            )
        )

    async def act_on_report(report_id: str) -> Response:
        claims = claims_with_role(tokens, "moderator")
        body = await json_object({"action": str, "reason": str}, {"duration_s": _NUMBER})
        if body["action"] not in ("mute", "ban", "kick"):
            return error_response(400, "bad_request", "action is mute, ban or kick")
        if storage is None or moderation is None:
            return _not_stored()
        return await _outcome(
            moderation.decide_report(
                report_id,
                decision=body["action"],
                actor=claims.player_id,
                reason=body["reason"],
                duration=_duration(body.get("duration_s")),
            )
        )

    async def read_audit() -> Response:
        claims_with_role(tokens, "admin")
        args = request.args
        query = AuditQuery(
            actor=args.get("actor"),
            target=args.get("target"),
            action=args.get("action"),
            since=_time_arg("since"),
            until=_time_arg("until"),
            before_id=_int_arg("before", None, 1, 2**31),
            limit=_int_arg("limit", 50, 1, MAX_PAGE),
        )
        if storage is None:
            return _not_stored()
        records = await _within(storage.query_audit(query))
        following = records[-1].audit_id if len(records) == query.limit else None
        body = {"records": [_audit(r) for r in records], "next_before": following}
        return json_response(body, headers=_NO_STORE)

    app.add_url_rule("/v1/admin/sign-in", "admin_sign_in", sign_in, methods=["POST"])
    for action in ("mute", "unmute", "ban", "unban", "kick"):
        app.add_url_rule(
            f"/v1/admin/players/<player_id>/{action}",
            f"admin_{action}",
            moderate(action),
            methods=["POST"],
        )
    app.add_url_rule("/v1/admin/reports", "admin_reports", list_reports, methods=["GET"])
    app.add_url_rule(
        "/v1/admin/reports/<report_id>/dismiss",
        "admin_report_dismiss",
        dismiss_report,
        methods=["POST"],
    )
    app.add_url_rule(
        "/v1/admin/reports/<report_id>/act", "admin_report_act", act_on_report, methods=["POST"]
    )
    app.add_url_rule("/v1/admin/audit", "admin_audit", read_audit, methods=["GET"])


_NO_STORE: Final = {"Cache-Control": "no-store"}


class _BadArgument(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _within(pending: Awaitable[Any]) -> Any:
    with trio.fail_after(ADMIN_TIMEOUT):
        return await pending


async def _outcome(pending: Awaitable[Outcome]) -> Response:
    try:
        outcome = await _within(pending)
    except ModerationRefused as refused:
        if refused.code == "unavailable":
            return _unavailable(refused)
        return error_response(_REFUSAL_STATUS.get(refused.code, 409), refused.code, refused.message)
    body = {
        "action": outcome.action,
        "player_id": outcome.player_id,
        "until": outcome.until,
        "disconnected": outcome.disconnected,
    }
    return json_response(body, headers=_NO_STORE)


def _unavailable(refused: ModerationRefused | None = None) -> Response:
    if refused is not None and refused.retry_after is not None:
        # The cluster (Redis) is unreachable: told with the cluster's retry_after.
        return retry_later_response("unavailable", refused.message, retry_after=refused.retry_after)
    return retry_later_response(
        "unavailable", "the moderation store cannot be reached; try again later", retry_after=1.0
    )


def _not_stored() -> Response:
    return error_response(
        404, "admin_not_stored", "this server runs without a database: no admin console"
    )


def _duration(value: float | None) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value):
        return -1.0  # refused by the order's own check
    return float(value)


def _int_arg(name: str, default: int | None, low: int, high: int) -> Any:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _BadArgument(f"{name} must be a whole number in [{low}, {high}]")
    return int(raw)


def _time_arg(name: str) -> dt.datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        at = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise _BadArgument(f"{name} must be an ISO 8601 time with its zone") from exc
    if at.tzinfo is None:
        raise _BadArgument(f"{name} must be an ISO 8601 time with its zone")
    return at


async def bad_argument(error: _BadArgument) -> Response:
    """400 ``bad_request`` for a query argument out of shape."""
    return error_response(400, "bad_request", error.message)


async def storage_unavailable(
    error: StorageUnavailable | ActorGone | trio.TooSlowError,
) -> Response:
    """503 ``unavailable``: storage or the moderation actor did not answer."""
    _log.warning("admin request failed: %s", error)
    return _unavailable()


BAD_ARGUMENT = _BadArgument


def _report(record: ReportRecord) -> dict[str, Any]:
    return {
        "report_id": record.report_id,
        "reporter_id": record.reporter_id,
        "player_id": record.target_id,
        "reason": record.reason,
        "created": record.created.isoformat(),
        "state": record.state,
        "decided_by": record.decided_by,
        "decided_at": None if record.decided_at is None else record.decided_at.isoformat(),
        "decision": record.decision,
    }


def _audit(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.audit_id,
        "at": record.at.isoformat(),
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "reason": record.reason,
        "detail": None if record.detail is None else dict(record.detail),
    }
