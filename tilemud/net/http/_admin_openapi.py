"""The OpenAPI description of the admin API (``/v1/admin/``), merged into the document by
``_openapi``; written next to the routes of ``_admin``."""

from __future__ import annotations

from typing import Any, Final

_JSON: Final = "application/json"

#: ``error.code`` values only the admin API answers with.
ADMIN_ERROR_CODES: Final = (
    "bad_credentials",
    "admin_not_stored",
    "unknown_player",
    "already_muted",
    "not_muted",
    "already_banned",
    "not_banned",
    "player_offline",
    "already_decided",
    "banned",
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": _ref(schema)}}}


def _error(description: str) -> dict[str, Any]:
    return _ok(description, "Error")


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": _ref(schema)}}}


_UNAUTHORIZED: Final = _error(
    "`missing_token`, `invalid_token` or `token_expired` (with a `WWW-Authenticate: Bearer` "
    "challenge)."
)
_COMMON: Final = {
    "404": _error("`admin_not_stored`: this server runs without a database."),
    "503": _error("`unavailable`: storage or the moderation actor did not answer; retry."),
    "default": _error("Unexpected error."),
}


def _secured(role: str, operation: dict[str, Any], **errors: dict[str, Any]) -> dict[str, Any]:
    responses = {
        "401": _UNAUTHORIZED,
        "403": _error(f"`forbidden`: the token has no `{role}` role (a guest's, a player's)."),
        **_COMMON,
        **errors,
        **operation.pop("responses"),
    }
    return {
        **operation,
        "tags": ["admin"],
        "security": [{"adminToken": []}],
        "responses": dict(sorted(responses.items())),
    }


def _player_parameter() -> dict[str, Any]:
    return {
        "name": "player_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
        "description": "The player's id (`welcome.player_id`).",
    }


def _report_parameter() -> dict[str, Any]:
    return {
        "name": "report_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    }


_BODY_ERRORS: Final = {
    "400": _error("`bad_json`, `bad_request` (wrong shape, no reason, bad `duration_s`)."),
    "415": _error("`unsupported_media_type`: send `application/json`."),
}

_MODERATION: Final = {
    "mute": (
        "TimedOrder",
        "Mute a player for `duration_s` seconds: their `chat_send` and `dm_send` are refused "
        "with `muted` (and `until`) at once on this node.",
        {"409": _error("`already_muted`: unmute first.")},
    ),
    "unmute": ("LiftOrder", "Lift a player's mute.", {"409": _error("`not_muted`.")}),
    "ban": (
        "BanOrder",
        "Ban a player for `duration_s` seconds, or for good without it: their `hello` is "
        "refused (close 4010 `banned`) and their live connection closed with 4010.",
        {"409": _error("`already_banned`: unban first.")},
    ),
    "unban": ("LiftOrder", "Lift a player's ban.", {"409": _error("`not_banned`.")}),
    "kick": (
        "LiftOrder",
        "Close a player's live connection (close 4011 `kicked`); no ban.",
        {"409": _error("`player_offline`: they have no session on this node.")},
    ),
}


def admin_paths() -> dict[str, Any]:
    """Every ``/v1/admin/`` path, fresh."""
    paths: dict[str, Any] = {
        "/v1/admin/sign-in": {
            "post": {
                "operationId": "adminSignIn",
                "summary": "Exchange an admin account's name and password for an admin token.",
                "description": (
                    "Accounts are made with `tilemud admin add NAME --role admin|moderator`. "
                    "The token is an access token whose `roles` hold the account's role and "
                    "whose subject is `admin:<name>`. Every sign-in is audited (`sign_in`, "
                    "or `sign_in_failed` without the password). Attempts per client address "
                    "are limited by `limits.admin_sign_ins` per `admin_sign_ins_window`."
                ),
                "tags": ["admin"],
                "requestBody": _body("SignInRequest"),
                "responses": {
                    "200": _ok("A token for the admin API.", "SignInResponse"),
                    **_BODY_ERRORS,
                    "401": _error("`bad_credentials`: wrong name or password."),
                    "429": _error("`rate_limited`: too many attempts; see `retry_after`."),
                    **_COMMON,
                },
            }
        },
        "/v1/admin/reports": {
            "get": _secured(
                "moderator",
                {
                    "operationId": "adminListReports",
                    "summary": "The report queue, oldest first.",
                    "parameters": [
                        {
                            "name": "state",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["open", "dismissed", "actioned", "all"],
                                "default": "open",
                            },
                        },
                        _page_parameter("limit", 50, 1, 200),
                        _page_parameter("offset", 0, 0, 10**9),
                    ],
                    "responses": {
                        "200": _ok("One page of reports.", "ReportPage"),
                        "400": _error("`bad_request`: an argument out of shape."),
                    },
                },
            )
        },
        "/v1/admin/audit": {
            "get": _secured(
                "admin",
                {
                    "operationId": "adminReadAudit",
                    "summary": "The audit log, newest first, filtered and paged.",
                    "description": (
                        "Every filter given must match. Page with `before`: the previous "
                        "page's `next_before` (null on the last page). The log is "
                        "append-only: no route changes or deletes a record."
                    ),
                    "parameters": [
                        _text_parameter("actor", "Who acted, e.g. `admin:alice`."),
                        _text_parameter("target", "Whom or what, e.g. a player or report id."),
                        _text_parameter("action", "e.g. `ban`, `sign_in`, `report_dismissed`."),
                        _time_parameter("since", "At or after this time."),
                        _time_parameter("until", "Before this time."),
                        _page_parameter("before", None, 1, 2**31),
                        _page_parameter("limit", 50, 1, 200),
                    ],
                    "responses": {
                        "200": _ok("One page of the audit log.", "AuditPage"),
                        "400": _error("`bad_request`: an argument out of shape."),
                    },
                },
            )
        },
        "/v1/admin/reports/{report_id}/dismiss": {
            "post": _secured(
                "moderator",
                {
                    "operationId": "adminDismissReport",
                    "summary": "Dismiss an open report (audited `report_dismissed`).",
                    "parameters": [_report_parameter()],
                    "requestBody": _body("LiftOrder"),
                    "responses": {
                        "200": _ok("Dismissed.", "ModerationOutcome"),
                        **_BODY_ERRORS,
                        "404": _error("`not_found`: no such report; `admin_not_stored`."),
                        "409": _error("`already_decided`."),
                    },
                },
            )
        },
        "/v1/admin/reports/{report_id}/act": {
            "post": _secured(
                "moderator",
                {
                    "operationId": "adminActOnReport",
                    "summary": "Mute, ban or kick a report's target, closing the report.",
                    "description": (
                        "The report's decision, the sanction and their audit records "
                        "(`report_actioned`, then the sanction's) are one transaction."
                    ),
                    "parameters": [_report_parameter()],
                    "requestBody": _body("ReportAction"),
                    "responses": {
                        "200": _ok("Done.", "ModerationOutcome"),
                        **_BODY_ERRORS,
                        "404": _error("`not_found`: no such report; `admin_not_stored`."),
                        "409": _error("`already_decided`, `already_muted`, `already_banned`."),
                    },
                },
            )
        },
    }
    for action, (schema, summary, errors) in _MODERATION.items():
        paths[f"/v1/admin/players/{{player_id}}/{action}"] = {
            "post": _secured(
                "moderator",
                {
                    "operationId": f"admin{action.capitalize()}",
                    "summary": summary,
                    "description": (
                        "Audited in the same transaction that stores it; effective at once "
                        "on this node."
                    ),
                    "parameters": [_player_parameter()],
                    "requestBody": _body(schema),
                    "responses": {
                        "200": _ok("Done.", "ModerationOutcome"),
                        **_BODY_ERRORS,
                        "404": _error("`unknown_player`: never played here; `admin_not_stored`."),
                        **errors,
                    },
                },
            )
        }
    return paths


def _page_parameter(name: str, default: int | None, low: int, high: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
    if default is not None:
        schema["default"] = default
    return {"name": name, "in": "query", "schema": schema}


def _text_parameter(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "string"}, "description": description}


def _time_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "schema": {"type": "string", "format": "date-time"},
        "description": description + " ISO 8601 with its zone.",
    }


