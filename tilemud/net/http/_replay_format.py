"""The replay document: an arena's replay as compact JSON, and its strict reader.

``GET /v1/replays/{arena_id}`` answers with :func:`replay_document`; a client (or a test)
reads it back with :func:`parse_replay_document` and re-simulates it with
:meth:`ReplayDocument.verify`. docs/protocol.md ("Replays") describes every field.

Compact on purpose: an epic arena logs hundreds of placements per second, so each
placement is a 4-integer array ``[player, x, y, kind]`` whose ``player`` and ``kind`` index
the ``players`` and ``kinds`` tables, instead of an object repeating ids and names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from tilemud.errors import TilemudError
from tilemud.game import (
    Placement,
    ReplayCheck,
    ReplayTick,
    RuleConfig,
    RuleConfigError,
    check_replay,
)
from tilemud.net.http._replay_schema import OPTIONAL_REPLAY_KEYS, REPLAY_KEYS
from tilemud.storage import Replay

#: The layout version of replay documents (their ``format``).
REPLAY_FORMAT: Final = 1

_SEED_LIMIT: Final = 1 << 64
_KEYS: Final = frozenset(REPLAY_KEYS)
_OPTIONAL: Final = frozenset(OPTIONAL_REPLAY_KEYS)


class ReplayFormatError(TilemudError):
    """A replay document is malformed, of an unknown format, or inconsistent."""

    code = "bad_replay"


@attrs.frozen(kw_only=True)
class ReplayDocument:
    """A replay document, read back.

    Attributes:
        arena_id: the arena.
        mode: ``battle`` or ``arena``.
        region: where it ran.
        state: ``live`` (the replay so far) or ``ended`` (complete).
        created: when the arena was created (UTC).
        ended: when it ended, or None while live.
        result: how it ended (``BattleResult.to_dict()``), or None.
        rules: the rule config it ran under (its content hash was checked).
        seed: its seed.
        participants: the players who took part, sorted.
        ticks: the logged ticks, in increasing order.
        events: ``(tick, kind, detail)`` of each event, by tick (none in older documents).
    """

    arena_id: str
    mode: str
    region: str
    state: str
    created: dt.datetime
    ended: dt.datetime | None
    result: Mapping[str, Any] | None
    rules: RuleConfig
    seed: int
    participants: tuple[str, ...]
    ticks: tuple[ReplayTick, ...]
    events: tuple[tuple[int, str, Mapping[str, Any]], ...] = ()

    def verify(self) -> ReplayCheck:
        """Re-simulate the document's ticks with the game rules (see ``check_replay``)."""
        return check_replay(self.ticks, rules=self.rules, seed=self.seed)


def replay_document(replay: Replay, participants: Sequence[str]) -> dict[str, Any]:
    """The replay document of a stored replay.

    Args:
        replay: the replay, from ``load_replay``.
        participants: who took part, from ``load_participants``.

    Returns:
        Plain JSON types (encode with orjson); :func:`parse_replay_document` reads it.
    """
    arena = replay.arena
    players: dict[str, int] = {}
    kinds: dict[str, int] = {}
    ticks: list[list[Any]] = []
    for logged in replay.ticks:
        rows = [
            [
                players.setdefault(p.player_id, len(players)),
                p.x,
                p.y,
                kinds.setdefault(p.kind, len(kinds)),
            ]
            for p in logged.placements
        ]
        ticks.append([logged.tick, logged.checksum, rows])
    return {
        "format": REPLAY_FORMAT,
        "arena_id": arena.arena_id,
        "mode": arena.mode,
        "region": arena.region,
        "state": arena.state,
        "created": _timestamp(arena.created),
        "ended": None if arena.ended is None else _timestamp(arena.ended),
        "result": None if arena.result is None else dict(arena.result),
        "rules_version": arena.rules_version,
        "rules": replay.rules.to_dict(),
        # A string: 64-bit seeds do not fit a JavaScript number exactly.
        "seed": str(arena.seed),
        "participants": sorted(participants),
        # Dicts keep insertion order: index i is the i-th id first seen.
        "players": list(players),
        "kinds": list(kinds),
        "ticks": ticks,
        "events": [[e.tick, e.kind, dict(e.detail)] for e in replay.events],
    }


