"""The JSON Schema of the replay document, for the OpenAPI document (``ReplayDocument``).

Kept next to ``_replay_format`` (which writes and reads the document) and apart from
``_openapi`` so that neither grows past one concern.
"""

from __future__ import annotations

from typing import Any, Final

#: Every key of a replay document, in the order the docs list them.
REPLAY_KEYS: Final = (
    "format",
    "arena_id",
    "mode",
    "region",
    "state",
    "created",
    "ended",
    "result",
    "rules_version",
    "rules",
    "seed",
    "participants",
    "players",
    "kinds",
    "ticks",
)

#: Keys a replay document may lack: documents of servers before them stay readable.
OPTIONAL_REPLAY_KEYS: Final = ("events",)

_INDEX: Final = {"type": "integer", "minimum": 0}
_TIMESTAMP: Final = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 in UTC, with a `Z` suffix.",
    "examples": ["2025-03-01T12:00:00.250000Z"],
}

#: ``components.schemas.ReplayDocument``.
REPLAY_DOCUMENT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": (
        "An arena's replay. Start from an empty board of `rules.width` x `rules.height` and "
        "resolve each tick of `ticks` in order with the game rules, the `seed` and that "
        "tick's placements: every placement is accepted again, and after a tick with a "
        'checksum the board has that checksum. docs/protocol.md ("Replays") has the '
        "details and an example."
    ),
    "required": list(REPLAY_KEYS),  # not OPTIONAL_REPLAY_KEYS
    "additionalProperties": False,
    "properties": {
        "format": {"type": "integer", "const": 1, "description": "Layout version."},
        "arena_id": {"type": "string"},
        "mode": {"type": "string", "enum": ["battle", "arena"]},
        "region": {"type": "string"},
        "state": {
            "type": "string",
            "enum": ["live", "ended"],
            "description": "`live`: the replay so far; `ended`: complete and unchanging.",
        },
        "created": _TIMESTAMP,
        "ended": {"oneOf": [_TIMESTAMP, {"type": "null"}]},
        "result": {
            "oneOf": [{"type": "object"}, {"type": "null"}],
            "description": (
                "How a battle ended: `{tick, reason, scores, winners}`; null while live or "
                "when no result was recorded."
            ),
        },
        "rules_version": {
            "type": "string",
            "description": "`sha256:<hex>`, the content hash of `rules`.",
        },
        "rules": {
            "type": "object",
            "description": "The rule config the arena ran under (docs/game.md).",
        },
        "seed": {
            "type": "string",
            "pattern": "^(0|[1-9][0-9]*)$",
            "description": (
                "The arena's seed, 0 <= seed < 2^64, in decimal: a string because a JSON "
                "number loses such integers in JavaScript."
            ),
        },
        "participants": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Ids of the players who joined the arena, sorted.",
        },
        "players": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Ids of those who placed tiles (NPCs too), indexed by placements.",
        },
        "kinds": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Tile kind names, indexed by placements.",
        },
        "ticks": {
            "type": "array",
            "description": (
                "Ticks that accepted placements or stored a checksum, by increasing tick; "
                "ticks not listed changed nothing."
            ),
            "items": {
                "type": "array",
                "description": "`[tick, checksum, placements]`.",
                "prefixItems": [
                    {"type": "integer", "minimum": 1},
                    {
                        "type": ["string", "null"],
                        "description": "The board checksum after the tick, when stored.",
                    },
                    {
                        "type": "array",
                        "description": "The accepted placements, in resolution order.",
                        "items": {
                            "type": "array",
                            "description": "`[player, x, y, kind]`: indexes into `players` "
                            "and `kinds`, and the cell.",
                            "prefixItems": [_INDEX, _INDEX, _INDEX, _INDEX],
                            "minItems": 4,
                            "maxItems": 4,
                        },
                    },
                ],
                "minItems": 3,
                "maxItems": 3,
            },
        },
        "events": {
            "type": "array",
            "description": (
                "What happened to the arena beside its placements, by tick: `[tick, kind, "
                "detail]`. Kind `npc_capacity`: its NPC capacity changed at the end of "
                "`tick`, detail `{npc_cap, shed_steps}`. Absent from older documents."
            ),
            "items": {
                "type": "array",
                "prefixItems": [
                    {"type": "integer", "minimum": 0},
                    {"type": "string"},
                    {"type": "object"},
                ],
                "minItems": 3,
                "maxItems": 3,
            },
        },
    },
}