_REASON: Final = {
    "type": "string",
    "minLength": 1,
    "maxLength": 500,
    "description": "Why (required; shown to the player with a mute or ban).",
}
_DURATION: Final = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": 315360000,
    "description": "Seconds it lasts.",
}


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def admin_schemas() -> dict[str, Any]:
    """The admin API's component schemas, fresh."""
    return {
        "SignInRequest": _object(
            ["name", "password"], {"name": {"type": "string"}, "password": {"type": "string"}}
        ),
        "SignInResponse": _object(
            ["token", "token_type", "name", "role", "expires_at"],
            {
                "token": {"type": "string"},
                "token_type": {"type": "string", "const": "Bearer"},
                "name": {"type": "string"},
                "role": {"type": "string", "enum": ["admin", "moderator"]},
                "expires_at": {"type": "integer"},
            },
        ),
        "TimedOrder": _object(
            ["reason", "duration_s"], {"reason": _REASON, "duration_s": _DURATION}
        ),
        "BanOrder": _object(
            ["reason"],
            {
                "reason": _REASON,
                "duration_s": {
                    **_DURATION,
                    "type": ["number", "null"],
                    "description": "Seconds it lasts; absent or null: permanent.",
                },
            },
        ),
        "LiftOrder": _object(["reason"], {"reason": _REASON}),
        "ReportAction": _object(
            ["action", "reason"],
            {
                "action": {"type": "string", "enum": ["mute", "ban", "kick"]},
                "reason": _REASON,
                "duration_s": {**_DURATION, "type": ["number", "null"]},
            },
        ),
        "ModerationOutcome": _object(
            ["action", "player_id", "until", "disconnected"],
            {
                "action": {"type": "string"},
                "player_id": {"type": "string"},
                "until": {
                    "type": ["number", "null"],
                    "description": "When the mute or ban ends, seconds since the Unix epoch.",
                },
                "disconnected": {
                    "type": "boolean",
                    "description": "Whether a live connection of the player was closed.",
                },
            },
        ),
        "Report": _object(
            ["report_id", "reporter_id", "player_id", "reason", "created", "state"],
            {
                "report_id": {"type": "string"},
                "reporter_id": {"type": "string"},
                "player_id": {"type": "string", "description": "The reported player."},
                "reason": {"type": "string"},
                "created": {"type": "string", "format": "date-time"},
                "state": {"type": "string", "enum": ["open", "dismissed", "actioned"]},
                "decided_by": {"type": ["string", "null"]},
                "decided_at": {"type": ["string", "null"], "format": "date-time"},
                "decision": {"type": ["string", "null"]},
            },
        ),
        "ReportPage": _object(["reports"], {"reports": {"type": "array", "items": _ref("Report")}}),
        "AuditRecord": _object(
            ["id", "at", "actor", "action", "target", "reason", "detail"],
            {
                "id": {"type": "integer"},
                "at": {"type": "string", "format": "date-time"},
                "actor": {"type": "string"},
                "action": {"type": "string"},
                "target": {"type": ["string", "null"]},
                "reason": {"type": ["string", "null"]},
                "detail": {"type": ["object", "null"]},
            },
        ),
        "AuditPage": _object(
            ["records", "next_before"],
            {
                "records": {"type": "array", "items": _ref("AuditRecord")},
                "next_before": {"type": ["integer", "null"]},
            },
        ),
    }
