"""Errors Hypercorn answers by itself carry the API's JSON error shape (raw sockets).

A malformed request line or header (400), a request head over Hypercorn's limit (431) and
an unsupported transfer coding (501) never reach the app; ``serve_http`` makes their bodies
JSON. Also ``OPTIONS`` on any route: 405, not an empty 200. Real server on loopback, the
real clock, absolute deadlines.
"""

from __future__ import annotations

import inspect

import pytest
import trio
from hypercorn.protocol.h11 import H11Protocol

from tests.net.http.test_http_server import (
    DEADLINE,
    assert_eof,
    open_server,
    read_response,
    request_bytes,
)
from tilemud.net.http import ERROR_CODES
from tilemud.net.http._wire_errors import WIRE_ERRORS

pytestmark = pytest.mark.integration

# Hypercorn's default h11_max_incomplete_size is 16 KiB: an unfinished head of 20 KB is
# over it.
HUGE_HEADER = "X-Padding: " + "a" * 20_000


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        pytest.param(
            b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400, "bad_request", id="line"
        ),
        pytest.param(
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
            400,
            "bad_request",
            id="tls-on-http",
        ),
        pytest.param(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            400,
            "bad_request",
            id="header-name",
        ),
        pytest.param(
            b"POST /v1/auth/guest HTTP/1.1\r\nHost: x\r\nContent-Length: nine\r\n\r\n",
            400,
            "bad_request",
            id="content-length",
        ),
        pytest.param(
            # Never finished: over the limit while incomplete (h11 judges the buffer).
            f"GET /healthz HTTP/1.1\r\nHost: x\r\n{HUGE_HEADER}".encode(),
            431,
            "headers_too_large",
            id="head-too-large",
        ),
        pytest.param(
            b"POST /v1/auth/guest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            "not_implemented",
            id="transfer-coding",
        ),
    ],
)
async def test_errors_below_the_app_have_json_bodies(raw: bytes, status: int, code: str) -> None:
    with trio.fail_after(DEADLINE):
        async with open_server() as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                await stream.send_all(raw)
                response = await read_response(stream)
                assert response.status == status
                assert response.headers["content-type"] == "application/json"
                assert response.headers["connection"] == "close"
                payload = response.json()
                assert set(payload) == {"error"}
                assert payload["error"]["code"] == code
                assert payload["error"]["message"]
                await assert_eof(stream)


@pytest.mark.parametrize(
    ("path", "allow"),
    [("/healthz", "GET, HEAD"), ("/v1/auth/guest", "POST"), ("/no/such/route", None)],
)
async def test_options_is_not_a_method_any_route_takes(path: str, allow: str | None) -> None:
    with trio.fail_after(DEADLINE):
        async with open_server() as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                await stream.send_all(request_bytes("OPTIONS", path))
                response = await read_response(stream)
                if allow is None:
                    assert response.status == 404
                else:
                    assert response.status == 405
                    assert response.headers["allow"] == allow
                    assert response.json()["error"]["code"] == "method_not_allowed"


def test_every_wire_error_code_is_documented() -> None:
    for code, _ in WIRE_ERRORS.values():
        assert code in ERROR_CODES


def test_the_patched_hypercorn_method_is_still_there() -> None:
    """When this fails, Hypercorn changed the method ``install_json_wire_errors`` replaces."""
    signature = inspect.signature(H11Protocol._send_error_response)
    assert list(signature.parameters) == ["self", "status_code"]
    assert hasattr(H11Protocol, "_send_h11_event")
