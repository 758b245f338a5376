"""The API's JSON responses: a body, or an error in the one error shape."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson
from quart import Response
from quart_trio.wrappers import TrioResponse


def json_response(
    body: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A response whose body is ``body`` as JSON (encoded with orjson)."""
    return TrioResponse(
        orjson.dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json",
    )


def error_response(
    status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
) -> Response:
    """A response in the API's one error shape: ``{"error": {"code": ..., "message": ...}}``."""
    body = {"error": {"code": code, "message": message}}
    return json_response(body, status=status, headers=headers)


def retry_later_response(
    code: str, message: str, *, retry_after: float, status: int = 503
) -> Response:
    """A 503 (or ``status``, e.g. 429) that says when to come back.

    ``error.retry_after`` and the ``Retry-After`` header carry the same whole number of
    seconds, rounded up and at least 1: the header takes no fractions (RFC 9110), and a
    client should read one value from either place.
    """
    seconds = max(1, math.ceil(retry_after))
    body = {"error": {"code": code, "message": message, "retry_after": seconds}}
    return json_response(body, status=status, headers={"Retry-After": str(seconds)})
