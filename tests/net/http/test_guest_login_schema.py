"""The guest login's request schema in openapi.json states every rule the server enforces.

The schema is read by a small evaluator of exactly the keywords it uses (the test fails if
another keyword appears), and compared with the server: on examples through a real server
(schema-valid bodies get 200, schema-invalid ones 400), and as a property over generated
names (for a name in NFC, the schema and ``check_player_name`` agree).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import unicodedata
from typing import Any

import httpx
import pytest
import trio
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.net.http.test_http_server import open_server
from tilemud.errors import ProtocolError
from tilemud.net.http import check_player_name, openapi_document


@functools.cache
def request_schema() -> dict[str, Any]:
    schema = openapi_document(version="test")["components"]["schemas"]["GuestLoginRequest"]
    assert isinstance(schema, dict)
    return schema


@functools.cache
def name_regex() -> re.Pattern[str]:
    return re.compile(request_schema()["properties"]["name"]["pattern"])


def schema_accepts(body: object) -> bool:
    """Evaluate the request schema, knowing every keyword it uses."""
    schema = request_schema()
    assert set(schema) <= {"type", "required", "additionalProperties", "properties"}
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    if not isinstance(body, dict):
        return False
    if set(body) - set(schema["properties"]) or set(schema["required"]) - set(body):
        return False
    name_schema = schema["properties"]["name"]
    assert set(name_schema) <= {"type", "minLength", "pattern", "description", "examples"}
    assert name_schema["type"] == "string"
    name = body["name"]
    return (
        isinstance(name, str)
        and len(name) >= name_schema["minLength"]
        and name_regex().search(name) is not None
    )


def server_accepts(name: str) -> bool:
    try:
        check_player_name(name)
    except ProtocolError:
        return False
    return True


NAMES = [
    "Ada",
    "  Ada Lovelace\t",
    "a" * 24,
    "a" * 25,
    " " + "b" * 24 + " ",
    "tile_mud-42",
    "Zoë",
    "東京",
    "٣٤",
    "\U0001d49cda",  # a mathematical script letter, outside the BMP
    "",
    "   ",
    "A  B",
    "A\tB",
    "Ada!",
    "Ada\u00a0L",
    "😀",
    "\u3164",
    "x\u200b",
    "Ada\u0000",
    "-",
    "_ _",
]


def test_the_examples_in_the_schema_are_accepted() -> None:
    for name in request_schema()["properties"]["name"]["examples"]:
        assert schema_accepts({"name": name})
        assert server_accepts(name)


@pytest.mark.parametrize("name", NAMES)
def test_schema_and_server_agree_on_examples(name: str) -> None:
    assert schema_accepts({"name": name}) == server_accepts(name)


_NAME_CHARS = st.one_of(
    st.sampled_from(list(" _-\t\u00a0\u3000\u3164\u115faZé9٣東\u0301!")),
    st.characters(codec="utf-8"),
)


@settings(max_examples=1500)
@given(st.text(_NAME_CHARS, max_size=30))
@example(" " + "a" * 24)
@example("a " + "b" * 22)
@example("a" * 23 + " ")
def test_for_names_in_nfc_the_schema_states_exactly_the_server_rules(name: str) -> None:
    name = unicodedata.normalize("NFC", name)
    assert schema_accepts({"name": name}) == server_accepts(name), repr(name)


@pytest.mark.integration
async def test_the_server_answers_as_the_schema_says() -> None:
    bodies: list[object] = [{"name": name} for name in NAMES]
    bodies += [{"name": "Ada", "extra": 1}, {}, {"name": 7}, {"name": None}, ["Ada"], "Ada"]
    with trio.fail_after(20):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as client:
            for body in bodies:
                response = await client.post("/v1/auth/guest", json=body)
                expected = 200 if schema_accepts(body) else 400
                assert response.status_code == expected, (body, response.text)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run ECMA-262 regexes")
def test_ecma_262_reads_the_pattern_as_python_does() -> None:
    """JSON Schema patterns are ECMA-262: a JavaScript client must reach the same verdicts."""
    pattern = request_schema()["properties"]["name"]["pattern"]
    script = (
        "const [pattern, names] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const re = new RegExp(pattern, 'u');"
        "process.stdout.write(JSON.stringify(names.map((n) => re.test(n))));"
    )
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "-e", script],
        input=json.dumps([pattern, NAMES]),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(result.stdout) == [name_regex().search(n) is not None for n in NAMES]
