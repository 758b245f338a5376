"""The OpenAPI 3.1 description of the HTTP API, served at ``GET /openapi.json``.

Written by hand next to the routes it describes; ``tests/net/http`` checks that every rule in
the app's URL map (and every method on it) is documented here and nothing else is, so the two
cannot drift apart. It runs over 400 lines because it is one hand-written document of the
public routes and their schemas (the admin API's part lives in ``_admin_openapi*``).
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final

from tilemud.net.http._admin_openapi_more import ADMIN_ERROR_CODES, admin_paths, admin_schemas
from tilemud.net.http._discovery import DISCOVERY_PATHS, DISCOVERY_SCHEMAS
from tilemud.net.http._names import MAX_NAME_LENGTH, MIN_NAME_LENGTH, name_pattern
from tilemud.net.http._replay_schema import REPLAY_DOCUMENT_SCHEMA
from tilemud.net.http._rounds import ROUNDS_PATHS, ROUNDS_SCHEMAS

#: Every ``error.code`` the HTTP API itself answers with.
ERROR_CODES: Final = (
    "bad_json",
    "bad_request",
    "headers_too_large",
    "not_implemented",
    "bad_name",
    "guest_login_disabled",
    "rate_limited",
    "missing_token",
    "invalid_token",
    "token_expired",
    "forbidden",
    "not_found",
    "played_in_rounds",
    "replays_not_stored",
    "method_not_allowed",
    "payload_too_large",
    "unsupported_media_type",
    "unavailable",
    "internal",
    *ADMIN_ERROR_CODES,
)

_JSON: Final = "application/json"
# The media type of prometheus_client's CONTENT_TYPE_LATEST, without its charset parameter.
_METRICS_TEXT: Final = "text/plain"


_RETRY_AFTER_HEADER: Final = {
    "description": "Whole seconds to wait before trying again (the same as `error.retry_after`).",
    "schema": {"type": "integer", "minimum": 1},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": _ref(schema)}}}


def _error_response(description: str) -> dict[str, Any]:
    return _json_response(description, "Error")


_SCHEMAS: Final[dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": "Every error response of the HTTP API has this shape.",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Stable snake_case identifier, one of: "
                        + ", ".join(ERROR_CODES)
                        + ".",
                        "examples": ["bad_name"],
                    },
                    "message": {
                        "type": "string",
                        "description": "Human-readable explanation; may change between versions.",
                    },
                    "retry_after": {
                        "type": "integer",
                        "minimum": 1,
                        "description": (
                            "Only on 503 `unavailable` and 429 `rate_limited`: whole seconds "
                            "to wait before trying again; the `Retry-After` header says the "
                            "same."
                        ),
                    },
                    "until": {
                        "type": "number",
                        "description": "Only on 403 `banned`: when the ban ends (Unix time).",
                    },
                },
            }
        },
    },
    "Health": {
        "type": "object",
        "description": "`status` plus the facts the supervision tree reports (e.g. `sessions`).",
        "required": ["status"],
        "additionalProperties": True,
        "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}},
    },
    "Readiness": {
        "type": "object",
        "description": (
            "`status` plus what was checked: `children` (each root child, `up` or `down`), "
            "`stopping` (a graceful stop began), `database` (`status`: `ok`, `unavailable`, "
            "`timeout`, `error` or `not_used`; `latency_ms` of the ping when it was "
            "answered; `timeout_s`, the bound), `cluster` (`status`: `ok`, `unavailable` "
            "(Redis does not answer: the node serves on, degraded; not part of `ready`), "
            "`down` or `not_used`)."
        ),
        "required": ["status"],
        "additionalProperties": True,
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not_ready"]},
            "cluster": {
                "type": "object",
                "required": ["status"],
                "properties": {
                    "status": {
                        "type": "string",
                        "enum": ["ok", "unavailable", "down", "not_used"],
                    },
                    "node": {"type": "string"},
                },
            },
            "children": {
                "type": "object",
                "additionalProperties": {"type": "string", "enum": ["up", "down"]},
            },
            "stopping": {"type": "boolean"},
            "database": {
                "type": "object",
                "required": ["status"],
                "properties": {
                    "status": {
                        "type": "string",
                        "enum": ["ok", "unavailable", "timeout", "error", "not_used"],
                    },
                    "latency_ms": {"type": "number", "minimum": 0},
                    "timeout_s": {"type": "number", "exclusiveMinimum": 0},
                },
            },
        },
    },
    "GuestLoginRequest": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "minLength": MIN_NAME_LENGTH,
                "pattern": "<name pattern>",  # filled in by openapi_document
                "description": (
                    "Display name. NFC-normalised and trimmed of whitespace, then it must be "
                    f"{MIN_NAME_LENGTH}-{MAX_NAME_LENGTH} characters, each a Unicode letter "
                    "(category L, but not the invisible Hangul fillers U+115F, U+1160, "
                    "U+3164, U+FFA0), a decimal digit (Nd), a space, `_` or `-`, with no two "
                    "spaces in a row. `pattern` states exactly these rules for a name "
                    "already in NFC (Unicode "
                    f"{unicodedata.unidata_version}; ECMA-262 with the `u` flag); a name "
                    "sent in decomposed form may be accepted although the pattern refuses it."
                ),
                "examples": ["Ada Lovelace", "  Grace_Hopper-2 ", "Zoë"],
            },
            "device": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{22,128}$",
                "description": (
                    "A secret the client made once (e.g. 16 random bytes, base64url) and "
                    "keeps: the same device gets the same `player_id` at every login (so "
                    "its bans hold). Without it every login is a new player."
                ),
            },
        },
    },
    "GuestLoginResponse": {
        "type": "object",
        "required": ["token", "token_type", "player_id", "name", "expires_at"],
        "additionalProperties": False,
        "properties": {
            "token": {"type": "string", "description": "Access token (JWT, `typ: access`)."},
            "token_type": {"type": "string", "const": "Bearer"},
            "player_id": {"type": "string", "examples": ["p_Hq3x0c7sY1vR9AzL"]},
            "name": {"type": "string", "description": "The name as normalised and stored."},
            "expires_at": {
                "type": "integer",
                "description": "When the token expires, in seconds since the Unix epoch.",
            },
        },
    },
    "OpenAPIDocument": {"type": "object", "description": "This document."},
    "ReplayDocument": REPLAY_DOCUMENT_SCHEMA,
    "Metrics": {
        "type": "string",
        "description": (
            "Prometheus text exposition format (`text/plain; version=1.0.0`): one line per "
            "sample, `# HELP` and `# TYPE` before each family. docs/operations.md lists "
            "every `tilemud_*` family; `process_*` and `python_gc_*` come from "
            "prometheus_client."
        ),
        "examples": ["# TYPE tilemud_players_connected gauge\ntilemud_players_connected 2.0\n"],
    },
}

_PATHS: Final[dict[str, Any]] = {
    "/healthz": {
        "get": {
            "operationId": "getHealth",
            "summary": "Is this node alive? (liveness)",
            "tags": ["operations"],
            "responses": {
                "200": _json_response("The supervision tree is up.", "Health"),
                "503": _json_response("The node is starting, stopping or degraded.", "Health"),
                "default": _error_response("Unexpected error."),
            },
        }
    },
    "/readyz": {
        "get": {
            "operationId": "getReadiness",
            "summary": "May players be sent to this node now?",
            "description": (
                "Readiness, for load balancers: every child of the root supervisor runs, no "
                "graceful stop began, and the database (unless the node keeps none) answered "
                "a `SELECT 1` through the storage actor within `server.readiness_timeout` "
                "seconds. `/healthz` is liveness: the process is up. Never cached."
            ),
            "tags": ["operations"],
            "responses": {
                "200": _json_response("Ready.", "Readiness"),
                "503": _json_response("Not ready: the body says which check failed.", "Readiness"),
                "default": _error_response("Unexpected error."),
            },
        }
    },
    "/v1/auth/guest": {
        "post": {
            "operationId": "guestLogin",
            "summary": "Mint an access token for a guest player (new, or the device's).",
            "description": (
                "Development login: anyone may call it. Switched off in production with "
                "`TILEMUD_AUTH_GUEST_LOGIN=false`, which makes it answer 403. Limited per "
                "client address (an IPv6 client: per /64 network) to `limits.guest_logins` "
                "requests in any `limits.guest_logins_window` seconds (20 in 60 by default); "
                "every request counts, refused ones included, and the next answers 429."
            ),
            "tags": ["auth"],
            "requestBody": {
                "required": True,
                "content": {_JSON: {"schema": _ref("GuestLoginRequest")}},
            },
            "responses": {
                "200": _json_response("A token for a fresh player id.", "GuestLoginResponse"),
                "400": _error_response("`bad_json`, `bad_request` (wrong shape) or `bad_name`."),
                "403": _error_response(
                    "`guest_login_disabled`; `banned`: this device's player is banned (`until`)."
                ),
                "413": _error_response("`payload_too_large`."),
                "415": _error_response("`unsupported_media_type`: send `application/json`."),
                "429": {
                    **_error_response(
                        "`rate_limited`: too many guest logins from this address; retry "
                        "after `error.retry_after` seconds (also the `Retry-After` header)."
                    ),
                    "headers": {"Retry-After": _RETRY_AFTER_HEADER},
                },
                "default": _error_response("Unexpected error."),
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "getMetrics",
            "summary": "This node's Prometheus metrics.",
            "description": (
                "Players, sessions, arenas by mode, tick and handshake durations (histograms, "
                "seconds), frames sent and dropped, send queue depths, actions by outcome, "
                "and the process's CPU and memory. Counters only grow: take rates with "
                "PromQL `rate()`. Never cached."
            ),
            "tags": ["operations"],
            "responses": {
                "200": {
                    "description": "Every metric, at this instant.",
                    "content": {_METRICS_TEXT: {"schema": _ref("Metrics")}},
                },
                "default": _error_response("Unexpected error."),
            },
        }
    },
    "/v1/replays/{arena_id}": {
        "get": {
            "operationId": "getReplay",
            "summary": "An arena's replay: rules, seed, accepted placements and checksums.",
            "description": (
                "For the players who took part in the arena and for tokens with the `admin` "
                "role. Re-simulating the ticks with the rules from an empty board reproduces "
                'every checksum (docs/protocol.md, "Replays"). A live arena\'s replay is '
                "the part stored so far (`Cache-Control: no-store`); an ended arena's no "
                "longer changes (`Cache-Control: private, max-age=3600, immutable`)."
            ),
            "tags": ["replays"],
            "security": [{"playerToken": []}],
            "parameters": [
                {
                    "name": "arena_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "The arena's id, as `joined.arena_id` gave it.",
                }
            ],
            "responses": {
                "200": _json_response("The replay document.", "ReplayDocument"),
                "401": _error_response(
                    "`missing_token`, `invalid_token` or `token_expired` (with a "
                    "`WWW-Authenticate: Bearer` challenge)."
                ),
                "403": _error_response(
                    "`forbidden`: the caller did not play in this arena and is no admin."
                ),
                "404": _error_response(
                    "`not_found`: no such arena, or its replay was purged; "
                    "`played_in_rounds`: an epic arena played in rounds, each round a "
                    "replay of its own (`GET /v1/arenas/{arena_id}/rounds` lists their "
                    "`replay_id`s); `replays_not_stored`: this server runs without a database."
                ),
                "503": _error_response(
                    "`unavailable`: the database is down or slow; retry after "
                    "`error.retry_after` seconds (also the `Retry-After` header)."
                ),
                "default": _error_response("Unexpected error."),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenAPI",
            "summary": "This OpenAPI document.",
            "tags": ["meta"],
            "responses": {
                "200": _json_response("The document.", "OpenAPIDocument"),
                "default": _error_response("Unexpected error."),
            },
        }
    },
}


def openapi_document(*, version: str) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of the HTTP API.

    Args:
        version: the server version, shown as ``info.version``.

    Returns:
        A fresh JSON-serialisable document; the caller may keep or change it.
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tilemud HTTP API",
            "version": version,
            "description": (
                "Authentication, discovery, replays and health of a tilemud node. Players "
                "talk to the game itself over the WebSocket gateway, using the token minted "
                "here. Any unknown path answers 404 and any wrong method 405 (`OPTIONS` "
                "included, unless it is a CORS preflight the server allows), all with the "
                "`Error` shape, as do requests the server cannot parse as HTTP/1.1 (400 "
                "`bad_request`), whose request line and headers are too large (431 "
                "`headers_too_large`), or with a transfer coding it does not support (501 "
                "`not_implemented`); those three also close the connection."
            ),
        },
        "paths": {
            **_copy(_PATHS),
            **_copy(ROUNDS_PATHS),
            **admin_paths(),
            **_copy(DISCOVERY_PATHS),
        },
        "components": {
            "schemas": {
                **_with_name_pattern({**_copy(_SCHEMAS), **_copy(ROUNDS_SCHEMAS)}),
                **admin_schemas(),
                **_copy(DISCOVERY_SCHEMAS),
            },
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "An access token with the `moderator` or `admin` role, from "
                        "`POST /v1/admin/sign-in` (or `tilemud token --role admin`)."
                    ),
                },
                "playerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from `POST /v1/auth/guest`.",
                },
            },
        },
    }


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _with_name_pattern(schemas: dict[str, Any]) -> dict[str, Any]:
    # Built on first use (it scans every code point once per process), not at import.
    schemas["GuestLoginRequest"]["properties"]["name"]["pattern"] = name_pattern()
    return schemas
