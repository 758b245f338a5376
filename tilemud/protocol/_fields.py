"""Field constraints of wire messages: declared once, checked and published from one place.

A message field names its constraint as its attrs validator::

    rid: str = attrs.field(validator=RID)

The same object checks every value when a message is built (by the decoder or by server
code) and renders its JSON Schema keywords (``minLength``, ``maximum`` ...), so the
validation and the published schemas cannot drift apart. A field with a validator that is
not one of these constraints makes schema generation fail on purpose.

A ``None`` passes a constraint only when the field defaults to ``None`` (an optional field);
anywhere else it is rejected like any other value of the wrong kind.

Arrays nest: :class:`Items` constrains a ``tuple[X, ...]`` (its ``item`` constrains each X,
and may itself be an :class:`Items` or a :class:`Fixed`), :class:`Fixed` a fixed-length
``tuple[A, B, ...]`` with one constraint per position. A rejected value names the exact
place that is wrong: ``placed[3][2]: must not be empty``.

The module ends with the constraints that several messages share (ids, names, tile kinds,
coordinates, ticks), so that one concept has one set of bounds everywhere on the wire.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeAlias

import attrs

from tilemud.game import MAX_BOARD_SIDE

#: Longest request id a client may choose, in Unicode code points.
MAX_RID_LENGTH = 64

#: Largest integer magnitude on the wire: the last one a JavaScript number holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1


# bool before int: a bool is an int in Python, never in JSON.
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    ((list, tuple), "array"),
    (dict, "object"),
)


class ConstraintError(ValueError):
    """A field value broke its constraint.

    A ``ValueError`` on purpose, not a ``TilemudError``: it is how attrs validators fail,
    and it never leaves the codec, which reports it as a :class:`~tilemud.errors.ProtocolError`.

    Attributes:
        field: the attrs field name (the JSON key) whose value was rejected.
        problem: what is wrong, in words, without the field name.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def json_kind(value: object) -> str:
    """The JSON type name of a decoded value, with the value itself when it is short.

    Used in error messages so a client sees what it actually sent (``got string "7"``).
    """
    if value is None:
        return "null"
    for kinds, name in _KINDS:
        if isinstance(value, kinds):
            if name in ("array", "object"):
                return name
            # ensure_ascii: control characters and the like come out escaped.
            text = json.dumps(value)
            return f"{name} {text}" if len(text) <= 24 else name
    return type(value).__name__


def _allows_none(attribute: attrs.Attribute[Any]) -> bool:
    return attribute.default is None


#: Where a value breaks a constraint: the path below the field (``""``, ``"[3][2]"``) and
#: what is wrong there.
Found: TypeAlias = tuple[str, str]


