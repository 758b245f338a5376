"""Where a bot connects in a cluster: ``GET /v1/discovery?mode=&region=``.

With ``--discover`` each bot asks the HTTP API it logged in with before every connection
(and after a ``join`` answered ``elsewhere``, or a node that closed or vanished) and opens
its WebSocket at the node the answer names, as a real client of a cluster does
(docs/operations.md, "Running a cluster"). Refusals are named for the report.
"""

from __future__ import annotations

import httpx

from tilemud.errors import TilemudError


class DiscoveryFailed(TilemudError):
    """No node to connect to: ``code`` says why (``http_503_unavailable``, ``timeout`` ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code, code=code)


async def discover_ws_url(http: httpx.AsyncClient, *, mode: str, region: str) -> str:
    """The WebSocket URL of the node a player of ``mode`` and ``region`` should play on.

    Raises:
        DiscoveryFailed: the API could not be reached, or named no node.
    """
    try:
        response = await http.get("/v1/discovery", params={"mode": mode, "region": region})
    except httpx.TimeoutException as exc:
        raise DiscoveryFailed("timeout") from exc
    except httpx.HTTPError as exc:
        raise DiscoveryFailed(f"http_error_{type(exc).__name__}") from exc
    try:
        body = response.json()
    except ValueError as exc:
        raise DiscoveryFailed(f"http_{response.status_code}") from exc
    if response.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code") if isinstance(error, dict) else None
        raise DiscoveryFailed(f"http_{response.status_code}_{code}")
    ws_url = body.get("ws_url") if isinstance(body, dict) else None
    if not isinstance(ws_url, str):
        raise DiscoveryFailed("bad_answer")
    return ws_url
