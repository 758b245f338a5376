"""The generated JSON Schemas: committed files match the classes; the generator's mapping."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import cattrs
import orjson
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
from tilemud.protocol._fields import MAX_SAFE_INTEGER, Fixed, Items, Number, Text
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


# -- tuples and nested arrays (Fixed, Items of Items) -----------------------------------


@attrs.frozen(kw_only=True)
class Tally:
    """Tuples of mixed kinds.

    Attributes:
        pair: a name and a count.
        rows: rows of (x, name).
        grid: small arrays of small numbers.
        maybe: an optional pair.
    """

    TYPE: ClassVar[str] = "tally"

    pair: tuple[str, int] = attrs.field(validator=Fixed(Text(min_length=1), Number(minimum=0)))
    rows: tuple[tuple[int, str], ...] = attrs.field(
        validator=Items(item=Fixed(Number(maximum=9), Text(max_length=2)), max_items=2)
    )
    grid: tuple[tuple[int, ...], ...] = attrs.field(
        validator=Items(item=Items(item=Number(minimum=0), max_items=2), max_items=2)
    )
    maybe: tuple[str, bool] | None = attrs.field(default=None, validator=Fixed(Text(), None))


TALLY: dict[str, Any] = {"pair": ["a", 1], "rows": [[1, "ab"]], "grid": [[0, 1], []]}


def test_generator_maps_fixed_and_nested_arrays() -> None:
    props = message_schema(Tally, direction="server")["properties"]
    assert props["pair"] | {"description": ""} == {
        "type": "array",
        "prefixItems": [
            {"type": "string", "minLength": 1},
            {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
        ],
        "items": False,
        "minItems": 2,
        "maxItems": 2,
        "description": "",
    }
    row = props["rows"]["items"]
    assert row["prefixItems"][0]["maximum"] == 9
    assert row["prefixItems"][1] == {"type": "string", "maxLength": 2}
    assert (row["items"], row["minItems"], row["maxItems"]) == (False, 2, 2)
    assert props["grid"]["items"] == {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
        "maxItems": 2,
    }
    assert props["maybe"]["anyOf"][0]["prefixItems"][1] == {"type": "boolean"}


def test_converter_structures_tuples_as_tuples() -> None:
    tally = CONVERTER.structure({**TALLY, "maybe": ["x", True]}, Tally)
    assert tally == Tally(pair=("a", 1), rows=((1, "ab"),), grid=((0, 1), ()), maybe=("x", True))
    wire = orjson.loads(orjson.dumps(CONVERTER.unstructure(tally)))
    assert wire == {**TALLY, "maybe": ["x", True]}
    assert CONVERTER.structure(wire, Tally) == tally


@pytest.mark.parametrize(
    "change",
    [
        {"pair": ["a"]},
        {"pair": ["a", 1, 2]},
        {"pair": [1, "a"]},
        {"pair": ["", 1]},
        {"pair": ["a", -1]},
        {"pair": ["a", True]},
        {"pair": {"0": "a", "1": 1}},
        {"rows": [[10, "ab"]]},
        {"rows": [[1, "abc"]]},
        {"rows": [[1, "a"], [1, "a"], [1, "a"]]},
        {"rows": [[1]]},
        {"grid": [[0, -1]]},
        {"grid": [[0, 1, 2]]},
        {"grid": [0]},
        {"maybe": ["x", 1]},
        {"maybe": ["x"]},
    ],
)
def test_converter_and_schema_both_reject_bad_tuples(change: dict[str, Any]) -> None:
    payload = {**TALLY, **change}
    with pytest.raises(cattrs.BaseValidationError):
        CONVERTER.structure(payload, Tally)
    assert schema_errors(message_schema(Tally, direction="server"), payload)


@pytest.mark.parametrize(
    ("constraint", "value", "found"),
    [
        (Fixed(Text(min_length=1), None), ("a", object()), None),
        (Fixed(Text(min_length=1), None), ("", 1), ("[0]", "must not be empty")),
        (Fixed(Text(), Number()), ("a",), ("", "must have exactly 2 items, got 1")),
        (Fixed(Text()), "a", ("", 'expected an array, got string "a"')),
        (Items(item=Fixed(Number(maximum=1))), [(0,), (2,)], ("[1][0]", "must be <= 1, got 2")),
        (
            Items(item=Items(item=Text(max_length=1))),
            [[], ["a", "bc"]],
            ("[1][1]", "must be at most 1 characters, got 2"),
        ),
    ],
)
def test_constraints_locate_the_problem(
    constraint: Fixed | Items, value: object, found: tuple[str, str] | None
) -> None:
    assert constraint.locate(value) == found
    assert constraint.problem(value) == (None if found is None else _joined(found))


def _joined(found: tuple[str, str]) -> str:
    return f"{found[0]}: {found[1]}" if found[0] else found[1]


def test_validators_name_the_nested_place() -> None:
    with pytest.raises(ValueError, match=r"^rows\[0\]\[1\]: must be at most 2 characters"):
        Tally(pair=("a", 1), rows=((1, "abc"),), grid=())


@attrs.frozen(kw_only=True)
class _FixedOnVariadic:
    TYPE: ClassVar[str] = "bad"
    xs: tuple[int, ...] = attrs.field(validator=Fixed(Number()))


@attrs.frozen(kw_only=True)
class _FixedOfWrongLength:
    TYPE: ClassVar[str] = "bad"
    xs: tuple[int, int] = attrs.field(validator=Fixed(Number()))


@attrs.frozen(kw_only=True)
class _TextOnArray:
    TYPE: ClassVar[str] = "bad"
    xs: tuple[str, ...] = attrs.field(validator=Text())


@pytest.mark.parametrize("cls", [_FixedOnVariadic, _FixedOfWrongLength, _TextOnArray])
def test_generator_refuses_misplaced_array_constraints(cls: type[Any]) -> None:
    with pytest.raises(TypeError, match=r"Fixed|Items"):
        message_schema(cls, direction="client")


def test_nested_objects_are_closed_and_described() -> None:
    def objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
        found = [schema] if schema.get("type") == "object" else []
        for key in ("properties",):
            for sub in schema.get(key, {}).values():
                found += objects(sub)
        for sub in [*schema.get("anyOf", []), *schema.get("prefixItems", [])]:
            found += objects(sub)
        if isinstance(schema.get("items"), dict):
            found += objects(schema["items"])
        return found

    for name, schema in generate_schemas().items():
        for obj in objects(schema):
            assert obj["additionalProperties"] is False, name
            for prop in obj["properties"].values():
                assert prop.get("description"), f"{name}: every nested field is described"
