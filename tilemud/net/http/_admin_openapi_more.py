"""The OpenAPI description of the admin API's rule configs and replay management
(``_admin_rules``, ``_admin_replays``), and the whole admin API's (with ``_admin_openapi``'s
sign-in, moderation, reports and audit log) as ``_openapi`` merges it into the document."""

from __future__ import annotations

from typing import Any, Final

from tilemud.net.http import _admin_openapi as first
from tilemud.net.http._admin_openapi import (
    _BODY_ERRORS,
    _REASON,
    _body,
    _error,
    _object,
    _ok,
    _page_parameter,
    _ref,
    _secured,
    _text_parameter,
    _time_parameter,
)

#: ``error.code`` values only the admin API answers with.
ADMIN_ERROR_CODES: Final = (
    *first.ADMIN_ERROR_CODES,
    "bad_rule_config",
    "duplicate_rules",
    "already_active",
    "nothing_to_roll_back",
    "conflict",
    "replay_live",
)

_MODE: Final = {
    "name": "mode",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["battle", "arena"]},
}
_NUMBER: Final = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "description": "A version number of the mode.",
}
_ARENA: Final = {
    "name": "arena_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1},
}
_NOT_FOUND: Final = _error("`not_found`: no such mode or version; `admin_not_stored`.")
_SWITCH_ERRORS: Final = {
    **_BODY_ERRORS,
    "400": _error("`bad_json`, `bad_request` (no reason, an unknown region)."),
    "404": _NOT_FOUND,
}


