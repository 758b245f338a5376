"""The strict cattrs converter of the wire protocol.

cattrs is lenient by default: it coerces (``"7"`` -> 7, ``7.9`` -> 7, ``True`` passes as a
``Literal[1]``), iterates a string into a tuple of characters and ignores unknown keys.
Every such door is shut here:

- ``str``, ``int``, ``bool`` accept exactly their JSON kind (an ``int`` is not a ``bool``
  and a ``bool`` is not an ``int``; ``7.0`` is not an ``int`` either); an ``int`` is
  within +-(2**53 - 1), what a JavaScript client reads exactly;
- ``float`` accepts a JSON integer too (JSON has one number type) and returns a float;
- ``Literal[...]`` compares type and value;
- arrays must be JSON arrays, objects JSON objects; unknown keys are errors;
- ``X | None`` accepts ``null`` or an X; a field that defaults to None may also be absent,
  and is *omitted* when unstructured as None;
- a field constrained by a :class:`~tilemud.protocol._fields.StreamSeq` is checked against
  its wire rule while structuring: the ``UNSTAMPED`` 0 its validator lets through in memory
  is no valid ``seq`` on the wire.

This module knows nothing of the ``type`` tag: the codec strips it before structuring and
adds it after unstructuring. cattrs' tagged-union strategy is not used: with
``forbid_extra_keys`` it rejects the tag key itself (cattrs issue #402), and unstructuring a
union member without ``unstructure_as`` silently leaves the tag out.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from tilemud.protocol._fields import MAX_SAFE_INTEGER, StreamSeq, json_kind

_Hook = Callable[[Any, Any], Any]


class WireTypeError(TypeError):
    """A JSON value of the wrong kind for its field (``"7"`` for an integer ...).

    A ``TypeError`` on purpose, as cattrs expects of structure hooks; it never leaves the
    codec, which reports it as a :class:`~tilemud.errors.ProtocolError`.
    """

    def __init__(self, expected: str, value: object) -> None:
        super().__init__(f"expected {expected}, got {json_kind(value)}")


def make_wire_converter() -> cattrs.Converter:
    """Build the strict converter; it is complete when returned and never changed after."""
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    # These dispatch on the MRO: a StrEnum is a str, so it needs its own, more specific hook.
    conv.register_structure_hook(enum.StrEnum, _structure_str_enum)
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_array, lambda tp: _array_hook(conv, tp))
    conv.register_structure_hook_factory(attrs.has, lambda cls: _object_hook(conv, cls))
    # A float field built from an int (`server_time=2`) still goes out as `2.0`.
    conv.register_unstructure_hook(float, float)
    conv.register_unstructure_hook_factory(attrs.has, lambda cls: _omit_none_hook(conv, cls))
    return conv


def _structure_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise WireTypeError("a string", value)
    return value


def _structure_int(value: object, _: object) -> int:
    if type(value) is not int:
        raise WireTypeError("an integer", value)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"must be an integer of magnitude at most {MAX_SAFE_INTEGER} (2**53 - 1)")
    return value


def _structure_float(value: object, _: object) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise WireTypeError("a number", value)


def _structure_bool(value: object, _: object) -> bool:
    if type(value) is not bool:
        raise WireTypeError("a boolean", value)
    return value


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _literal_hook(tp: Any) -> _Hook:
    allowed = get_args(tp)
    expected = " or ".join(_literal_text(choice) for choice in allowed)

    def structure(value: object, _: object) -> object:
        # `True == 1` in Python: compare the exact type too.
        for choice in allowed:
            if type(value) is type(choice) and value == choice:
                return value
        raise WireTypeError(expected, value)

    return structure


def _literal_text(choice: object) -> str:
    if isinstance(choice, str):
        return f'"{choice}"'
    return str(choice).lower() if isinstance(choice, bool) else str(choice)


def _structure_str_enum(value: object, tp: type[enum.StrEnum]) -> enum.StrEnum:
    if isinstance(value, str):
        try:
            return tp(value)
        except ValueError:
            pass
    raise WireTypeError("one of " + ", ".join(f'"{member.value}"' for member in tp), value)


def _is_array(tp: Any) -> bool:
    return get_origin(tp) in (tuple, list)


def _array_hook(conv: cattrs.Converter, tp: Any) -> _Hook:
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is list:
        item_types: list[Any] | None = None
        repeated = args[0]
    elif len(args) == 2 and args[1] is Ellipsis:
        item_types, repeated = None, args[0]
    else:
        item_types, repeated = list(args), None

    def structure(value: object, _: object) -> object:
        if not isinstance(value, list):
            raise WireTypeError("an array", value)
        if item_types is not None and len(value) != len(item_types):
            raise WireTypeError(f"an array of {len(item_types)} items", value)
        items: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            item_type = repeated if item_types is None else item_types[index]
            try:
                items.append(conv.structure(item, item_type))
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"item {index}", index, item_type),
                ]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
        return items if origin is list else tuple(items)

    return structure


def _object_hook(conv: cattrs.Converter, cls: type[Any]) -> _Hook:
    wire_checked: dict[str, Any] = {
        field.name: override(struct_hook=_stream_seq_hook(field.validator))
        for field in attrs.fields(cls)
        if isinstance(field.validator, StreamSeq)
    }
    inner = make_dict_structure_fn(cls, conv, **wire_checked)

    def structure(value: object, _: object) -> object:
        # The generated function would fail on a non-dict with an arbitrary exception.
        if not isinstance(value, dict):
            raise WireTypeError("an object", value)
        return inner(value, cls)

    return structure


def _stream_seq_hook(constraint: StreamSeq) -> _Hook:
    def structure(value: object, _: object) -> int:
        seq = _structure_int(value, _)
        problem = constraint.problem(seq)
        if problem is not None:
            raise ValueError(problem)
        return seq

    return structure


def _omit_none_hook(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    omit: dict[str, Any] = {
        field.name: override(omit_if_default=True)
        for field in attrs.fields(cls)
        if field.default is None
    }
    return make_dict_unstructure_fn(cls, conv, **omit)
