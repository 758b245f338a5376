"""The doorway of the player port: the HTTP upgrade, and who is refused there.

A connection is refused before it is a WebSocket, with an HTTP error in the API's shape:
a malformed upgrade (400), a wrong path (404), a foreign ``Origin`` (403,
``gateway.allowed_origins``), or an address over its connection-attempt limit (429 with
``Retry-After``: ``gateway.connect_attempts`` per ``gateway.connect_window``, sliding).
"""

from __future__ import annotations

import logging

import trio

from tilemud.cluster.ratelimit import InProcessRateLimiter
from tilemud.config import GatewaySettings
from tilemud.protocol import ErrorCode
from tilemud.wire import BadUpgrade, ConnectionClosed, Limits, Upgrade, UpgradeRequest, WebSocket

log = logging.getLogger("tilemud.gateway")


class Doorway:
    """Upgrades accepted sockets to WebSockets, or refuses them.

    Args:
        settings: the gateway's settings (path, origins, limits of the wire).
    """

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._limits = Limits(
            max_message_bytes=settings.max_frame_bytes,
            close_timeout=settings.close_timeout,
            frame_rate=settings.frame_rate,
            frame_burst=settings.frame_burst,
        )
        self._attempts = InProcessRateLimiter(
            limit=settings.connect_attempts, window=settings.connect_window
        )

    async def open(self, stream: trio.abc.Stream, address: str | None) -> WebSocket | None:
        """The HTTP upgrade of ``stream`` (from ``address``), or None when it was refused
        (the answer is sent)."""
        upgrade = Upgrade(stream)
        try:
            request = await upgrade.receive_request()
        except BadUpgrade as bad:
            await upgrade.refuse(bad.status, ErrorCode.BAD_REQUEST, str(bad), headers=bad.headers)
            return None
        except ConnectionClosed:
            return None
        if address is not None:
            retry_after = await self._attempts.acquire(f"connect:{address}")
            if retry_after is not None:
                log.info("connection attempts over the limit", extra={"address": address})
                message = "too many connection attempts from this address"
                await upgrade.refuse(429, ErrorCode.RATE_LIMITED, message, retry_after=retry_after)
                return None
        refusal = self._refusal(request)
        if refusal is not None:
            status, code, message = refusal
            await upgrade.refuse(status, code, message)
            return None
        return await upgrade.accept(self._limits)

    def _refusal(self, request: UpgradeRequest) -> tuple[int, str, str] | None:
        """Why the upgrade is refused (status, code, message), or None."""
        if request.path != self._settings.path:
            return 404, "not_found", f"unknown path; players connect to {self._settings.path}"
        allowed = self._settings.allowed_origins
        if request.origin is not None and "*" not in allowed and request.origin not in allowed:
            log.info("foreign origin refused", extra={"origin": request.origin})
            return 403, "forbidden_origin", "this origin may not connect to the game"
        return None