def admin_paths() -> dict[str, Any]:
    """Every ``/v1/admin/`` path, fresh."""
    return first.admin_paths() | {
        "/v1/admin/rules/{mode}": {
            "get": _secured(
                "admin",
                {
                    "operationId": "adminListRuleVersions",
                    "summary": "Every version of a mode's rules, oldest first, and which is "
                    "in force where.",
                    "parameters": [_MODE],
                    "responses": {
                        "200": _ok("The versions.", "RuleVersionList"),
                        "404": _NOT_FOUND,
                    },
                },
            ),
            "post": _secured(
                "admin",
                {
                    "operationId": "adminCreateRuleVersion",
                    "summary": "Make the next version from an existing one with some fields "
                    "changed (audited `rules_created`).",
                    "description": (
                        "The game's own validation judges the result: 400 "
                        "`bad_rule_config` with its message. Content equal to an existing "
                        "version: 409 `duplicate_rules`."
                    ),
                    "parameters": [_MODE],
                    "requestBody": _body("NewRuleVersion"),
                    "responses": {
                        "201": _ok("The new version.", "RuleVersion"),
                        **_BODY_ERRORS,
                        "400": _error("`bad_rule_config`, `bad_json`, `bad_request`."),
                        "404": _NOT_FOUND,
                        "409": _error("`duplicate_rules`, `conflict`."),
                    },
                },
            ),
        },
        "/v1/admin/rules/{mode}/{number}": {
            "get": _secured(
                "admin",
                {
                    "operationId": "adminGetRuleVersion",
                    "summary": "One version of a mode's rules.",
                    "parameters": [_MODE, _NUMBER],
                    "responses": {"200": _ok("The version.", "RuleVersion"), "404": _NOT_FOUND},
                },
            )
        },
        "/v1/admin/rules/{mode}/diff": {
            "get": _secured(
                "admin",
                {
                    "operationId": "adminDiffRuleVersions",
                    "summary": "The fields that differ between two versions, in config order.",
                    "parameters": [
                        _MODE,
                        {**_page_parameter("from", None, 1, 2**31 - 1), "required": True},
                        {**_page_parameter("to", None, 1, 2**31 - 1), "required": True},
                    ],
                    "responses": {
                        "200": _ok("The differences.", "RuleDiff"),
                        "400": _error("`bad_request`: from or to missing or not a number."),
                        "404": _NOT_FOUND,
                    },
                },
            )
        },
        "/v1/admin/rules/{mode}/{number}/activate": {
            "post": _secured(
                "admin",
                {
                    "operationId": "adminActivateRuleVersion",
                    "summary": "Put a version in force for new arenas of the mode, in one "
                    "region or (no region) in every region without its own (audited "
                    "`rules_activated`). Running arenas keep their rules.",
                    "parameters": [_MODE, _NUMBER],
                    "requestBody": _body("RuleActivationOrder"),
                    "responses": {
                        "200": _ok("In force now.", "RuleSwitch"),
                        **_SWITCH_ERRORS,
                        "409": _error("`already_active`, `conflict`."),
                    },
                },
            )
        },
        "/v1/admin/rules/{mode}/rollback": {
            "post": _secured(
                "admin",
                {
                    "operationId": "adminRollBackRules",
                    "summary": "Put back in force the version in force before the current "
                    "activation (audited `rules_rolled_back`).",
                    "parameters": [_MODE],
                    "requestBody": _body("RuleActivationOrder"),
                    "responses": {
                        "200": _ok("In force now.", "RuleSwitch"),
                        **_SWITCH_ERRORS,
                        "409": _error("`nothing_to_roll_back`, `conflict`."),
                    },
                },
            )
        },
        "/v1/admin/replays": {
            "get": _secured(
                "moderator",
                {
                    "operationId": "adminListReplays",
                    "summary": "Stored replays, newest first, searched and paged.",
                    "parameters": [
                        _text_parameter("player", "A player who took part."),
                        {
                            "name": "mode",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["battle", "arena"]},
                        },
                        _time_parameter("since", "Created at or after this time."),
                        _time_parameter("until", "Created before this time."),
                        _page_parameter("limit", 50, 1, 200),
                        _page_parameter("offset", 0, 0, 10**9),
                    ],
                    "responses": {
                        "200": _ok("One page of replays.", "ReplayPage"),
                        "400": _error("`bad_request`: an argument out of shape."),
                    },
                },
            )
        },
        "/v1/admin/replays/{arena_id}/board": {
            "get": _secured(
                "moderator",
                {
                    "operationId": "adminReplayBoard",
                    "summary": "The board after a tick of a replay, re-simulated from its log.",
                    "parameters": [
                        _ARENA,
                        {
                            **_page_parameter("tick", None, 0, 2**62),
                            "description": "The tick (0: the empty board); absent: the last.",
                        },
                    ],
                    "responses": {
                        "200": _ok("The board.", "ReplayBoard"),
                        "400": _error("`bad_request`: a bad tick."),
                        "404": _error(
                            "`not_found`: no such replay; `played_in_rounds`: ask for a "
                            "round; `admin_not_stored`."
                        ),
                    },
                },
            )
        },
        "/v1/admin/replays/{arena_id}": {
            "delete": _secured(
                "admin",
                {
                    "operationId": "adminDeleteReplay",
                    "summary": "Delete an ended arena's replay (audited `replay_deleted`); "
                    "the arena's row and result stay.",
                    "parameters": [_ARENA],
                    "requestBody": _body("LiftOrder"),
                    "responses": {
                        "200": _ok("Deleted.", "ReplayDeleted"),
                        **_BODY_ERRORS,
                        "404": _error(
                            "`not_found`: no such replay, or deleted already; "
                            "`played_in_rounds`: delete a round."
                        ),
                        "409": _error("`replay_live`: the arena still runs."),
                    },
                },
            )
        },
    }


_TIME: Final = {"type": "string", "format": "date-time"}
_NULL_TIME: Final = {"type": ["string", "null"], "format": "date-time"}
_CELLS: Final = {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}


def _every(properties: dict[str, Any]) -> dict[str, Any]:
    """An object that always has every one of ``properties``."""
    return _object(list(properties), properties)


