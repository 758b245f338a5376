"""CORS: which web pages may call the HTTP API from a browser (``server.cors_origins``).

A response to a request whose ``Origin`` is allowed carries ``Access-Control-Allow-Origin``
(the origin itself, or ``*`` when any origin is allowed), ``Vary: Origin`` and
``Access-Control-Expose-Headers: Retry-After`` (so a page can read when to retry a 429 or a
503). A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from
an allowed origin, for a method the route takes, is answered 204 with the route's methods,
the request headers the API reads (``Authorization``, ``Content-Type``) and a max age.
Anything else gets no CORS header at all: a preflight from another origin, or for a method
the route does not take, is an ordinary ``OPTIONS`` request and answers 405 (or 404).

No credentials: the API takes bearer tokens, never cookies, so
``Access-Control-Allow-Credentials`` is never sent and ``*`` is safe to answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

__all__ = ["ALLOWED_REQUEST_HEADERS", "PREFLIGHT_MAX_AGE", "install_cors"]

#: Request headers a page may send: what the API reads.
ALLOWED_REQUEST_HEADERS: Final = ("Authorization", "Content-Type")
#: Seconds a browser may cache a preflight answer.
PREFLIGHT_MAX_AGE: Final = 600


class _CorsPolicy:
    def __init__(self, origins: Iterable[str]) -> None:
        allowed = frozenset(origins)
        self._any = "*" in allowed
        self._origins = allowed - {"*"}

    def allow_origin_header(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, or None: not allowed."""
        if origin is None:
            return None
        if self._any:
            return "*"
        return origin if origin in self._origins else None


def install_cors(app: QuartTrio, origins: Iterable[str]) -> None:
    """Answer CORS preflights and mark responses for the allowed ``origins``.

    Args:
        app: the API application (routes already added or not: matching is per request).
        origins: ``server.cors_origins``; empty installs nothing (same origin only).
    """
    allowed = tuple(origins)
    if not allowed:
        return
    policy = _CorsPolicy(allowed)

    async def answer_preflight() -> Response | None:
        if request.method != "OPTIONS":
            return None
        allow = policy.allow_origin_header(request.headers.get("Origin"))
        wanted = request.headers.get("Access-Control-Request-Method")
        if allow is None or wanted is None:
            return None
        methods = _route_methods(app, wanted)
        if methods is None:
            return None  # not a route, or not a method it takes: 404/405 as usual
        response = Response(b"", status=204)
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ", ".join(ALLOWED_REQUEST_HEADERS)
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response

    async def mark_response(response: Response) -> Response:
        allow = policy.allow_origin_header(request.headers.get("Origin"))
        # The answer depends on Origin whenever origins are configured: caches must know.
        response.vary.add("Origin")
        if allow is not None:
            response.headers["Access-Control-Allow-Origin"] = allow
            if request.method != "OPTIONS":
                response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        return response

    app.before_request(answer_preflight)
    app.after_request(mark_response)


def _route_methods(app: QuartTrio, method: str) -> list[str] | None:
    """The methods of the route at this request's path, if it takes ``method``."""
    adapter = app.create_url_adapter(request)
    if adapter is None:
        return None
    try:
        rule, _ = adapter.match(method=method.upper(), return_rule=True)
    except HTTPException:
        return None
    return sorted(rule.methods or {method.upper()})
