"""Rule configs: the frozen, versioned, content-hashed rules one arena runs under.

A :class:`RuleConfig` is a plain value. It round-trips through a JSON-friendly dict
(:meth:`RuleConfig.to_dict` / :meth:`RuleConfig.from_dict`) for storage and the admin API,
and is identified by :attr:`RuleConfig.content_hash`: ``"sha256:"`` followed by the hex
SHA-256 of the canonical JSON of that dict (keys sorted, no whitespace, UTF-8). Every field,
including ``format_version`` and the order of ``tile_kinds``, is part of the hash.

Invalid values raise :class:`~tilemud.game.RuleConfigError` whether they come through the
constructor, :func:`attrs.evolve` or :meth:`RuleConfig.from_dict`; nothing is coerced.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias, get_args

import attrs
import orjson

from tilemud.game._errors import RuleConfigError

#: What kind of instance a rule config is for: a short ``battle`` or a long-lived ``arena``.
Mode: TypeAlias = Literal["battle", "arena"]
#: How scores are counted: one point per tile held, or each tile's kind's ``points``.
ScoringRule: TypeAlias = Literal["tiles_held", "kind_points"]

#: The newest layout version of :class:`RuleConfig`. Version 2 added ``captures``,
#: ``capture_margin`` and ``round_ticks``; a version 1 config has none of them (no
#: captures, no rounds), so configs stored before keep their content hash.
RULES_FORMAT_VERSION: Final = 2
_V1_FIELDS_ONLY: Final = 1
#: The largest board side; it bounds memory (a 1024x1024 board is a million cells).
MAX_BOARD_SIDE: Final = 1024
_MAX_TICK_RATE_HZ: Final = 60
_MAX_CAP: Final = 10_000
_MAX_KINDS: Final = 64
_MAX_POINTS: Final = 1_000_000
_KIND_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")


def _is_int(value: object) -> bool:
    # bool is an int subclass; ``True`` is never a valid width or cap.
    return type(value) is int


def _int_in(name: str, value: object, low: int, high: int | None = None) -> None:
    if not _is_int(value):
        raise RuleConfigError(f"{name} must be an integer, not {value!r}", field=name)
    assert isinstance(value, int)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RuleConfigError(f"{name} must be {bound}, not {value}", field=name)


def _bool(name: str, value: object) -> None:
    if type(value) is not bool:
        raise RuleConfigError(f"{name} must be true or false, not {value!r}", field=name)


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if type(value) is not str or value not in allowed:
        raise RuleConfigError(f"{name} must be one of {allowed}, not {value!r}", field=name)


@attrs.frozen(kw_only=True)
class TileKind:
    """One kind of tile players may place.

    Attributes:
        name: lower-case identifier (``[a-z][a-z0-9_]{0,31}``), the ``kind`` of placements.
        points: what one tile of this kind is worth under the ``kind_points`` scoring rule.
    """

    name: str
    points: int = 1

    def __attrs_post_init__(self) -> None:
        if type(self.name) is not str or not _KIND_NAME.match(self.name):
            raise RuleConfigError(
                f"tile kind name must match [a-z][a-z0-9_]{{0,31}}, not {self.name!r}",
                field="tile_kinds",
            )
        if not _is_int(self.points) or not 0 <= self.points <= _MAX_POINTS:
            raise RuleConfigError(
                f"tile kind points must be an integer in 0..{_MAX_POINTS}, not {self.points!r}",
                field="tile_kinds",
            )


DEFAULT_TILE_KINDS: Final = (
    TileKind(name="stone", points=1),
    TileKind(name="wood", points=1),
    TileKind(name="crystal", points=2),
)


@attrs.frozen(kw_only=True)
class RuleConfig:
    """The complete rules of one arena or battle.

    Attributes:
        mode: ``battle`` (short, small, ends) or ``arena`` (large, long-lived).
        width: board width in cells, 1..1024.
        height: board height in cells, 1..1024.
        tick_rate_hz: ticks per second the arena runs at, 1..60.
        require_adjacency: a player who holds tiles may only place orthogonally next to one.
        cooldown_ticks: after an accepted placement in tick ``t`` the player's next one is
            accepted no earlier than tick ``t + cooldown_ticks``; 0 means no cooldown (and
            several placements per player per tick).
        tile_kinds: the kinds players may place, in display order; names are unique.
        scoring: ``tiles_held`` or ``kind_points``.
        player_cap: most players in one instance (enforced by the arena on join).
        npc_cap: most NPCs in one instance (enforced by the arena).
        battle_ticks: the battle covers ticks ``1..battle_ticks``; ``None`` never ends by
            time (required for ``battle`` mode).
        end_on_full_board: the battle ends at the end of the tick that fills the board.
        captures: a placement on an opponent's tile may capture it (see
            :mod:`tilemud.game._resolve` and ``docs/game.md``).
        capture_margin: a capture needs ``attack >= defence + capture_margin``, 0..8.
        round_ticks: an ``arena`` runs in rounds of this many ticks; at each round's end
            its result is taken and the board is cleared. None: one endless round.
        format_version: the layout version of this value: ``2``, or ``1`` for a config
            without captures and rounds (stored before they existed).
    """

    mode: Mode
    width: int
    height: int
    player_cap: int
    npc_cap: int
    battle_ticks: int | None
    end_on_full_board: bool
    tick_rate_hz: int = 10
    require_adjacency: bool = True
    cooldown_ticks: int = 1
    tile_kinds: tuple[TileKind, ...] = DEFAULT_TILE_KINDS
    scoring: ScoringRule = "tiles_held"
    captures: bool = False
    capture_margin: int = 0
    round_ticks: int | None = None
    format_version: int = RULES_FORMAT_VERSION
    # Derived once, for the per-placement hot path; not part of equality or the hash.
    _points: Mapping[str, int] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        _int_in("format_version", self.format_version, _V1_FIELDS_ONLY, RULES_FORMAT_VERSION)
        _bool("captures", self.captures)
        _int_in("capture_margin", self.capture_margin, 0, 8)
        if self.round_ticks is not None:
            _int_in("round_ticks", self.round_ticks, 1)
            if self.mode != "arena":
                raise RuleConfigError("only an arena runs in rounds", field="round_ticks")
        if self.format_version == _V1_FIELDS_ONLY and (
            self.captures or self.capture_margin or self.round_ticks is not None
        ):
            raise RuleConfigError(
                "captures and rounds need format_version 2", field="format_version"
            )
        _one_of("mode", self.mode, get_args(Mode))
        _int_in("width", self.width, 1, MAX_BOARD_SIDE)
        _int_in("height", self.height, 1, MAX_BOARD_SIDE)
        _int_in("tick_rate_hz", self.tick_rate_hz, 1, _MAX_TICK_RATE_HZ)
        _bool("require_adjacency", self.require_adjacency)
        _int_in("cooldown_ticks", self.cooldown_ticks, 0)
        _one_of("scoring", self.scoring, get_args(ScoringRule))
        _int_in("player_cap", self.player_cap, 1, _MAX_CAP)
        _int_in("npc_cap", self.npc_cap, 0, _MAX_CAP)
        if self.battle_ticks is not None:
            _int_in("battle_ticks", self.battle_ticks, 1)
        elif self.mode == "battle":
            raise RuleConfigError("a battle needs battle_ticks", field="battle_ticks")
        _bool("end_on_full_board", self.end_on_full_board)
        kinds = self.tile_kinds
        if type(kinds) is not tuple or not 1 <= len(kinds) <= _MAX_KINDS:
            raise RuleConfigError(
                f"tile_kinds must be a tuple of 1..{_MAX_KINDS} TileKind", field="tile_kinds"
            )
        if not all(type(kind) is TileKind for kind in kinds):
            raise RuleConfigError("tile_kinds must hold TileKind values", field="tile_kinds")
        points = {kind.name: kind.points for kind in kinds}
        if len(points) != len(kinds):
            raise RuleConfigError("tile kind names must be unique", field="tile_kinds")
        object.__setattr__(self, "_points", points)

    @property
    def cell_count(self) -> int:
        """How many cells the board has."""
        return self.width * self.height

    @property
    def kind_names(self) -> tuple[str, ...]:
        """The names of :attr:`tile_kinds`, in order."""
        return tuple(self._points)

    def has_kind(self, kind: str) -> bool:
        """Tell whether ``kind`` names one of this config's tile kinds."""
        return kind in self._points

    def tile_score(self, kind: str) -> int:
        """What one tile of ``kind`` adds to its owner's score under :attr:`scoring`.

        Raises:
            KeyError: ``kind`` is not one of :attr:`tile_kinds`.
        """
        points = self._points[kind]
        return points if self.scoring == "kind_points" else 1

    def to_dict(self) -> dict[str, Any]:
        """Return this config as plain JSON types; :meth:`from_dict` inverts it."""
        return {
            "format_version": self.format_version,
            "mode": self.mode,
            "width": self.width,
            "height": self.height,
            "tick_rate_hz": self.tick_rate_hz,
            "require_adjacency": self.require_adjacency,
            "cooldown_ticks": self.cooldown_ticks,
            "tile_kinds": [{"name": k.name, "points": k.points} for k in self.tile_kinds],
            "scoring": self.scoring,
            "player_cap": self.player_cap,
            "npc_cap": self.npc_cap,
            "battle_ticks": self.battle_ticks,
            "end_on_full_board": self.end_on_full_board,
        } | (
            {}
            if self.format_version == _V1_FIELDS_ONLY
            else {
                "captures": self.captures,
                "capture_margin": self.capture_margin,
                "round_ticks": self.round_ticks,
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleConfig:
        """Build a config from :meth:`to_dict`'s shape, strictly.

        Every field must be present, no other key may be, and no value is coerced.

        Raises:
            RuleConfigError: a key is missing or unknown, or a value is invalid.
        """
        if not isinstance(data, Mapping):
            raise RuleConfigError(f"a rule config must be a mapping, not {type(data).__name__}")
        given = set(data)
        version = data.get("format_version")
        expected = set(_FIELDS) if version == _V1_FIELDS_ONLY else set(_FIELDS + _V2_FIELDS)
        if missing := sorted(expected - given):
            raise RuleConfigError(f"missing rule config fields: {missing}", field=missing[0])
        if extra := sorted(map(str, given - expected)):
            raise RuleConfigError(f"unknown rule config fields: {extra}", field=extra[0])
        fields = dict(data)
        fields["tile_kinds"] = _kinds_from_list(data["tile_kinds"])
        return cls(**fields)

    def canonical_json(self) -> bytes:
        """The canonical JSON the content hash is taken over (sorted keys, no spaces)."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    @property
    def content_hash(self) -> str:
        """``"sha256:<hex>"`` of :meth:`canonical_json`: equal configs, equal hashes."""
        return "sha256:" + hashlib.sha256(self.canonical_json()).hexdigest()


_FIELDS: Final = (
    "format_version",
    "mode",
    "width",
    "height",
    "tick_rate_hz",
    "require_adjacency",
    "cooldown_ticks",
    "tile_kinds",
    "scoring",
    "player_cap",
    "npc_cap",
    "battle_ticks",
    "end_on_full_board",
)
_V2_FIELDS: Final = ("captures", "capture_margin", "round_ticks")


def _kinds_from_list(raw: object) -> tuple[TileKind, ...]:
    if not isinstance(raw, list | tuple):
        raise RuleConfigError("tile_kinds must be a list", field="tile_kinds")
    kinds = []
    for item in raw:
        if not isinstance(item, Mapping) or set(item) != {"name", "points"}:
            raise RuleConfigError(
                'each tile kind must be {"name": ..., "points": ...}', field="tile_kinds"
            )
        kinds.append(TileKind(name=item["name"], points=item["points"]))
    return tuple(kinds)


#: Defaults for a battle: 32x32, up to 8 players, 3 minutes at 10 Hz or until the board fills.
BATTLE_RULES: Final = RuleConfig(
    mode="battle",
    width=32,
    height=32,
    player_cap=8,
    npc_cap=8,
    battle_ticks=1800,
    end_on_full_board=True,
    cooldown_ticks=5,
    # No captures: a battle is a 3-minute race for space that ends when the board fills.
    # Kept at layout version 1, so its content hash is the one stored before rounds.
    format_version=1,
)

#: Defaults for an epic arena: 256x256, up to 300 players and 100 NPCs, never ends; tiles
#: are captured, and rounds of 5 minutes (3000 ticks at 10 Hz) clear the board.
ARENA_RULES: Final = RuleConfig(
    mode="arena",
    width=256,
    height=256,
    player_cap=300,
    npc_cap=100,
    battle_ticks=None,
    end_on_full_board=False,
    cooldown_ticks=3,
    captures=True,
    round_ticks=3000,
)


def default_rules(mode: Mode) -> RuleConfig:
    """Return the default rule config for ``mode``.

    Raises:
        RuleConfigError: ``mode`` is not a known mode.
    """
    if mode == "battle":
        return BATTLE_RULES
    if mode == "arena":
        return ARENA_RULES
    raise RuleConfigError(f"unknown mode {mode!r}", field="mode")