def admin_schemas() -> dict[str, Any]:
    """The admin API's component schemas, fresh."""
    return first.admin_schemas() | {
        "RuleActivation": _object(
            ["region", "active_from", "active_to", "activated_by", "reason"],
            {
                "region": {"type": ["string", "null"], "description": "null: every region."},
                "active_from": _TIME,
                "active_to": {**_NULL_TIME, "description": "null: in force."},
                "activated_by": {"type": "string"},
                "reason": {"type": "string"},
            },
        ),
        "RuleVersion": _every(
            {
                "mode": {"type": "string", "enum": ["battle", "arena"]},
                "version": {"type": "integer"},
                "content_hash": {"type": "string", "description": "`joined.rules.version`."},
                "based_on": {"type": ["integer", "null"]},
                "author": {"type": "string"},
                "reason": {"type": "string"},
                "created_at": _TIME,
                "rules": {"type": "object", "description": "The whole rule config (game.md)."},
                "activations": {"type": "array", "items": _ref("RuleActivation")},
            },
        ),
        "RuleVersionList": _object(
            ["mode", "versions", "active"],
            {
                "mode": {"type": "string"},
                "versions": {"type": "array", "items": _ref("RuleVersion")},
                "active": {
                    "type": "array",
                    "items": _object(
                        ["region", "version"],
                        {"region": {"type": ["string", "null"]}, "version": {"type": "integer"}},
                    ),
                },
            },
        ),
        "NewRuleVersion": _object(
            ["from_version", "changes", "reason"],
            {
                "from_version": {"type": "integer", "minimum": 1},
                "changes": {
                    "type": "object",
                    "description": "Fields of the rule config and their new values.",
                },
                "reason": _REASON,
            },
        ),
        "RuleDiff": _object(
            ["mode", "from", "to", "changes"],
            {
                "mode": {"type": "string"},
                "from": {"type": "integer"},
                "to": {"type": "integer"},
                "changes": {
                    "type": "array",
                    "items": _object(["field", "from", "to"], {"field": {"type": "string"}}),
                },
            },
        ),
        "RuleActivationOrder": _object(
            ["reason"], {"reason": _REASON, "region": {"type": "string", "minLength": 1}}
        ),
        "RuleSwitch": _object(
            ["mode", "region", "version", "content_hash", "previous"],
            {
                "mode": {"type": "string"},
                "region": {"type": ["string", "null"]},
                "version": {"type": "integer"},
                "content_hash": {"type": "string"},
                "previous": {"type": ["integer", "null"]},
            },
        ),
        "ReplaySummary": _every(
            {
                "arena_id": {"type": "string"},
                "mode": {"type": "string"},
                "region": {"type": "string"},
                "state": {"type": "string", "enum": ["live", "ended"]},
                "created": _TIME,
                "ended": _NULL_TIME,
                "parent_id": {"type": ["string", "null"]},
                "round": {"type": ["integer", "null"]},
                "rules_version": {"type": "string"},
                "rule_version": {"type": ["integer", "null"]},
                "participants": {"type": "integer"},
                "result": {"type": ["object", "null"]},
            },
        ),
        "ReplayPage": _object(
            ["replays", "next_offset"],
            {
                "replays": {"type": "array", "items": _ref("ReplaySummary")},
                "next_offset": {"type": ["integer", "null"]},
            },
        ),
        "ReplayBoard": _every(
            {
                "arena_id": {"type": "string"},
                "tick": {"type": "integer"},
                "ticks": {"type": "array", "items": {"type": "integer"}},
                "previous_tick": {"type": ["integer", "null"]},
                "next_tick": {"type": ["integer", "null"]},
                "last_tick": {"type": "integer"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "players": {"type": "array", "items": {"type": "string"}},
                "kinds": {"type": "array", "items": {"type": "string"}},
                "cells": {**_CELLS, "description": "[x, y, player index, kind index]"},
                "placements": {**_CELLS, "description": "[player index, x, y, kind index]"},
                "scores": {"type": "object", "additionalProperties": {"type": "integer"}},
                "checksum": {"type": ["string", "null"]},
            },
        ),
        "ReplayDeleted": _object(
            ["arena_id", "deleted"],
            {"arena_id": {"type": "string"}, "deleted": {"type": "boolean", "const": True}},
        ),
    }