def _check(constraint: Constraint, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and _allows_none(attribute):
        return
    found = constraint.locate(value)
    if found is not None:
        raise ConstraintError(attribute.name + found[0], found[1])


def _problem_at(found: Found | None) -> str | None:
    if found is None:
        return None
    where, problem = found
    return f"{where}: {problem}" if where else problem


@attrs.frozen
class Text:
    """A string field: length bounds in code points and an optional full-match pattern.

    Attributes:
        min_length: fewest code points allowed.
        max_length: most code points allowed, or None for no limit.
        pattern: a regular expression the whole value must match, written in the subset
            that Python's ``re`` and ECMA-262 (JSON Schema) read alike; the schema anchors it.
    """

    min_length: int = 0
    max_length: int | None = None
    pattern: str | None = None

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        """Check ``value`` as an attrs validator; raises :class:`ConstraintError`."""
        _check(self, attribute, value)

    def locate(self, value: object) -> Found | None:
        """Where and how ``value`` breaks this constraint, or None when it is acceptable."""
        problem = self.problem(value)
        return None if problem is None else ("", problem)

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value``, or None when it is acceptable."""
        if not isinstance(value, str):
            return f"expected a string, got {json_kind(value)}"
        if len(value) < self.min_length:
            if self.min_length == 1:
                return "must not be empty"
            return f"must be at least {self.min_length} characters, got {len(value)}"
        if self.max_length is not None and len(value) > self.max_length:
            return f"must be at most {self.max_length} characters, got {len(value)}"
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            return f"must match the pattern {self.pattern!r}"
        return None

    def accepts(self, value: object) -> bool:
        """Whether ``value`` satisfies this constraint."""
        return self.problem(value) is None

    def schema(self) -> dict[str, Any]:
        """The JSON Schema keywords of this constraint."""
        keywords: dict[str, Any] = {}
        if self.min_length:
            keywords["minLength"] = self.min_length
        if self.max_length is not None:
            keywords["maxLength"] = self.max_length
        if self.pattern is not None:
            keywords["pattern"] = f"^(?:{self.pattern})$"
        return keywords


@attrs.frozen
class Number:
    """An integer or float field: finite, within optional bounds.

    Every int and float field needs one (``Number()`` when there are no bounds): orjson
    writes a NaN or an infinity as ``null``, and integers beyond 2**53 lose precision in
    JavaScript clients, so the checks that such values never get built live here.

    Attributes:
        minimum: smallest value allowed (inclusive), or None.
        maximum: largest value allowed (inclusive), or None.
        exclusive_minimum: the value must be greater than this, or None.
    """

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        """Check ``value`` as an attrs validator; raises :class:`ConstraintError`."""
        _check(self, attribute, value)

    def locate(self, value: object) -> Found | None:
        """Where and how ``value`` breaks this constraint, or None when it is acceptable."""
        problem = self.problem(value)
        return None if problem is None else ("", problem)

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value``, or None when it is acceptable."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {json_kind(value)}"
        if not math.isfinite(value):
            return "must be a finite number"
        if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            return f"must be an integer of magnitude at most {MAX_SAFE_INTEGER} (2**53 - 1)"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {_num(self.minimum)}, got {value}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {_num(self.maximum)}, got {value}"
        if self.exclusive_minimum is not None and value <= self.exclusive_minimum:
            return f"must be > {_num(self.exclusive_minimum)}, got {value}"
        return None

    def schema(self) -> dict[str, Any]:
        """The JSON Schema keywords of this constraint."""
        keywords: dict[str, Any] = {}
        if self.minimum is not None:
            keywords["minimum"] = self.minimum
        if self.maximum is not None:
            keywords["maximum"] = self.maximum
        if self.exclusive_minimum is not None:
            keywords["exclusiveMinimum"] = self.exclusive_minimum
        return keywords


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@attrs.frozen
class StreamSeq(Number):
    """The ``seq`` of a stream frame: an integer >= 1 on the wire, or :data:`UNSTAMPED` in memory.

    A stream frame's body is built once for every subscriber, before any session has given
    it a number; the codec encodes it without ``seq`` and splices each session's number in
    (``encode_stream_body`` and ``stamp``). So the attrs validator also lets
    :data:`UNSTAMPED` (0) through, while :meth:`problem` and :meth:`schema` (what the
    decoder and the JSON Schema enforce) say ``minimum`` 1, and ``encode_server`` refuses a
    frame that is still unstamped.
    """

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        """Check ``value`` as an attrs validator: :data:`UNSTAMPED`, or a valid wire ``seq``."""
        if type(value) is int and value == UNSTAMPED:
            return
        _check(self, attribute, value)

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` as a ``seq`` on the wire, or None."""
        if type(value) is not int:
            return f"expected an integer, got {json_kind(value)}"
        return super().problem(value)


@attrs.frozen
class Items:
    """An array field (``tuple[X, ...]``): length bounds and a constraint on every item.

    Attributes:
        item: the constraint each item must meet, or None; an :class:`Items` or a
            :class:`Fixed` for arrays of arrays.
        min_items: fewest items allowed.
        max_items: most items allowed, or None for no limit.
    """

    item: Constraint | None = None
    min_items: int = 0
    max_items: int | None = None

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        """Check ``value`` as an attrs validator; raises :class:`ConstraintError`."""
        _check(self, attribute, value)

    def locate(self, value: object) -> Found | None:
        """Where and how ``value`` breaks this constraint, or None when it is acceptable."""
        if not isinstance(value, (tuple, list)):
            return "", f"expected an array, got {json_kind(value)}"
        if len(value) < self.min_items:
            return "", f"must have at least {self.min_items} items, got {len(value)}"
        if self.max_items is not None and len(value) > self.max_items:
            return "", f"must have at most {self.max_items} items, got {len(value)}"
        if self.item is not None:
            locate = self.item.locate
            for index, item in enumerate(value):
                found = locate(item)
                if found is not None:
                    return f"[{index}]{found[0]}", found[1]
        return None

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` (where, then what), or None when it is acceptable."""
        return _problem_at(self.locate(value))

    def schema(self) -> dict[str, Any]:
        """The JSON Schema keywords of the array itself (the item's go under ``items``)."""
        keywords: dict[str, Any] = {}
        if self.min_items:
            keywords["minItems"] = self.min_items
        if self.max_items is not None:
            keywords["maxItems"] = self.max_items
        return keywords


@attrs.frozen(init=False)
class Fixed:
    """A fixed-length array of mixed items (``tuple[A, B, ...]``), one constraint a position.

    ``Fixed(COORD, COORD, ID, KIND)`` constrains a ``tuple[int, int, str, str]``; a position
    whose type needs no constraint (a bool, a nested object) takes None. The schema is
    ``prefixItems`` with ``items: false`` and ``minItems`` = ``maxItems`` = the length.

    Attributes:
        items: the constraint of each position, in order.
    """

    items: tuple[Constraint | None, ...]

    def __init__(self, *items: Constraint | None) -> None:
        """Take one constraint (or None) per position."""
        self.__attrs_init__(items=items)

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        """Check ``value`` as an attrs validator; raises :class:`ConstraintError`."""
        _check(self, attribute, value)

    def locate(self, value: object) -> Found | None:
        """Where and how ``value`` breaks this constraint, or None when it is acceptable."""
        if not isinstance(value, (tuple, list)):
            return "", f"expected an array, got {json_kind(value)}"
        if len(value) != len(self.items):
            return "", f"must have exactly {len(self.items)} items, got {len(value)}"
        for index, (constraint, item) in enumerate(zip(self.items, value, strict=True)):
            found = None if constraint is None else constraint.locate(item)
            if found is not None:
                return f"[{index}]{found[0]}", found[1]
        return None

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` (where, then what), or None when it is acceptable."""
        return _problem_at(self.locate(value))

    def schema(self) -> dict[str, Any]:
        """The JSON Schema keywords of the array itself (each position's go in ``prefixItems``)."""
        return {"minItems": len(self.items), "maxItems": len(self.items)}


#: Every kind of constraint a wire field may carry.
Constraint: TypeAlias = Text | Number | Items | Fixed

#: The ``seq`` of a stream frame whose body has not been given a session's number yet.
UNSTAMPED = 0

# -- constraints shared by several messages ----------------------------------------------

#: The request id: chosen by the client, echoed in the answer.
RID = Text(min_length=1, max_length=MAX_RID_LENGTH)

#: An id the server issues: a player (or NPC), a session, an arena.
ID = Text(min_length=1, max_length=128)

#: A player's display name, as the token names them.
NAME = Text(min_length=1, max_length=128)

#: A region name: lower-case letters, digits and dashes.
REGION = Text(min_length=1, max_length=32, pattern="[a-z0-9-]+")

#: A tile kind name (the rule config's kinds match ``[a-z][a-z0-9_]{0,31}``).
MAX_KIND_LENGTH = 32
KIND = Text(min_length=1, max_length=MAX_KIND_LENGTH)

#: Largest cell coordinate a ``place`` may name; the board itself is at most
#: ``tilemud.game.MAX_BOARD_SIDE`` cells a side, so larger ones are simply out of bounds.
MAX_COORD = 4095

#: A cell coordinate, 0 at the left (x) or the top (y).
COORD = Number(minimum=0, maximum=MAX_COORD)

#: A board side, in cells.
SIDE = Number(minimum=1, maximum=MAX_BOARD_SIDE)

#: Most cells a board has: a bound for lists that hold at most one entry per cell or owner.
MAX_CELLS = MAX_BOARD_SIDE * MAX_BOARD_SIDE

#: An arena tick number (0 before the first tick).
TICK = Number(minimum=0)

#: A player's score.
SCORE = Number(minimum=0)

#: A Unix time in seconds, as the server's clock reads it.
UNIX_TIME = Number(minimum=0)

#: The ``seq`` of a stream frame (see :class:`StreamSeq`).
STREAM_SEQ = StreamSeq(minimum=1)
