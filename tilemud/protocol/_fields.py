"""Field constraints of wire messages: declared once, checked and published from one place.

A message field names its constraint as its attrs validator::

    rid: str = attrs.field(validator=RID)

The same object checks every value when a message is built (by the decoder or by server
code) and renders its JSON Schema keywords (``minLength``, ``maximum`` ...), so the
validation and the published schemas cannot drift apart. A field with a validator that is
not one of these constraints makes schema generation fail on purpose.

A ``None`` passes a constraint only when the field defaults to ``None`` (an optional field);
anywhere else it is rejected like any other value of the wrong kind.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeAlias

import attrs

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
        if value is None and _allows_none(attribute):
            return
        problem = self.problem(value)
        if problem is not None:
            raise ConstraintError(attribute.name, problem)

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
        if value is None and _allows_none(attribute):
            return
        problem = self.problem(value)
        if problem is not None:
            raise ConstraintError(attribute.name, problem)

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
class Items:
    """An array field (``tuple[X, ...]``): length bounds and a constraint on every item.

    Attributes:
        item: the constraint each item must meet, or None.
        min_items: fewest items allowed.
        max_items: most items allowed, or None for no limit.
    """

    item: Text | Number | None = None
    min_items: int = 0
    max_items: int | None = None

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        """Check ``value`` as an attrs validator; raises :class:`ConstraintError`."""
        if value is None and _allows_none(attribute):
            return
        if not isinstance(value, (tuple, list)):
            raise ConstraintError(attribute.name, f"expected an array, got {json_kind(value)}")
        if len(value) < self.min_items:
            raise ConstraintError(
                attribute.name, f"must have at least {self.min_items} items, got {len(value)}"
            )
        if self.max_items is not None and len(value) > self.max_items:
            raise ConstraintError(
                attribute.name, f"must have at most {self.max_items} items, got {len(value)}"
            )
        if self.item is not None:
            for index, item in enumerate(value):
                problem = self.item.problem(item)
                if problem is not None:
                    raise ConstraintError(f"{attribute.name}[{index}]", problem)

    def schema(self) -> dict[str, Any]:
        """The JSON Schema keywords of the array itself (the item's go under ``items``)."""
        keywords: dict[str, Any] = {}
        if self.min_items:
            keywords["minItems"] = self.min_items
        if self.max_items is not None:
            keywords["maxItems"] = self.max_items
        return keywords


#: Every kind of constraint a wire field may carry.
Constraint: TypeAlias = Text | Number | Items

#: The request id: chosen by the client, echoed in the answer.
RID = Text(min_length=1, max_length=MAX_RID_LENGTH)
