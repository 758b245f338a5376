"""The generated JSON Schemas: committed files match the classes; the generator's mapping."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import cattrs
import pytest

from tests.protocol.protocol_support import CLIENT_EXAMPLES, SERVER_EXAMPLES, schema_errors
from tilemud.protocol import (
    CLIENT_MESSAGES,
    SCHEMA_DIR,
    SERVER_MESSAGES,
    check_schemas,
    encode_client,
    encode_server,
    generate_schemas,
    write_schemas,
)
from tilemud.protocol._converter import make_wire_converter
from tilemud.protocol._fields import MAX_SAFE_INTEGER, Items, Number, Text
from tilemud.protocol._schema import describe_class, message_schema, render_schema


def test_committed_schemas_match_the_classes() -> None:
    drift = check_schemas(SCHEMA_DIR)
    assert drift == [], f"run `python -m tilemud.protocol --write`; drifted: {drift}"


def test_one_schema_per_message() -> None:
    names = set(generate_schemas())
    assert names == {f"client/{tag}.json" for tag in CLIENT_MESSAGES} | {
        f"server/{tag}.json" for tag in SERVER_MESSAGES
    }


def test_committed_files_are_stable_json() -> None:
    for path in SCHEMA_DIR.glob("*/*.json"):
        text = path.read_text(encoding="utf-8")
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_every_schema_is_closed_and_typed() -> None:
    for name, schema in generate_schemas().items():
        tag = name.split("/")[1].removesuffix(".json")
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["additionalProperties"] is False
        assert schema["properties"]["type"]["const"] == tag
        assert "type" in schema["required"]
        assert schema["required"] == sorted(schema["required"])
        for prop in schema["properties"].values():
            assert prop.get("description"), f"{name}: every field is described"


def test_examples_validate_against_their_schemas() -> None:
    schemas = generate_schemas()
    for tag, client_message in CLIENT_EXAMPLES.items():
        payload = json.loads(encode_client(client_message))
        assert schema_errors(schemas[f"client/{tag}.json"], payload) == []
    for tag, server_message in SERVER_EXAMPLES.items():
        payload = json.loads(encode_server(server_message))
        assert schema_errors(schemas[f"server/{tag}.json"], payload) == []


def test_rid_constraint_is_in_the_schema() -> None:
    ping = generate_schemas()["client/ping.json"]
    assert ping["properties"]["rid"] | {"description": ""} == {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "description": "",
    }
    hello = generate_schemas()["client/hello.json"]["properties"]
    assert hello["v"]["minimum"] == 1
    assert hello["v"]["maximum"] == MAX_SAFE_INTEGER
    assert hello["token"]["minLength"] == 1
    assert hello["resume_token"]["anyOf"][1] == {"type": "null"}


def test_write_then_check(tmp_path: Path) -> None:
    written = write_schemas(tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == set(generate_schemas())
    assert check_schemas(tmp_path) == []
    assert write_schemas(tmp_path) == [], "unchanged files are not rewritten"


def test_check_reports_changed_missing_and_extra(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    (tmp_path / "client/ping.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "server/pong.json").unlink()
    (tmp_path / "server/gone.json").write_text("{}\n", encoding="utf-8")
    assert check_schemas(tmp_path) == ["client/ping.json", "server/gone.json", "server/pong.json"]
    touched = write_schemas(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in touched] == [
        "client/ping.json",
        "server/gone.json",
        "server/pong.json",
    ]
    assert not (tmp_path / "server/gone.json").exists()
    assert check_schemas(tmp_path) == []


# -- the generator's type mapping, on classes made for the test --------------------------


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


@attrs.frozen(kw_only=True)
class Cell:
    """A board cell.

    Attributes:
        x: column.
        y: row.
    """

    x: int = attrs.field(validator=Number(minimum=0, maximum=99))
    y: int = attrs.field(validator=Number(minimum=0, maximum=99))


@attrs.frozen(kw_only=True)
class PlaceTiles:
    """Place some tiles.

    Second paragraph.

    Attributes:
        rid: request id.
        cells: where, with a description
            spread over two lines.
        colour: which colour.
        mode: how.
        labels: free labels.
        corner: a pair.
        weight: how heavy.
        note: optional note.
    """

    TYPE: ClassVar[str] = "place_tiles"

    rid: str = attrs.field(validator=Text(min_length=1, max_length=64))
    cells: tuple[Cell, ...] = attrs.field(validator=Items(min_items=1, max_items=3))
    colour: Colour = Colour.RED
    mode: Literal["fast", "slow"] = "fast"
    labels: list[str] = attrs.field(factory=list, validator=Items(item=Text(max_length=3)))
    corner: tuple[int, str] = attrs.field(validator=Items(item=None))
    weight: float = attrs.field(default=1.0, validator=Number(exclusive_minimum=0))
    note: str | None = attrs.field(default=None, validator=Text(max_length=10))


def test_generator_maps_every_supported_type() -> None:
    schema = message_schema(PlaceTiles, direction="client")
    props = schema["properties"]
    assert schema["description"] == "Place some tiles.\n\nSecond paragraph."
    assert schema["required"] == ["cells", "corner", "rid", "type"]
    assert props["cells"]["description"] == "Where, with a description spread over two lines."
    assert props["cells"]["type"] == "array"
    assert (props["cells"]["minItems"], props["cells"]["maxItems"]) == (1, 3)
    cell = props["cells"]["items"]
    assert cell["type"] == "object"
    assert cell["additionalProperties"] is False
    assert cell["required"] == ["x", "y"]
    assert cell["properties"]["x"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 99,
        "description": "Column.",
    }
    assert props["colour"] == {
        "type": "string",
        "enum": ["red", "blue"],
        "default": "red",
        "description": "Which colour.",
    }
    assert props["mode"]["enum"] == ["fast", "slow"]
    assert props["mode"]["default"] == "fast"
    assert props["labels"]["items"] == {"type": "string", "maxLength": 3}
    assert "default" not in props["labels"]
    assert props["corner"]["prefixItems"][1] == {"type": "string"}
    assert (props["corner"]["items"], props["corner"]["minItems"]) == (False, 2)
    assert props["weight"]["exclusiveMinimum"] == 0
    assert props["note"]["anyOf"] == [{"type": "string", "maxLength": 10}, {"type": "null"}]
    assert render_schema(schema).endswith("}\n")


CONVERTER = make_wire_converter()
GOOD: dict[str, Any] = {"rid": "r", "cells": [{"x": 1, "y": 2}], "corner": [1, "a"]}


def test_converter_handles_the_same_types() -> None:
    placed = CONVERTER.structure(
        {**GOOD, "colour": "blue", "mode": "slow", "labels": ["a"], "weight": 2}, PlaceTiles
    )
    assert placed.cells == (Cell(x=1, y=2),)
    assert placed.colour is Colour.BLUE
    assert placed.corner == (1, "a")
    assert placed.labels == ["a"]
    assert placed.weight == 2.0
    assert CONVERTER.unstructure(placed)["colour"] == "blue"
    assert "note" not in CONVERTER.unstructure(placed)


@pytest.mark.parametrize(
    "change",
    [
        {"cells": "xy"},  # a string is not an array (cattrs would iterate it)
        {"cells": {"x": 1, "y": 2}},
        {"cells": [[1, 2]]},
        {"cells": [{"x": 1, "y": 2, "z": 3}]},
        {"cells": [{"x": "1", "y": 2}]},
        {"cells": []},
        {"cells": [{"x": 100, "y": 2}]},
        {"colour": "green"},
        {"colour": 1},
        {"mode": True},
        {"mode": "FAST"},
        {"labels": ["toolong"]},
        {"labels": "abc"},
        {"corner": [1]},
        {"corner": [1, "a", 2]},
        {"corner": ["a", 1]},
        {"weight": 0},
        {"weight": False},
        {"note": 5},
    ],
)
def test_converter_and_schema_both_reject(change: dict[str, Any]) -> None:
    payload = {**GOOD, **change}
    with pytest.raises(cattrs.BaseValidationError):
        CONVERTER.structure(payload, PlaceTiles)
    assert schema_errors(message_schema(PlaceTiles, direction="client"), payload)


@attrs.frozen(kw_only=True)
class _Unsupported:
    TYPE: ClassVar[str] = "bad"
    choice: int | str = attrs.field(validator=Number())


@attrs.frozen(kw_only=True)
class _ForeignValidator:
    TYPE: ClassVar[str] = "bad"
    name: str = attrs.field(validator=attrs.validators.max_len(3))


class _Level(enum.IntEnum):
    LOW = 1


@attrs.frozen(kw_only=True)
class _IntEnumField:
    TYPE: ClassVar[str] = "bad"
    level: _Level = _Level.LOW


@pytest.mark.parametrize("cls", [_Unsupported, _ForeignValidator, _IntEnumField])
def test_generator_refuses_what_it_cannot_express(cls: type[Any]) -> None:
    with pytest.raises(TypeError):
        message_schema(cls, direction="client")


def test_describe_class_without_attributes() -> None:
    class Plain:
        """Just text,
        on two lines."""

    assert describe_class(Plain) == ("Just text, on two lines.", {})
