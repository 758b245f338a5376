"""The per-address limit on guest logins (``limits.guest_logins``): 429 with ``Retry-After``.

Route tests run the app in process under the autojump clock (the limit runs on Trio time);
the real-socket test uses the real clock with a window of tenths of a second.
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import httpx
import orjson
import pytest
import trio
import trio.testing
from quart.testing import QuartClient
from quart_trio import QuartTrio
from werkzeug.datastructures import Headers

from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, LimitSettings, ServerSettings, Settings
from tilemud.net.http import HealthReport, create_app, serve_http
from tilemud.net.http._addresses import UNKNOWN_ADDRESS, address_key

SECRET = "guest-limit-tests-" + "k" * 40
LOGIN = b'{"name": "Ada"}'


class UpProbe:
    def health(self) -> HealthReport:
        return HealthReport(ok=True)


def make_settings(*, logins: int, window: float) -> Settings:
    return Settings(
        server=ServerSettings(host="127.0.0.1", http_port=0, http_keep_alive_timeout=1.0),
        auth=AuthSettings(secret=SECRET),
        limits=LimitSettings(guest_logins=logins, guest_logins_window=window),
    )


def make_app(*, logins: int, window: float) -> QuartTrio:
    settings = make_settings(logins=logins, window=window)
    return create_app(settings=settings, tokens=TokenAuthority(settings.auth), health=UpProbe())


async def login_from(app: QuartTrio, address: str, body: bytes = LOGIN) -> tuple[int, Headers, Any]:
    client = cast(QuartClient, app.test_client())
    response = await client.open(
        "/v1/auth/guest",
        method="POST",
        data=body,
        headers={"Content-Type": "application/json"},
        scope_base={"client": (address, 40000)},
    )
    data = await response.get_data(as_text=False)
    return response.status_code, response.headers, orjson.loads(data)


async def test_the_next_login_over_the_limit_is_429_until_the_window_frees_a_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = make_app(logins=3, window=60.0)
    # Refused bodies count too: a flood of bad requests is still a flood.
    assert (await login_from(app, "198.51.100.7"))[0] == 200
    await trio.sleep(10)
    assert (await login_from(app, "198.51.100.7", b"{"))[0] == 400
    assert (await login_from(app, "198.51.100.7"))[0] == 200
    await trio.sleep(0.5)

    status, headers, payload = await login_from(app, "198.51.100.7")
    assert status == 429
    # The first login (t=0) leaves the window at t=60; now is t=10.5.
    assert payload == {
        "error": {
            "code": "rate_limited",
            "message": "too many guest logins from this address",
            "retry_after": 50,
        }
    }
    assert headers["Retry-After"] == "50"
    assert headers["Content-Type"] == "application/json"

    # Another address is not affected.
    assert (await login_from(app, "198.51.100.8"))[0] == 200
    # Still refused just before the slot frees, allowed once it does.
    await trio.sleep(49.4)
    status, headers, _ = await login_from(app, "198.51.100.7")
    assert (status, headers["Retry-After"]) == (429, "1")
    await trio.sleep(0.1)
    assert (await login_from(app, "198.51.100.7"))[0] == 200


async def test_an_ipv6_client_is_limited_per_64_network(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = make_app(logins=2, window=60.0)
    assert (await login_from(app, "2001:db8:1:2::1"))[0] == 200
    assert (await login_from(app, "2001:db8:1:2:ffff::9"))[0] == 200
    assert (await login_from(app, "2001:db8:1:2:abcd::1"))[0] == 429
    assert (await login_from(app, "2001:db8:1:3::1"))[0] == 200


async def test_a_limit_of_zero_is_no_limit(autojump_clock: trio.testing.MockClock) -> None:
    app = make_app(logins=0, window=1.0)
    for _ in range(50):
        assert (await login_from(app, "198.51.100.7"))[0] == 200


@pytest.mark.parametrize(
    ("client", "key"),
    [
        (("203.0.113.7", 5000), "203.0.113.7"),
        (["203.0.113.7", 5000], "203.0.113.7"),
        (("::ffff:203.0.113.7", 5000), "203.0.113.7"),
        (("2001:db8::1", 5000), "2001:db8::/64"),
        (("fe80::1%eth0", 5000), "fe80::/64"),
        (("unix-socket", 0), "unix-socket"),
        (None, UNKNOWN_ADDRESS),
        ((), UNKNOWN_ADDRESS),
    ],
)
def test_address_keys(client: object, key: str) -> None:
    assert address_key(client) == key


@pytest.mark.integration
async def test_a_login_flood_over_a_real_socket_is_refused_with_retry_after() -> None:
    window = 0.4
    settings = make_settings(logins=3, window=window)
    app = create_app(settings=settings, tokens=TokenAuthority(settings.auth), health=UpProbe())
    stop = trio.Event()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                partial(serve_http, app, settings.server, shutdown_trigger=stop.wait)
            )
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                started = trio.current_time()
                statuses = []
                for _ in range(10):
                    response = await client.post("/v1/auth/guest", json={"name": "Ada"})
                    statuses.append(response.status_code)
                refused = response
                # The burst is well inside the window: 3 tokens, then refusals.
                assert trio.current_time() - started < window
                assert statuses == [200] * 3 + [429] * 7
                assert refused.headers["retry-after"] == "1"
                assert refused.json()["error"]["code"] == "rate_limited"
                assert refused.json()["error"]["retry_after"] == 1
                await trio.sleep(window)
                again = await client.post("/v1/auth/guest", json={"name": "Ada"})
                assert again.status_code == 200
            stop.set()
