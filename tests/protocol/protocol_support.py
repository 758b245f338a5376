"""Shared helpers for the protocol tests: examples, a tiny JSON Schema validator, strategies.

The validator covers exactly the keywords our generated schemas use and refuses any other,
so the tests need no ``jsonschema`` dependency and notice when the generator starts to
emit something new. One deliberate difference from the standard: ``integer`` means a JSON
integer literal (``7``), as the codec reads it, not any number without a fraction (``7.0``).
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from hypothesis import strategies as st

from tests.protocol.chat_examples import CHAT_CLIENT_EXAMPLES, CHAT_SERVER_EXAMPLES
from tests.protocol.guild_examples import GUILD_CLIENT_EXAMPLES, GUILD_SERVER_EXAMPLES
from tests.protocol.party_examples import PARTY_CLIENT_EXAMPLES, PARTY_SERVER_EXAMPLES
from tilemud.game import BATTLE_RULES
from tilemud.protocol import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    Ack,
    ArenaSnapshot,
    ArenaTick,
    BattleEnded,
    BoardSnapshot,
    ClientMessage,
    ErrorFrame,
    Hello,
    Join,
    Joined,
    Leave,
    Left,
    Ping,
    Place,
    PlaceResult,
    PlayerJoined,
    PlayerLeft,
    Pong,
    Report,
    ReportResult,
    RoundEnded,
    RulesSummary,
    ServerMessage,
    StreamGap,
    Welcome,
)

#: One valid instance of every registered message, with every array non-empty (the
#: strictness tests break each nested value in turn, and add each absent optional field).
CLIENT_EXAMPLES: dict[str, ClientMessage] = {
    "hello": Hello(v=2, token="eyJhbGciOiJIUzI1NiJ9.e30.sig", resume_token="rt-1", last_seq=41),
    "ping": Ping(rid="r-1"),
    "join": Join(rid="r-2", mode="battle", region="eu-west"),
    "leave": Leave(rid="r-3"),
    "place": Place(rid="r-4", x=3, y=4, kind="stone"),
    "ack": Ack(seq=42),
    **GUILD_CLIENT_EXAMPLES,
    **PARTY_CLIENT_EXAMPLES,
    **CHAT_CLIENT_EXAMPLES,
    "report": Report(rid="r-20", player_id="p-2", reason="spams the global channel"),
}

#: A 3x2 board: row 0 ``p-1/stone, p-1/stone, empty``, row 1 ``empty, p-2/wood, empty``.
BOARD = BoardSnapshot(
    format=1,
    width=3,
    height=2,
    palette=(("p-1", "stone"), ("p-2", "wood")),
    runs=(2, 1, 2, 0, 1, 2, 1, 0),
)
SERVER_EXAMPLES: dict[str, ServerMessage] = {
    "welcome": Welcome(
        v=2,
        player_id="p-42",
        session_id="s-9",
        resume_token="rt-77",
        resumed=False,
        server_time=1767225600.125,
        max_frame_bytes=65536,
        resume_grace=30.0,
    ),
    "pong": Pong(rid="r-1", server_time=1767225600.5),
    "error": ErrorFrame(code="server_full", message="full", rid="r-2", retry_after=2.5),
    "joined": Joined(
        rid="r-2",
        arena_id="battle-7",
        mode="battle",
        region="eu-west",
        tick=12,
        # Every optional field present, so the strictness tests reach each of them.
        rules=attrs.evolve(RulesSummary.from_rules(BATTLE_RULES), captures=True, round_ticks=3000),
    ),
    "left": Left(rid="r-3", arena_id="battle-7"),
    "place_result": PlaceResult(
        rid="r-4",
        arena_id="battle-7",
        tick=13,
        x=3,
        y=4,
        kind="stone",
        outcome="lost_conflict",
        winner="p-2",
    ),
    "snapshot": ArenaSnapshot(
        seq=7,
        sent_at=1767225600.25,
        arena_id="battle-7",
        tick=12,
        board=BOARD,
        scores=(("p-1", 2), ("p-2", 1)),
        players=(("p-1", "Ann"), ("p-2", "Bob")),
    ),
    "tick": ArenaTick(
        seq=8,
        sent_at=1767225600.35,
        arena_id="battle-7",
        tick=13,
        placed=((2, 0, "p-1", "stone"), (0, 1, "p-2", "wood")),
        scores=(("p-1", 3), ("p-2", 2), ("p-3", 0)),
        captured=((0, 1, "p-3"),),
    ),
    "player_joined": PlayerJoined(
        seq=9, sent_at=1767225600.4, arena_id="battle-7", players=(("p-3", "Cy"), ("p-4", "Di"))
    ),
    "player_left": PlayerLeft(
        seq=10, sent_at=1767225600.5, arena_id="battle-7", player_id="p-3", reason="timeout"
    ),
    "battle_ended": BattleEnded(
        seq=11,
        sent_at=1767225600.6,
        arena_id="battle-7",
        tick=1800,
        reason="time",
        scores=(("p-1", 3), ("p-2", 3)),
        winners=("p-1", "p-2"),
    ),
    "round_ended": RoundEnded(
        seq=12,
        sent_at=1767225600.65,
        arena_id="a_epic",
        round=3,
        replay_id="a_epic.3",
        first_tick=6001,
        tick=9000,
        next_round_tick=9001,
        scores=(("p-1", 812), ("p-2", 640)),
        winners=("p-1",),
    ),
    "stream_gap": StreamGap(seq=12, sent_at=1767225600.7),
    **GUILD_SERVER_EXAMPLES,
    **PARTY_SERVER_EXAMPLES,
    **CHAT_SERVER_EXAMPLES,
    "report_result": ReportResult(rid="r-20", report_id="r_Hq3x0c7sY1vR9AzL"),
}

assert set(CLIENT_EXAMPLES) == set(CLIENT_MESSAGES), "add an example for each new message"
assert set(SERVER_EXAMPLES) == set(SERVER_MESSAGES), "add an example for each new message"

_ANNOTATIONS = {"$schema", "$id", "title", "description", "default"}
_KINDS: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) in (int, float),
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def schema_errors(schema: dict[str, Any], value: object, path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty when it is valid)."""
    errors: list[str] = []
    for key, rule in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key == "type":
            if not _KINDS[rule](value):
                errors.append(f"{path}: not {rule}")
        elif key == "const":
            if not _same(value, rule):
                errors.append(f"{path}: not {rule!r}")
        elif key == "enum":
            if not any(_same(value, choice) for choice in rule):
                errors.append(f"{path}: not one of {rule!r}")
        elif key == "anyOf":
            if all(schema_errors(branch, value, path) for branch in rule):
                errors.append(f"{path}: matches no branch")
        elif key in ("minLength", "maxLength", "pattern"):
            if isinstance(value, str):
                errors += _string_errors(key, rule, value, path)
        elif key in ("minimum", "maximum", "exclusiveMinimum"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                errors += _number_errors(key, rule, value, path)
        elif key in ("properties", "required", "additionalProperties"):
            if isinstance(value, dict):
                errors += _object_errors(key, rule, schema, value, path)
        elif key in ("items", "prefixItems", "minItems", "maxItems"):
            if isinstance(value, list):
                errors += _array_errors(key, rule, schema, value, path)
        else:
            raise AssertionError(f"the test validator does not know the keyword {key!r}")
    return errors


def _string_errors(key: str, rule: Any, value: str, path: str) -> list[str]:
    if key == "minLength" and len(value) < rule:
        return [f"{path}: shorter than {rule}"]
    if key == "maxLength" and len(value) > rule:
        return [f"{path}: longer than {rule}"]
    # ECMA-262's `$` (no multiline) matches only at the very end; Python's also before a
    # final newline, hence `\Z`.
    if key == "pattern" and re.search(re.sub(r"\$$", r"\\Z", rule), value) is None:
        return [f"{path}: does not match {rule}"]
    return []


def _number_errors(key: str, rule: Any, value: float, path: str) -> list[str]:
    broken = (
        (key == "minimum" and value < rule)
        or (key == "maximum" and value > rule)
        or (key == "exclusiveMinimum" and value <= rule)
    )
    return [f"{path}: breaks {key} {rule}"] if broken else []


def _object_errors(
    key: str, rule: Any, schema: dict[str, Any], value: dict[str, Any], path: str
) -> list[str]:
    if key == "properties":
        return [
            error
            for name, sub in rule.items()
            if name in value
            for error in schema_errors(sub, value[name], f"{path}.{name}")
        ]
    if key == "required":
        return [f"{path}.{name}: missing" for name in rule if name not in value]
    assert rule is False, "only additionalProperties: false is emitted"
    known = schema.get("properties", {})
    return [f"{path}.{name}: not allowed" for name in value if name not in known]


def _array_errors(
    key: str, rule: Any, schema: dict[str, Any], value: list[Any], path: str
) -> list[str]:
    if key == "minItems":
        return [f"{path}: fewer than {rule} items"] if len(value) < rule else []
    if key == "maxItems":
        return [f"{path}: more than {rule} items"] if len(value) > rule else []
    if key == "prefixItems":
        return [
            error
            for index, (sub, item) in enumerate(zip(rule, value, strict=False))
            for error in schema_errors(sub, item, f"{path}[{index}]")
        ]
    start = len(schema.get("prefixItems", []))
    if rule is False:
        return [f"{path}: more than {start} items"] if len(value) > start else []
    return [
        error
        for index, item in enumerate(value[start:], start)
        for error in schema_errors(rule, item, f"{path}[{index}]")
    ]


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars (including integers beyond 64 bits), arrays and objects."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=80)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.text(max_size=12), children, max_size=5)
        ),
        max_leaves=max_leaves,
    )