def parse_replay_document(data: object) -> ReplayDocument:
    """Read a replay document (decoded JSON) strictly: exact keys, exact JSON kinds.

    Raises:
        ReplayFormatError: a key is missing or unknown, a value is of the wrong kind or out
            of range, an index points nowhere, the ticks do not increase, or the rules do
            not hash to ``rules_version``.
    """
    body = _mapping(data, "the document")
    if body.get("format") != REPLAY_FORMAT:
        raise ReplayFormatError(f"not a replay document of format {REPLAY_FORMAT}")
    if missing := sorted(_KEYS - body.keys()):
        raise ReplayFormatError(f"missing keys: {', '.join(missing)}")
    if unknown := sorted(body.keys() - _KEYS - _OPTIONAL):
        raise ReplayFormatError(f"unknown keys: {', '.join(map(str, unknown))}")
    state = _text(body["state"], "state")
    if state not in ("live", "ended"):
        raise ReplayFormatError(f"unknown state {state!r}")
    result = body["result"]
    players = _texts(body["players"], "players")
    kinds = _texts(body["kinds"], "kinds")
    return ReplayDocument(
        arena_id=_text(body["arena_id"], "arena_id"),
        mode=_text(body["mode"], "mode"),
        region=_text(body["region"], "region"),
        state=state,
        created=_parse_timestamp(body["created"], "created"),
        ended=None if body["ended"] is None else _parse_timestamp(body["ended"], "ended"),
        result=None if result is None else _mapping(result, "result"),
        rules=_rules(body["rules"], _text(body["rules_version"], "rules_version")),
        seed=_seed(body["seed"]),
        participants=_texts(body["participants"], "participants"),
        ticks=_ticks(body["ticks"], players, kinds),
        events=_events(body.get("events", [])),
    )


def _events(value: object) -> tuple[tuple[int, str, Mapping[str, Any]], ...]:
    if not isinstance(value, list):
        raise ReplayFormatError("events: expected an array")
    events = []
    for item in value:
        if not isinstance(item, list) or len(item) != 3:
            raise ReplayFormatError("events: each event is [tick, kind, detail]")
        tick, kind, detail = item
        events.append(
            (_integer(tick, "event tick"), _text(kind, "event kind"), _mapping(detail, "detail"))
        )
    return tuple(events)


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _parse_timestamp(value: object, name: str) -> dt.datetime:
    text = _text(value, name)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ReplayFormatError(f"{name} is not an ISO 8601 timestamp: {text!r}") from exc
    if parsed.utcoffset() != dt.timedelta(0):
        raise ReplayFormatError(f"{name} must be in UTC, not {text!r}")
    return parsed.astimezone(dt.UTC)


def _mapping(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReplayFormatError(f"{name} must be a JSON object")
    return value


def _text(value: object, name: str) -> str:
    if type(value) is not str:
        raise ReplayFormatError(f"{name} must be a string")
    return value


def _texts(value: object, name: str) -> tuple[str, ...]:
    if type(value) is not list or not all(type(item) is str for item in value):
        raise ReplayFormatError(f"{name} must be an array of strings")
    return tuple(value)


def _integer(value: object, name: str) -> int:
    # bool is an int in Python; `true` is not a number here.
    if type(value) is not int:
        raise ReplayFormatError(f"{name} must be an integer")
    return value


def _rules(value: object, version: str) -> RuleConfig:
    try:
        rules = RuleConfig.from_dict(_mapping(value, "rules"))
    except RuleConfigError as exc:
        raise ReplayFormatError(f"rules: {exc}") from exc
    if rules.content_hash != version:
        raise ReplayFormatError(f"the rules hash to {rules.content_hash}, not {version}")
    return rules


def _seed(value: object) -> int:
    text = _text(value, "seed")
    # Canonical decimal only: no sign, no spaces, no leading zeros, no "_" (int() allows it).
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise ReplayFormatError(f"seed must be a decimal string, not {text!r}")
    seed = int(text)
    if seed >= _SEED_LIMIT:
        raise ReplayFormatError("seed must be below 2**64")
    return seed


def _ticks(
    value: object, players: tuple[str, ...], kinds: tuple[str, ...]
) -> tuple[ReplayTick, ...]:
    if type(value) is not list:
        raise ReplayFormatError("ticks must be an array")
    ticks: list[ReplayTick] = []
    previous = 0
    for item in value:
        if type(item) is not list or len(item) != 3:
            raise ReplayFormatError("each tick must be [tick, checksum, placements]")
        number, checksum, rows = item
        tick = _integer(number, "a tick")
        if tick <= previous:
            raise ReplayFormatError(f"tick {tick} does not follow tick {previous}")
        previous = tick
        if checksum is not None:
            checksum = _text(checksum, f"the checksum of tick {tick}")
        if type(rows) is not list:
            raise ReplayFormatError(f"the placements of tick {tick} must be an array")
        placements = tuple(_placement(row, tick, players, kinds) for row in rows)
        ticks.append(ReplayTick(tick=tick, placements=placements, checksum=checksum))
    return tuple(ticks)


def _placement(
    row: object, tick: int, players: tuple[str, ...], kinds: tuple[str, ...]
) -> Placement:
    where = f"a placement of tick {tick}"
    if type(row) is not list or len(row) != 4:
        raise ReplayFormatError(f"{where} must be [player, x, y, kind]")
    player, x, y, kind = (_integer(part, where) for part in row)
    if not (0 <= player < len(players) and 0 <= kind < len(kinds)):
        raise ReplayFormatError(f"{where} indexes no player or kind")
    return Placement(player_id=players[player], x=x, y=y, kind=kinds[kind])
