"""schemathesis over every admin route of a running server, with admin credentials.

Requests are generated from the served ``/openapi.json`` (valid ones, and invalid ones:
wrong types, missing keys, out-of-range numbers), sent over a real socket with an admin
token, and each answer is checked: never a server error (5xx other than a documented 503),
every error in the API's one shape ``{"error": {"code", "message"}}`` with a documented
code, the status code, content type and body as the document says.

Bounded: a fixed number of examples per operation and mode, derandomized, no example
database, so the run is the same every time and takes seconds. The server runs on the
Trio loop; schemathesis (sync, ``requests``) runs in a worker thread against it.

Testing policy: loopback, port 0, real clock, an absolute ``trio.fail_after``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import httpx
import orjson
import schemathesis
import trio
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.integration.harness import bot, make_settings, running_server
from tests.integration.test_admin import token_for
from tilemud.net.http import ERROR_CODES
from tilemud.protocol import Join, Joined

#: Examples per admin operation and generation mode.
EXAMPLES: Final = 10
#: Operations left out, and why: each has tests of its own through the same door.
#: A drain ends the server under test by design (tests/integration/test_drain_alone.py).
LEFT_OUT: Final = {"POST /v1/admin/drain"}
CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(document: dict[str, Any], base_url: str, token: str) -> list[str]:
    """Run every admin operation's examples; returns the operations run."""
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {token}"}
    ran = []
    for result in schema.get_all_operations():
        # The document is the server's own: an operation it cannot read is a failure.
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        if not operation.path.startswith("/v1/admin/"):
            continue
        if f"{operation.method.upper()} {operation.path}" in LEFT_OUT:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Case[Any]) -> None:
                response = case.call(base_url=base_url, headers=headers, timeout=10)
                case.validate_response(response, checks=CHECKS)
                assert response.status_code < 500 or response.status_code == 503, response.text
                if response.status_code >= 400:
                    body = orjson.loads(response.content)
                    assert set(body) == {"error"}, body
                    assert {"code", "message"} <= set(body["error"]), body
                    assert body["error"]["code"] in ERROR_CODES, body

            call()
        ran.append(f"{operation.method.upper()} {operation.path}")
    return ran


async def test_every_admin_route_survives_schemathesis(tmp_path: Path) -> None:
    with trio.fail_after(240):
        async with running_server(make_settings(tmp_path)) as server:
            # Something to find: a player, a battle with its replay, a rule version.
            async with bot(server, "p_fuzz") as client:
                seated = await client.request(
                    Join(rid=client.next_rid(), mode="battle", region="eu")
                )
                assert isinstance(seated, Joined)
            token = token_for(server, "admin", player_id="admin:fuzz")
            async with httpx.AsyncClient(base_url=server.addresses.http_url) as http:
                document = (await http.get("/openapi.json")).json()
            ran = await trio.to_thread.run_sync(fuzz, document, server.addresses.http_url, token)
    admin_paths = [p for p in document["paths"] if p.startswith("/v1/admin/")]
    documented = sum(len(document["paths"][p]) for p in admin_paths)
    assert len(ran) == documented - len(LEFT_OUT), ran
