"""JSON Schemas (draft 2020-12) generated from the message classes.

Each message gets one schema, ``client/<type>.json`` or ``server/<type>.json``, built by
walking its attrs fields:

- ``str`` / ``int`` / ``float`` / ``bool`` -> ``string`` / ``integer`` / ``number`` /
  ``boolean``, plus the keywords of the field's constraint (``_fields``); integers are
  bounded to +-(2**53 - 1) so that JavaScript reads them exactly;
- ``Literal[...]`` -> ``const`` or ``enum``; a ``StrEnum`` -> ``enum`` (other enums are refused);
- ``X | None`` -> ``anyOf: [X, null]`` (the field defaults to None and may be absent);
- ``tuple[X, ...]`` / ``list[X]`` -> ``array`` with ``items`` (an ``Items`` constraint gives
  the bounds, and its ``item`` constraint goes to ``items``); ``tuple[A, B]`` ->
  ``prefixItems`` with ``items: false`` and ``minItems`` = ``maxItems`` = 2 (a ``Fixed``
  constraint gives each position its own); a nested attrs class -> an inline object;
- ``type`` is a ``const``; ``required`` is ``type`` plus every field without a default;
  ``additionalProperties`` is false everywhere.

Descriptions come from the class docstring: its text before ``Attributes:`` describes the
message, each ``Attributes:`` entry its field. Output is stable (sorted keys, two-space
indent, trailing newline) so the committed files diff cleanly.

One deliberate difference from plain JSON Schema: ``integer`` in these schemas means a JSON
number written without a fraction or exponent; the codec rejects ``7.0`` for an integer
field, while a generic validator would accept it.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import attrs

from tilemud.protocol._client_messages import CLIENT_MESSAGES
from tilemud.protocol._fields import MAX_SAFE_INTEGER, Fixed, Items, Number, Text
from tilemud.protocol._server_messages import SERVER_MESSAGES
from tilemud.protocol._versions import PROTOCOL_VERSION

#: The committed schemas, inside the package.
SCHEMA_DIR = Path(__file__).parent / "schemas"

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DIRECTIONS = {"client": CLIENT_MESSAGES, "server": SERVER_MESSAGES}
_ENTRY = re.compile(r"^(\w+)(?: \([^)]*\))?: (.*)$")


def generate_schemas() -> dict[str, dict[str, Any]]:
    """Build the schema of every registered message.

    Returns:
        ``{"client/hello.json": {...}, "server/welcome.json": {...}, ...}``, in sorted order.
    """
    schemas: dict[str, dict[str, Any]] = {}
    for direction, registry in _DIRECTIONS.items():
        for tag, cls in registry.items():
            schemas[f"{direction}/{tag}.json"] = message_schema(cls, direction=direction)
    return dict(sorted(schemas.items()))


def message_schema(cls: type[Any], *, direction: str) -> dict[str, Any]:
    """The schema of one message class (see the module docstring for the mapping)."""
    tag: str = cls.TYPE
    schema = _object_schema(cls)
    tag_schema = {"const": tag, "description": "The message tag."}
    schema["properties"] = {"type": tag_schema, **schema["properties"]}
    schema["required"] = sorted([*schema["required"], "type"])
    return {
        "$schema": _DIALECT,
        "$id": f"urn:tilemud:protocol:v{PROTOCOL_VERSION}:{direction}:{tag}",
        "title": tag,
        **schema,
    }


def render_schema(schema: dict[str, Any]) -> str:
    """The committed text of a schema: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema under ``directory`` and delete stale ones.

    Only files whose content changes are rewritten. Stale files are the ``*.json`` files in
    ``client/`` and ``server/`` that no message produces any more.

    Returns:
        The paths created, rewritten or deleted, sorted.
    """
    touched: list[Path] = []
    wanted = {name: render_schema(schema) for name, schema in generate_schemas().items()}
    for name, text in wanted.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            touched.append(path)
    for name in _committed(directory) - set(wanted):
        path = directory / name
        path.unlink()
        touched.append(path)
    return sorted(touched)


def check_schemas(directory: Path) -> list[str]:
    """Compare the schemas under ``directory`` with the message classes.

    Returns:
        The names (``client/hello.json`` ...) that are missing, differ, or belong to no
        message, sorted; empty when everything matches.
    """
    wanted = {name: render_schema(schema) for name, schema in generate_schemas().items()}
    drifted = {
        name
        for name, text in wanted.items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != text
    }
    return sorted(drifted | (_committed(directory) - set(wanted)))


def _committed(directory: Path) -> set[str]:
    return {
        f"{direction}/{path.name}"
        for direction in _DIRECTIONS
        for path in (directory / direction).glob("*.json")
    }


def describe_class(cls: type[Any]) -> tuple[str, dict[str, str]]:
    """Split a Google docstring into the class description and its ``Attributes:`` entries.

    Returns:
        The text before ``Attributes:`` (paragraphs kept, lines joined) and
        ``{field name: description}``.
    """
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    cut = next((i for i, line in enumerate(lines) if line.strip() == "Attributes:"), len(lines))
    paragraphs = "\n".join(lines[:cut]).split("\n\n")
    summary = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    fields: dict[str, str] = {}
    current: str | None = None
    for line in lines[cut + 1 :]:
        if not line.strip():
            current = None
            continue
        indent = len(line) - len(line.lstrip())
        match = _ENTRY.match(line.strip())
        if indent <= 4 and match is not None:
            current = match.group(1)
            fields[current] = match.group(2)
        elif current is not None and indent > 4:
            fields[current] += " " + line.strip()
        else:
            current = None
    return _markdown(summary), {name: _sentence(_markdown(text)) for name, text in fields.items()}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _json_value(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_json_value(item) for item in value]
    return value


def _markdown(text: str) -> str:
    return text.replace("``", "`")


def _object_schema(cls: type[Any]) -> dict[str, Any]:
    summary, field_docs = describe_class(cls)
    hints = get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        prop = _type_schema(
            hints[field.name], field.validator, where=f"{cls.__name__}.{field.name}"
        )
        if field.name in field_docs:
            prop["description"] = field_docs[field.name]
        if field.default is attrs.NOTHING:
            required.append(field.name)
        elif isinstance(field.default, (str, int, float, bool, enum.Enum, tuple)):
            prop["default"] = _json_value(field.default)
        properties[field.name] = prop
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": sorted(required),
        "additionalProperties": False,
    }
    if summary:
        schema["description"] = summary
    return schema


def _type_schema(tp: Any, constraint: object, *, where: str) -> dict[str, Any]:
    """The schema of one type, with the keywords of its field's constraint merged in."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        others = [arg for arg in args if arg is not type(None)]
        if len(others) != 1 or len(args) != 2:
            raise TypeError(f"{where}: only `X | None` unions can go on the wire, got {tp}")
        return {"anyOf": [_type_schema(others[0], constraint, where=where), {"type": "null"}]}
    if origin is Literal:
        return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
    if origin in (tuple, list):
        return _array_schema(origin, args, constraint, where=where)
    if constraint is not None and not isinstance(constraint, (Text, Number)):
        raise TypeError(f"{where}: validator {constraint!r} cannot be expressed in a schema")
    keywords = constraint.schema() if constraint is not None else {}
    if tp is str and not isinstance(constraint, Number):
        return {"type": "string", **keywords}
    if tp is float and not isinstance(constraint, Text):
        return {"type": "number", **keywords}
    if tp is int and not isinstance(constraint, Text):
        low = max(keywords.get("minimum", -MAX_SAFE_INTEGER), -MAX_SAFE_INTEGER)
        high = min(keywords.get("maximum", MAX_SAFE_INTEGER), MAX_SAFE_INTEGER)
        return {"type": "integer", **keywords, "minimum": low, "maximum": high}
    if tp is bool and constraint is None:
        return {"type": "boolean"}
    if isinstance(tp, type) and issubclass(tp, enum.StrEnum) and constraint is None:
        return {"type": "string", "enum": [member.value for member in tp]}
    if attrs.has(tp) and constraint is None:
        return _object_schema(tp)
    raise TypeError(f"{where}: no schema for {tp!r} with constraint {constraint!r}")


def _array_schema(
    origin: Any, args: tuple[Any, ...], constraint: object, *, where: str
) -> dict[str, Any]:
    variadic = origin is list or (len(args) == 2 and args[1] is Ellipsis)
    schema: dict[str, Any] = {"type": "array"}
    if isinstance(constraint, Fixed):
        if variadic or len(constraint.items) != len(args):
            raise TypeError(f"{where}: a Fixed() needs a tuple of {len(constraint.items)} types")
        positions = constraint.items
    elif constraint is None or isinstance(constraint, Items):
        item = constraint.item if constraint is not None else None
        positions = (item,) * (1 if variadic else len(args))
    else:
        raise TypeError(f"{where}: an array field takes an Items() or a Fixed() constraint")
    if variadic:
        schema["items"] = _type_schema(args[0], positions[0], where=f"{where}[]")
    else:
        schema["prefixItems"] = [
            _type_schema(arg, item, where=f"{where}[{i}]")
            for i, (arg, item) in enumerate(zip(args, positions, strict=True))
        ]
        schema.update(items=False, minItems=len(args), maxItems=len(args))
    if constraint is not None:
        schema.update(constraint.schema())
    return schema
