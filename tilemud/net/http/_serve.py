"""Serving the HTTP app with Hypercorn's Trio worker, inside the caller's nursery.

Hypercorn issue #106, and why ``ShieldedHTTPSends`` exists: Quart-Trio runs each request as
two tasks in one nursery, one reading ASGI messages and one sending the response. Sending the
last body chunk makes Hypercorn finish the stream *inside that same ``send`` call*: it
delivers ``http.disconnect`` to the app, whose reader task then cancels the nursery, and only
after that does Hypercorn, still in the cancelled ``send``, either close the socket
(``Connection: close``: ``send_eof`` is a checkpoint, so ``Cancelled`` fires before
``aclose``) or arm the keep-alive idle timer (``TrioSingleTask.restart`` takes a lock, a
checkpoint again). Both are skipped: the socket stays open until the client gives up.
Shielding each ``http`` send lets Hypercorn's connection bookkeeping run to completion.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    Scope,
)

from tilemud.config import ServerSettings
from tilemud.net.http._access_log import AccessLogger
from tilemud.net.http._wire_errors import install_json_wire_errors

__all__ = ["GRACEFUL_TIMEOUT", "ShieldedHTTPSends", "serve_http"]

#: Most seconds in-flight requests get to finish once shutdown begins. HTTP requests here are
#: short; the rest of the tree's ``shutdown_grace`` is left for the game.
GRACEFUL_TIMEOUT: Final = 3.0
#: Seconds a client has to finish its TLS handshake (Hypercorn's default is 60: a socket
#: that never speaks would be held that long).
TLS_HANDSHAKE_TIMEOUT: Final = 5.0

_log = logging.getLogger("tilemud.http")
_access_log = logging.getLogger("tilemud.http.access")


class ShieldedHTTPSends:
    """ASGI middleware that runs every ``send`` of an ``http`` request shielded.

    Workaround for Hypercorn issue #106 (see the module docstring). Websocket and lifespan
    scopes pass through untouched. A send can still block while the client does not read,
    exactly as long as Hypercorn's own (already shielded) socket write would.

    Args:
        app: the ASGI application to wrap.
    """

    def __init__(self, app: ASGIFramework) -> None:
        self.app = app

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def shielded_send(message: ASGISendEvent) -> None:
            with trio.CancelScope(shield=True):
                await send(message)

        await self.app(scope, receive, shielded_send)


class _PortReporter:
    """Turns Hypercorn's ``started(["http://host:port"])`` into ``started(port)``."""

    def __init__(self, outer: trio.TaskStatus[int]) -> None:
        self._outer = outer

    def started(self, value: list[str] | None = None) -> None:
        if not value:
            raise RuntimeError("Hypercorn started without reporting a bound address")
        # Binds look like "http://127.0.0.1:7351" or "http://[::1]:7351".
        self._outer.started(int(value[0].rsplit(":", 1)[1]))


def hypercorn_config(settings: ServerSettings) -> HypercornConfig:
    """The Hypercorn configuration for the HTTP listener described by ``settings``."""
    config = HypercornConfig()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    config.bind = [f"{host}:{settings.http_port}"]
    config.keep_alive_timeout = settings.http_keep_alive_timeout
    config.graceful_timeout = min(GRACEFUL_TIMEOUT, settings.shutdown_grace)
    config.accesslog = _access_log
    config.logger_class = AccessLogger
    config.errorlog = _log
    config.include_server_header = False
    if settings.tls_certfile is not None and settings.tls_keyfile is not None:
        # With both files the bind is served as https:// (h2 or HTTP/1.1 by ALPN).
        config.certfile = str(settings.tls_certfile)
        config.keyfile = str(settings.tls_keyfile)
        config.ssl_handshake_timeout = TLS_HANDSHAKE_TIMEOUT
    return config


async def serve_http(
    app: ASGIFramework,
    settings: ServerSettings,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` over HTTP/1.1 (and h2c), or HTTPS when ``settings`` give the TLS
    certificate and key, until ``shutdown_trigger`` returns.

    Meant for ``nursery.start``. The app is wrapped in ``ShieldedHTTPSends``; the errors
    Hypercorn answers itself (400, 431) get JSON bodies (``install_json_wire_errors``).
    Access lines go to the ``tilemud.http.access`` logger, server errors to ``tilemud.http``.

    Args:
        app: the ASGI application, usually from ``create_app``.
        settings: ``host``, ``http_port`` (0 picks a free port), ``http_keep_alive_timeout``
            and ``tls_certfile`` / ``tls_keyfile`` are used.
        shutdown_trigger: returns when the server should stop: it stops accepting, closes idle
            keep-alive connections, gives in-flight requests up to ``GRACEFUL_TIMEOUT``
            seconds, runs the app's shutdown (Quart's ``after_serving``) and returns.
            Cancelling ``serve_http`` instead stops at once and skips the app's shutdown.
        task_status: receives the TCP port actually bound once the socket is listening.
    """
    config = hypercorn_config(settings)
    install_json_wire_errors()
    await serve(
        ShieldedHTTPSends(app),
        config,
        shutdown_trigger=shutdown_trigger,
        task_status=_PortReporter(task_status),
        mode="asgi",
    )