_SAFE_INT = 2**53 - 1


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against one of our generated schemas (the subset they use)."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(branch) for branch in schema["anyOf"]])
    kind = schema["type"]
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -_SAFE_INT))
        high = schema.get("maximum", _SAFE_INT)
        ints = st.integers(int(low), int(high)).filter(
            lambda n: "exclusiveMinimum" not in schema or n > schema["exclusiveMinimum"]
        )
        if kind == "integer":
            return ints
        floats = st.floats(low, high, allow_nan=False, allow_infinity=False).filter(
            lambda x: "exclusiveMinimum" not in schema or x > schema["exclusiveMinimum"]
        )
        return floats | ints
    if kind == "string":
        size = {"min_size": schema.get("minLength", 0), "max_size": schema.get("maxLength", 100)}
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda s: size["min_size"] <= len(s) <= size["max_size"]
            )
        return st.text(**size)
    if kind == "array":
        if "prefixItems" in schema:
            return st.tuples(*(from_schema(item) for item in schema["prefixItems"])).map(list)
        low = schema.get("minItems", 0)
        return st.lists(
            from_schema(schema["items"]),
            min_size=low,
            max_size=max(low, min(schema.get("maxItems", 5), 5)),
        )
    assert kind == "object", schema
    properties = schema["properties"]
    required = set(schema["required"])
    return st.fixed_dictionaries(
        {name: from_schema(sub) for name, sub in properties.items() if name in required},
        optional={
            name: from_schema(sub) for name, sub in properties.items() if name not in required
        },
    )
