"""The HTTP access log: the same lines as Hypercorn's own atoms give, built on demand."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import trio
from hypercorn.logging import AccessLogAtoms

from tests.net.http.test_http_server import DEADLINE, open_server
from tilemud.config import ServerSettings
from tilemud.net.http._access_log import _Atoms
from tilemud.net.http._serve import hypercorn_config

DEFAULT = hypercorn_config(ServerSettings()).access_log_format
# Atoms the quick path does not know go to Hypercorn's whole dict: same answers.
OTHERS = "%(m)s %(U)s %(q)s %(H)s %(st)s %(S)s %({x-trace}i)s %({content-type}o)s %(D)s %(nope)s"

HTTP: dict[str, Any] = {
    "type": "http",
    "method": "POST",
    "path": "/v1/auth/guest",
    "query_string": b"a=1",
    "http_version": "1.1",
    "scheme": "http",
    "client": ("127.0.0.1", 40000),
    "headers": [
        (b"host", b"127.0.0.1"),
        (b"User-Agent", b"first"),
        (b"user-agent", b"second"),  # Hypercorn's dict keeps the last
        (b"referer", b"http://game.example/"),
        (b"x-trace", b"abc"),
    ],
}
WEBSOCKET: dict[str, Any] = {
    **HTTP,
    "type": "websocket",
    "client": None,
    "headers": [(b"host", b"x")],
}
del WEBSOCKET["http_version"]
ONE_PART_CLIENT: dict[str, Any] = {**HTTP, "client": ("/run/socket",)}
ANSWER: dict[str, Any] = {
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"Content-Length", b"312")],
}
NO_LENGTH: dict[str, Any] = {"status": 599, "headers": []}


@pytest.mark.parametrize("line", [DEFAULT, OTHERS])
@pytest.mark.parametrize("request_scope", [HTTP, WEBSOCKET, ONE_PART_CLIENT])
@pytest.mark.parametrize("response", [ANSWER, NO_LENGTH, None])
def test_lines_equal_hypercorns(
    line: str,
    request_scope: dict[str, Any],
    response: dict[str, Any] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("time.strftime", lambda fmt: "[06/Dec/2026:01:02:03 +0000]")
    quick = _Atoms(request_scope, response, 0.25)
    assert line % quick == line % AccessLogAtoms(request_scope, response, 0.25)  # type: ignore[arg-type]


def test_logging_takes_the_atoms_as_the_lines_mapping() -> None:
    """logging uses a lone mapping argument for %(name)s only if it is true."""
    record = logging.LogRecord(
        "x", logging.INFO, "f", 1, DEFAULT, (_Atoms(HTTP, ANSWER, 0.1),), None
    )
    assert record.getMessage().startswith("127.0.0.1:40000 - - [")
    assert record.getMessage().endswith(
        '"POST /v1/auth/guest 1.1" 200 312 "http://game.example/" "second"'
    )


async def test_a_real_request_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tilemud.http.access")
    with trio.fail_after(DEADLINE):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as http:
            response = await http.get("/healthz", headers={"User-Agent": "probe/1"})
    assert response.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "tilemud.http.access"]
    # (Hypercorn may add a line without a status when the stream closes: its own habit.)
    length = response.headers["content-length"]
    answered = [
        line for line in lines if line.endswith(f'"GET /healthz 1.1" 200 {length} "-" "probe/1"')
    ]
    assert len(answered) == 1
    assert answered[0].startswith("127.0.0.1:")
