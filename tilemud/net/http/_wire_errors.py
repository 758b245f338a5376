"""JSON bodies for the errors Hypercorn answers itself, before any request reaches the app.

Hypercorn's HTTP/1.1 protocol answers a request it cannot parse (a malformed request line,
a bad header, a bad ``Content-Length``: 400), whose head is too large (more than
``h11_max_incomplete_size`` bytes: 431) or whose ``Transfer-Encoding`` it does not support
(501) with an empty body and closes the connection. The
app never sees those requests, so its error handlers cannot help: the response is built in
``hypercorn.protocol.h11.H11Protocol._send_error_response``.

XXX: Hypercorn has no hook for that response, so :func:`install_json_wire_errors` replaces
that one method of ``H11Protocol`` with one that sends the API's error shape. It is a
process-wide change to a third-party class (every Hypercorn server in the process answers
these errors in JSON; tilemud runs one), made once, on purpose, by ``serve_http``; the
replaced method keeps the same contract (status line, ``Connection: close``, the
configured response headers). ``tests/net/http/test_http_wire_errors.py`` checks the
method still exists with the signature it replaces, so a Hypercorn upgrade that moves it
fails a test instead of silently bringing empty bodies back.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Final

import h11
import orjson
from hypercorn.protocol.h11 import H11Protocol

__all__ = ["WIRE_ERRORS", "install_json_wire_errors", "wire_error_body"]

#: ``error.code`` and message of each status Hypercorn answers on its own.
WIRE_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: ("bad_request", "the request could not be parsed as HTTP/1.1"),
    431: ("headers_too_large", "the request line and headers are too large"),
    501: ("not_implemented", "the request uses a transfer coding this server does not support"),
}

_INSTALLED: Final = "_tilemud_json_wire_errors"


def wire_error_body(status: int) -> bytes:
    """The JSON body of a response with ``status`` that Hypercorn sends on its own."""
    code, message = WIRE_ERRORS.get(status, ("bad_request", "the request was refused"))
    return orjson.dumps({"error": {"code": code, "message": message}})


async def _send_json_error_response(self: H11Protocol, status_code: int) -> None:
    body = wire_error_body(status_code)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
    ]
    # The same events and private helper as the method this replaces, plus the body.
    await self._send_h11_event(
        h11.Response(
            status_code=status_code,
            headers=list(chain(headers, self.config.response_headers("h11"))),
        )
    )
    await self._send_h11_event(h11.Data(data=body))
    await self._send_h11_event(h11.EndOfMessage())


def install_json_wire_errors() -> None:
    """Make Hypercorn's own HTTP/1.1 error responses carry the API's error shape.

    Idempotent; see the module docstring for why this patches a Hypercorn class.
    """
    if getattr(H11Protocol, _INSTALLED, False):
        return
    H11Protocol._send_error_response = _send_json_error_response  # type: ignore[method-assign]
    setattr(H11Protocol, _INSTALLED, True)
