"""Who may use the admin API, and the strict JSON bodies its routes read.

Every route under ``/v1/admin/`` except the sign-in wants ``Authorization: Bearer`` with
an access token carrying an admin role: ``moderator`` (moderation, reports) or ``admin``
(also the audit log; an admin may do all a moderator may). No token, or a bad one: 401
(``missing_token``, ``invalid_token``, ``token_expired``); a good token without the role
(a guest's, a player's, a moderator's on an admin-only route): 403 ``forbidden``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from quart import request
from werkzeug.exceptions import HTTPException

from tilemud.auth import Claims, TokenAuthority, has_role
from tilemud.errors import ProtocolError, TilemudError
from tilemud.net.http._replays import bearer_claims


class Forbidden(TilemudError):
    """A good token without the role a route needs (answered 403 ``forbidden``)."""


class UnsupportedMediaType(HTTPException):
    """A body that is not ``application/json`` (answered 415)."""

    code = 415
    description = "send the body as application/json"


def claims_with_role(tokens: TokenAuthority, role: str) -> Claims:
    """The caller's claims, when their token carries ``role`` (or a stronger one).

    Raises:
        AuthError: no usable token (401).
        Forbidden: the token lacks the role (403).
    """
    claims = bearer_claims(tokens)
    if not has_role(claims.roles, role):
        raise Forbidden(f"this route needs the {role!r} role", code="forbidden")
    return claims


async def json_object(
    required: Mapping[str, type | tuple[type, ...]],
    optional: Mapping[str, type | tuple[type, ...]] | None = None,
) -> dict[str, Any]:
    """The request body as a JSON object with exactly these keys and types.

    ``bool`` is not an ``int`` here, and a number is an ``int`` or a ``float``.

    Raises:
        ProtocolError: ``bad_json`` or ``bad_request`` (400).
        UnsupportedMediaType: not ``application/json`` (415).
    """
    if request.mimetype != "application/json":
        raise UnsupportedMediaType()
    raw = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"body is not valid JSON: {exc}", code="bad_json") from exc
    allowed = {**required, **(optional or {})}
    if not isinstance(body, dict):
        raise ProtocolError("body must be a JSON object", code="bad_request")
    missing = sorted(set(required) - set(body))
    extra = sorted(set(body) - set(allowed))
    if missing or extra:
        raise ProtocolError(
            f"body keys: missing {missing}, not allowed {extra}", code="bad_request"
        )
    for key, value in body.items():
        wanted = allowed[key]
        if value is None and key in (optional or {}):
            continue
        if isinstance(value, bool) and bool not in _as_tuple(wanted):
            raise ProtocolError(f"{key!r} has the wrong type", code="bad_request")
        if not isinstance(value, wanted):
            raise ProtocolError(f"{key!r} has the wrong type", code="bad_request")
    return body


def _as_tuple(wanted: type | tuple[type, ...]) -> tuple[type, ...]:
    return wanted if isinstance(wanted, tuple) else (wanted,)
