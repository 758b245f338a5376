"""The generated part of ``docs/protocol.md``: messages, error codes, close codes.

The document keeps its prose by hand; between two marker comments it holds the output of
:func:`render_reference`, and a test fails when that block and the code disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tilemud.protocol._client_messages import CLIENT_MESSAGES
from tilemud.protocol._close_codes import CLOSE_CODES, CloseCode
from tilemud.protocol._error_codes import ERROR_CODES, close_code_for
from tilemud.protocol._schema import describe_class, generate_schemas, render_schema
from tilemud.protocol._server_messages import SERVER_MESSAGES

BEGIN_MARKER = "<!-- BEGIN GENERATED REFERENCE (python -m tilemud.protocol --write) -->"
END_MARKER = "<!-- END GENERATED REFERENCE -->"

_DIRECTIONS = [
    ("client", "Client → server", CLIENT_MESSAGES),
    ("server", "Server → client", SERVER_MESSAGES),
]


def render_reference() -> str:
    """The Markdown of the generated reference, without the markers."""
    schemas = generate_schemas()
    out: list[str] = []
    for direction, title, registry in _DIRECTIONS:
        out += [f"### {title} messages", ""]
        out += ["| `type` | fields (**required**) | summary |", "|---|---|---|"]
        for tag, cls in registry.items():
            schema = schemas[f"{direction}/{tag}.json"]
            names = [
                f"**`{name}`**" if name in schema["required"] else f"`{name}`"
                for name in _field_names(schema)
            ]
            summary = describe_class(cls)[0].split("\n\n")[0]
            out.append(f"| [`{tag}`](#{direction}-{tag}) | {', '.join(names)} | {summary} |")
        out.append("")
        for tag in registry:
            out += _message_section(direction, tag, schemas[f"{direction}/{tag}.json"])
    out += _error_table() + _close_table()
    return "\n".join(out).rstrip("\n") + "\n"


def replace_reference(document: str) -> str:
    """``document`` with the text between the markers replaced by a fresh reference.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    start = document.find(BEGIN_MARKER)
    end = document.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError("the generated-reference markers are missing")
    head = document[: start + len(BEGIN_MARKER)]
    return f"{head}\n\n{render_reference()}\n{document[end:]}"


def write_reference(path: Path) -> bool:
    """Refresh the generated block of the document at ``path``; True when it changed."""
    old = path.read_text(encoding="utf-8")
    new = replace_reference(old)
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old


def _field_names(schema: dict[str, Any]) -> list[str]:
    return [name for name in schema["properties"] if name != "type"]


def _message_section(direction: str, tag: str, schema: dict[str, Any]) -> list[str]:
    arrow = "client → server" if direction == "client" else "server → client"
    lines = [f'<a id="{direction}-{tag}"></a>', "", f"#### `{tag}` ({arrow})", ""]
    lines += [schema.get("description", ""), ""]
    lines += ["| field | JSON type | required | constraints | meaning |", "|---|---|---|---|---|"]
    lines += _field_rows("", schema)
    lines += [
        "",
        f"<details><summary>JSON Schema <code>{direction}/{tag}.json</code></summary>",
        "",
        "```json",
        render_schema(schema).rstrip("\n"),
        "```",
        "",
        "</details>",
        "",
    ]
    return lines


def _field_rows(prefix: str, schema: dict[str, Any]) -> list[str]:
    """One row per field of an object schema, then the rows of the objects nested in it.

    A nested field is named by its path: ``rules.width``, ``rules.tile_kinds[].name``.
    """
    rows: list[str] = []
    for name, prop in schema["properties"].items():
        required = "yes" if name in schema["required"] else "no"
        description = prop.get("description", "").replace("|", "\\|")
        rows.append(
            f"| `{prefix}{name}` | {_type_text(prop)} | {required} | {_constraint_text(prop)} "
            f"| {description} |"
        )
        nested, path = _nested_object(prop, f"{prefix}{name}")
        if nested is not None:
            rows += _field_rows(f"{path}.", nested)
    return rows


def _nested_object(prop: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, str]:
    """The object schema inside a property (itself, its non-null branch, its items)."""
    for branch in prop.get("anyOf", []):
        if branch.get("type") != "null":
            return _nested_object(branch, path)
    if prop.get("type") == "object":
        return prop, path
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        return _nested_object(prop["items"], f"{path}[]")
    return None, path


def _type_text(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f'`"{prop["const"]}"`' if isinstance(prop["const"], str) else f"`{prop['const']}`"
    if "anyOf" in prop:
        return " or ".join(_type_text(branch) for branch in prop["anyOf"])
    if "enum" in prop:
        return "one of " + ", ".join(f"`{value}`" for value in prop["enum"])
    kind = str(prop.get("type", "any"))
    if kind == "array" and "prefixItems" in prop:
        return "[" + ", ".join(_type_text(item) for item in prop["prefixItems"]) + "]"
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"array of {_type_text(prop['items'])}"
    return kind


def _constraint_text(prop: dict[str, Any]) -> str:
    for branch in prop.get("anyOf", []):
        if branch.get("type") != "null":
            return _constraint_text(branch)
    parts: list[str] = []
    low, high = prop.get("minLength"), prop.get("maxLength")
    if low is not None or high is not None:
        parts.append(f"{low or 0} to {high} chars" if high is not None else f"≥ {low} chars")
    if "pattern" in prop:
        parts.append(f"matches `{prop['pattern']}`")
    if "minimum" in prop:
        parts.append(f"≥ {prop['minimum']}")
    if "maximum" in prop:
        parts.append(f"≤ {prop['maximum']}")
    if "exclusiveMinimum" in prop:
        parts.append(f"> {prop['exclusiveMinimum']}")
    if "minItems" in prop or "maxItems" in prop:
        low, high = prop.get("minItems", 0), prop.get("maxItems", "any")
        parts.append(f"exactly {low} items" if low == high else f"{low} to {high} items")
    items = prop.get("items")
    if isinstance(items, dict) and "prefixItems" not in items and _constraint_text(items):
        parts.append(f"each item {_constraint_text(items)}")
    if "default" in prop:
        parts.append(f"default `{prop['default']}`")
    return ", ".join(parts)


def _error_table() -> list[str]:
    lines = [
        "### Error codes",
        "",
        "| `code` | meaning | after `welcome` | before `welcome` | `retry_after` |",
        "|---|---|---|---|---|",
    ]
    for code, info in ERROR_CODES.items():
        after = close_code_for(code, before_welcome=False)
        before = close_code_for(code, before_welcome=True)
        lines.append(
            f"| `{code.value}` | {info.meaning} "
            f"| {_close_text(after)} "
            f"| {_close_text(before)} | {'yes' if info.retry_after else 'no'} |"
        )
    return [*lines, ""]


def _close_text(code: CloseCode | None) -> str:
    return "stays open" if code is None else f"close {int(code)}"


def _close_table() -> list[str]:
    lines = [
        "### Close codes",
        "",
        "| code | name | sent when | `error` frame first | the client should |",
        "|---|---|---|---|---|",
    ]
    for code, info in CLOSE_CODES.items():
        lines.append(
            f"| {int(code)} | `{code.name}` | {info.when} "
            f"| {'yes' if info.error_frame else 'no'} | {info.client_action} |"
        )
    return [*lines, ""]
