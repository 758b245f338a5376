"""The guest login over HTTP (``POST /v1/auth/guest``), with failures named for the report."""

from __future__ import annotations

from typing import Final

import httpx

from tilemud.errors import TilemudError

#: Seconds one login may take (connect, send, answer).
LOGIN_TIMEOUT: Final = 10.0


class LoginFailed(TilemudError):
    """No token: ``code`` says why (``connect_refused``, ``timeout``, ``http_503`` ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code, code=code)


def open_http(base_url: str, *, connections: int = 64) -> httpx.AsyncClient:
    """The HTTP client the bots of one process share for their logins."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=LOGIN_TIMEOUT,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def guest_login(http: httpx.AsyncClient, name: str) -> tuple[str, str]:
    """Log in as a guest called ``name``; returns (token, player_id).

    Raises:
        LoginFailed: the server could not be reached, was too slow, or refused.
    """
    try:
        response = await http.post("/v1/auth/guest", json={"name": name})
    except httpx.ConnectError as exc:
        refused = "refused" in str(exc).lower() or isinstance(exc.__cause__, ConnectionRefusedError)
        raise LoginFailed("connect_refused" if refused else "connect_error") from exc
    except httpx.TimeoutException as exc:
        raise LoginFailed("timeout") from exc
    except httpx.HTTPError as exc:
        raise LoginFailed(f"http_error_{type(exc).__name__}") from exc
    if response.status_code != 200:
        code = f"http_{response.status_code}"
        try:
            error = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            error = None
        raise LoginFailed(f"{code}_{error}" if isinstance(error, str) else code)
    try:
        body = response.json()
        return str(body["token"]), str(body["player_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise LoginFailed("bad_answer") from exc
