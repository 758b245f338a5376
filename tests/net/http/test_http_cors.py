"""CORS on the HTTP API (``server.cors_origins``): preflights and marked responses for the
allowed origins, nothing for the others. In process for the rules, and once over a real
socket with a real client.
"""

from __future__ import annotations

from functools import partial
from typing import cast

import httpx
import pytest
import trio
from quart.testing import QuartClient
from quart_trio import QuartTrio
from werkzeug.datastructures import Headers

from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, ServerSettings, Settings, load_settings
from tilemud.errors import ConfigError
from tilemud.net.http import HealthReport, create_app, serve_http

SECRET = "cors-tests-" + "k" * 40
GAME = "https://game.example.com"
EVIL = "https://evil.example.net"
CORS_HEADERS = {
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
    "access-control-allow-credentials",
}


class UpProbe:
    def health(self) -> HealthReport:
        return HealthReport(ok=True)


def make_settings(origins: tuple[str, ...]) -> Settings:
    return Settings(
        server=ServerSettings(host="127.0.0.1", http_port=0, cors_origins=origins),
        auth=AuthSettings(secret=SECRET),
    )


def make_app(origins: tuple[str, ...]) -> QuartTrio:
    settings = make_settings(origins)
    return create_app(settings=settings, tokens=TokenAuthority(settings.auth), health=UpProbe())


async def call(
    app: QuartTrio, method: str, path: str, headers: dict[str, str]
) -> tuple[int, Headers]:
    client = cast(QuartClient, app.test_client())
    response = await client.open(path, method=method, headers=headers)
    return response.status_code, response.headers


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type",
    }


def cors_headers(headers: Headers) -> set[str]:
    return {name.lower() for name, _ in headers.items() if name.lower() in CORS_HEADERS}


async def test_a_preflight_from_an_allowed_origin_is_answered() -> None:
    app = make_app((GAME,))
    status, headers = await call(app, "OPTIONS", "/v1/auth/guest", preflight(GAME))
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == GAME
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in headers

    status, headers = await call(app, "OPTIONS", "/v1/replays/a_1", preflight(GAME, "GET"))
    assert status == 204
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("origin", "method", "path", "status"),
    [
        (EVIL, "POST", "/v1/auth/guest", 405),  # another origin
        (GAME.replace("https", "http"), "POST", "/v1/auth/guest", 405),  # another scheme
        (GAME, "DELETE", "/v1/auth/guest", 405),  # a method the route does not take
        (GAME, "GET", "/no/such/route", 404),
    ],
)
async def test_other_preflights_are_ordinary_options_requests(
    origin: str, method: str, path: str, status: int
) -> None:
    app = make_app((GAME,))
    got, headers = await call(app, "OPTIONS", path, preflight(origin, method))
    assert got == status
    allowed = {"access-control-allow-origin"} if origin == GAME else set()
    # Never the preflight headers; only an allowed origin is named.
    assert cors_headers(headers) == allowed


async def test_responses_to_an_allowed_origin_are_marked() -> None:
    app = make_app((GAME,))
    status, headers = await call(app, "GET", "/healthz", {"Origin": GAME})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == GAME
    assert headers["Access-Control-Expose-Headers"] == "Retry-After"
    assert "Origin" in headers["Vary"]
    # Errors too: a page must be able to read them.
    status, headers = await call(app, "GET", "/nowhere", {"Origin": GAME})
    assert (status, headers["Access-Control-Allow-Origin"]) == (404, GAME)
    status, headers = await call(app, "GET", "/healthz", {"Origin": EVIL})
    assert status == 200
    assert cors_headers(headers) == set()
    assert "Origin" in headers["Vary"]


async def test_any_origin_when_the_list_says_star() -> None:
    app = make_app(("*",))
    status, headers = await call(app, "OPTIONS", "/v1/auth/guest", preflight(EVIL))
    assert (status, headers["Access-Control-Allow-Origin"]) == (204, "*")
    status, headers = await call(app, "GET", "/healthz", {"Origin": EVIL})
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_no_origins_means_same_origin_only() -> None:
    app = make_app(())
    status, headers = await call(app, "OPTIONS", "/v1/auth/guest", preflight(GAME))
    assert status == 405
    assert cors_headers(headers) == set()
    status, headers = await call(app, "GET", "/healthz", {"Origin": GAME})
    assert cors_headers(headers) == set()


@pytest.mark.parametrize(
    "origin",
    ["game.example.com", "https://game.example.com/", "https://Game.example.com", "ftp://a.b"],
)
def test_malformed_origins_are_refused_at_load(origin: str) -> None:
    with pytest.raises(ConfigError, match="cors_origins"):
        load_settings(env={"TILEMUD_CORS_ORIGINS": origin})


def test_origins_from_the_environment_are_a_comma_separated_list() -> None:
    env = {"TILEMUD_CORS_ORIGINS": f"{GAME}, http://localhost:5173"}
    assert load_settings(env=env).server.cors_origins == (GAME, "http://localhost:5173")


@pytest.mark.integration
async def test_cors_over_a_real_socket() -> None:
    settings = make_settings((GAME,))
    app = create_app(settings=settings, tokens=TokenAuthority(settings.auth), health=UpProbe())
    stop = trio.Event()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                partial(serve_http, app, settings.server, shutdown_trigger=stop.wait)
            )
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                answered = await client.options("/v1/auth/guest", headers=preflight(GAME))
                assert answered.status_code == 204
                assert answered.headers["access-control-allow-origin"] == GAME
                refused = await client.options("/v1/auth/guest", headers=preflight(EVIL))
                assert refused.status_code == 405
                assert "access-control-allow-origin" not in refused.headers
                login = await client.post(
                    "/v1/auth/guest", json={"name": "Ada"}, headers={"Origin": GAME}
                )
                assert login.status_code == 200
                assert login.headers["access-control-allow-origin"] == GAME
            stop.set()
