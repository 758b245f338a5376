"""Route-level tests of the HTTP API through Quart's in-process test client.

No sockets here: ``test_http_server.py`` covers the real Hypercorn server.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import attrs
import orjson
import pytest
from quart.testing import QuartClient
from quart_trio import QuartTrio
from werkzeug.datastructures import Headers

import tilemud.net.http
from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, Settings
from tilemud.net.http import MAX_BODY_BYTES, HealthReport, create_app

SECRET = "route-tests-" + "k" * 40


@attrs.define
class FakeProbe:
    report: HealthReport = attrs.field(
        factory=lambda: HealthReport(ok=True, details={"sessions": 3, "tree": "running"})
    )
    calls: int = 0

    def health(self) -> HealthReport:
        self.calls += 1
        return self.report


def make_app(
    *, guest_login: bool = True, probe: FakeProbe | None = None
) -> tuple[QuartTrio, TokenAuthority]:
    auth = AuthSettings(secret=SECRET, guest_login=guest_login)
    tokens = TokenAuthority(auth)
    app = create_app(settings=Settings(auth=auth), tokens=tokens, health=probe or FakeProbe())
    return app, tokens


async def call(
    app: QuartTrio,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[int, Headers, Any]:
    # quart.typing's client protocol makes `json` mandatory; the real client does not.
    client = cast(QuartClient, app.test_client())
    headers = {"Content-Type": content_type} if body is not None else {}
    response = await client.open(path, method=method, data=body, headers=headers)
    data = await response.get_data(as_text=False)
    assert response.mimetype == "application/json", data
    return response.status_code, response.headers, orjson.loads(data)


def assert_error(payload: Any, code: str) -> None:
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message"}
    assert payload["error"]["code"] == code
    assert isinstance(payload["error"]["message"], str)
    assert payload["error"]["message"]


def test_public_surface() -> None:
    assert sorted(tilemud.net.http.__all__) == sorted(
        [
            "ADMIN_ROLE",
            "ConsoleNode",
            "ConsoleSessions",
            "ERROR_CODES",
            "FigureRing",
            "GRACEFUL_TIMEOUT",
            "MAX_BODY_BYTES",
            "MAX_NAME_LENGTH",
            "REPLAY_FORMAT",
            "DatabaseCheck",
            "HealthProbe",
            "HealthReport",
            "NodeReadiness",
            "ReadinessProbe",
            "ReadinessReport",
            "ReplayDocument",
            "ReplayFormatError",
            "ShieldedHTTPSends",
            "check_player_name",
            "create_app",
            "openapi_document",
            "parse_replay_document",
            "replay_document",
            "serve_http",
        ]
    )
    for name in tilemud.net.http.__all__:
        assert getattr(tilemud.net.http, name) is not None


# --- /healthz ----------------------------------------------------------------------------


async def test_healthz_ok() -> None:
    probe = FakeProbe()
    app, _ = make_app(probe=probe)
    status, headers, payload = await call(app, "GET", "/healthz")
    assert status == 200
    assert payload == {"status": "ok", "sessions": 3, "tree": "running"}
    assert headers["Cache-Control"] == "no-store"
    assert probe.calls == 1


async def test_healthz_unavailable() -> None:
    report = HealthReport(ok=False, details={"tree": "restarting", "status": "ignored"})
    app, _ = make_app(probe=FakeProbe(report=report))
    status, _, payload = await call(app, "GET", "/healthz")
    assert status == 503
    assert payload == {"status": "unavailable", "tree": "restarting"}


async def test_healthz_probe_bug_is_a_json_500(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenProbe:
        def health(self) -> HealthReport:
            raise RuntimeError("tree exploded")

    auth = AuthSettings(secret=SECRET)
    app = create_app(
        settings=Settings(auth=auth), tokens=TokenAuthority(auth), health=BrokenProbe()
    )
    with caplog.at_level(logging.ERROR, logger="tilemud.http"):
        status, _, payload = await call(app, "GET", "/healthz")
    assert status == 500
    assert_error(payload, "internal")
    assert "tree exploded" not in orjson.dumps(payload).decode()
    assert any("unhandled error" in record.message for record in caplog.records)


# --- /v1/auth/guest ----------------------------------------------------------------------


async def test_guest_login_mints_a_verifiable_token() -> None:
    app, tokens = make_app()
    status, headers, payload = await call(
        app, "POST", "/v1/auth/guest", body=b'{"name": "  Ada Lovelace "}'
    )
    assert status == 200, payload
    assert set(payload) == {"token", "token_type", "player_id", "name", "expires_at"}
    assert payload["token_type"] == "Bearer"
    assert payload["name"] == "Ada Lovelace"
    assert headers["Cache-Control"] == "no-store"
    claims = tokens.verify_access(payload["token"])
    assert claims.player_id == payload["player_id"]
    assert claims.name == "Ada Lovelace"
    assert claims.roles == ("guest",)
    assert payload["expires_at"] == int(claims.expires_at)
    assert isinstance(payload["expires_at"], int)


async def test_each_guest_login_is_a_new_player() -> None:
    app, _ = make_app()
    ids = set()
    for _ in range(3):
        _, _, payload = await call(app, "POST", "/v1/auth/guest", body=b'{"name": "Ada"}')
        ids.add(payload["player_id"])
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"", "bad_json", id="empty"),
        pytest.param(b"{", "bad_json", id="truncated"),
        pytest.param(b"\xff\xfe", "bad_json", id="not-utf8"),
        pytest.param(b"[]", "bad_request", id="array"),
        pytest.param(b'"Ada"', "bad_request", id="string"),
        pytest.param(b"{}", "bad_request", id="no-name"),
        pytest.param(b'{"name": 7}', "bad_request", id="numeric-name"),
        pytest.param(b'{"name": null}', "bad_request", id="null-name"),
        pytest.param(b'{"name": "Ada", "admin": true}', "bad_request", id="extra-key"),
        pytest.param(b'{"name": ""}', "bad_name", id="empty-name"),
        pytest.param(b'{"name": "   "}', "bad_name", id="blank-name"),
        pytest.param(b'{"name": "' + b"a" * 25 + b'"}', "bad_name", id="too-long"),
        pytest.param(b'{"name": "Ada\\u0000"}', "bad_name", id="control-char"),
        pytest.param(b'{"name": "<script>"}', "bad_name", id="markup"),
    ],
)
async def test_guest_login_rejects_bad_bodies(body: bytes, code: str) -> None:
    app, _ = make_app()
    status, _, payload = await call(app, "POST", "/v1/auth/guest", body=body)
    assert status == 400
    assert_error(payload, code)


async def test_guest_login_wants_json() -> None:
    app, _ = make_app()
    status, _, payload = await call(
        app, "POST", "/v1/auth/guest", body=b'{"name": "Ada"}', content_type="text/plain"
    )
    assert status == 415
    assert_error(payload, "unsupported_media_type")


async def test_guest_login_accepts_a_charset_parameter() -> None:
    app, _ = make_app()
    status, _, _ = await call(
        app,
        "POST",
        "/v1/auth/guest",
        body=b'{"name": "Ada"}',
        content_type="application/json; charset=utf-8",
    )
    assert status == 200


async def test_guest_login_refuses_huge_bodies() -> None:
    app, _ = make_app()
    body = b'{"name": "' + b"a" * MAX_BODY_BYTES + b'"}'
    status, _, payload = await call(app, "POST", "/v1/auth/guest", body=body)
    assert status == 413
    assert_error(payload, "payload_too_large")


async def test_guest_login_can_be_switched_off() -> None:
    app, _ = make_app(guest_login=False)
    status, _, payload = await call(app, "POST", "/v1/auth/guest", body=b'{"name": "Ada"}')
    assert status == 403
    assert_error(payload, "guest_login_disabled")


# --- unknown routes and methods ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/nope", "/v1/auth", "/static/app.js", "/healthz/x"])
async def test_unknown_paths_are_json_404(path: str) -> None:
    app, _ = make_app()
    status, _, payload = await call(app, "GET", path)
    assert status == 404
    assert_error(payload, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/auth/guest", "POST"),
        ("DELETE", "/healthz", "GET, HEAD"),
        ("POST", "/openapi.json", "GET, HEAD"),
        # No route takes OPTIONS (only an allowed CORS preflight is answered).
        ("OPTIONS", "/healthz", "GET, HEAD"),
        ("OPTIONS", "/v1/auth/guest", "POST"),
        ("OPTIONS", "/v1/replays/a_1", "GET, HEAD"),
    ],
)
async def test_wrong_methods_are_json_405(method: str, path: str, allowed: str) -> None:
    app, _ = make_app()
    status, headers, payload = await call(app, method, path)
    assert status == 405
    assert_error(payload, "method_not_allowed")
    assert headers["Allow"] == allowed


async def test_openapi_json_is_served() -> None:
    app, _ = make_app()
    status, _, payload = await call(app, "GET", "/openapi.json")
    assert status == 200
    assert payload["openapi"] == "3.1.0"
    assert payload["info"]["version"] == tilemud.__version__
