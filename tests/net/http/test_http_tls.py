"""HTTPS served directly from ``server.tls_certfile`` and ``server.tls_keyfile``.

A certificate authority made for the test signs a certificate for 127.0.0.1; a real HTTPS
client (httpx) that trusts only that CA talks to a real server on loopback. The real
clock, absolute deadlines.
"""

from __future__ import annotations

import ssl
from functools import partial
from pathlib import Path

import attrs
import httpx
import pytest
import trio

from tests.integration.harness import make_settings as make_server_settings
from tests.integration.harness import running_server
from tests.net.http.tls_support import SelfMadeCertificate, make_certificate
from tilemud.auth import TokenAuthority
from tilemud.cli import EXIT_USAGE, main
from tilemud.config import AuthSettings, ServerSettings, Settings, load_settings
from tilemud.errors import ConfigError
from tilemud.net.http import HealthReport, create_app, serve_http

pytestmark = pytest.mark.integration

SECRET = "tls-tests-" + "k" * 40


class UpProbe:
    def health(self) -> HealthReport:
        return HealthReport(ok=True)


def causes(error: BaseException | None) -> list[BaseException]:
    chain = []
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


@pytest.fixture
def certificate(tmp_path: Path) -> SelfMadeCertificate:
    return make_certificate(tmp_path / "tls")


def tls_settings(certificate: SelfMadeCertificate) -> Settings:
    return Settings(
        server=ServerSettings(
            host="127.0.0.1",
            http_port=0,
            tls_certfile=certificate.cert_file,
            tls_keyfile=certificate.key_file,
        ),
        auth=AuthSettings(secret=SECRET),
    )


async def test_the_api_is_served_over_https(certificate: SelfMadeCertificate) -> None:
    settings = tls_settings(certificate)
    tokens = TokenAuthority(settings.auth)
    app = create_app(settings=settings, tokens=tokens, health=UpProbe())
    stop = trio.Event()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                partial(serve_http, app, settings.server, shutdown_trigger=stop.wait)
            )
            url = f"https://127.0.0.1:{port}"
            async with httpx.AsyncClient(
                base_url=url, verify=certificate.client_context()
            ) as client:
                health = await client.get("/healthz")
                assert health.status_code == 200
                assert health.json()["status"] == "ok"
                login = await client.post("/v1/auth/guest", json={"name": "Ada"})
                assert login.status_code == 200
                tokens.verify_access(login.json()["token"])

            # A client that does not trust the test CA refuses the server...
            async with httpx.AsyncClient(base_url=url) as untrusting:
                with pytest.raises(httpx.ConnectError) as refused:
                    await untrusting.get("/healthz")
                assert any(
                    isinstance(cause, ssl.SSLCertVerificationError)
                    for cause in causes(refused.value)
                )
            # ...and plain HTTP on the TLS port gets no answer in clear text.
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as plain:
                with pytest.raises(httpx.HTTPError):
                    await plain.get("/healthz")
            stop.set()


async def test_a_server_with_tls_settings_reports_an_https_url(
    tmp_path: Path, certificate: SelfMadeCertificate
) -> None:
    settings = make_server_settings(tmp_path, durable=False)
    settings = attrs.evolve(
        settings,
        server=attrs.evolve(
            settings.server,
            tls_certfile=certificate.cert_file,
            tls_keyfile=certificate.key_file,
        ),
    )
    with trio.fail_after(20):
        async with running_server(settings) as server:
            assert server.addresses.http_url.startswith("https://127.0.0.1:")
            async with httpx.AsyncClient(
                base_url=server.addresses.http_url, verify=certificate.client_context()
            ) as client:
                assert (await client.get("/readyz")).status_code == 200


def test_a_tls_handshake_is_bounded() -> None:
    from tilemud.net.http._serve import TLS_HANDSHAKE_TIMEOUT, hypercorn_config

    config = hypercorn_config(ServerSettings(tls_certfile=Path("c"), tls_keyfile=Path("k")))
    assert config.ssl_enabled
    assert config.ssl_handshake_timeout == TLS_HANDSHAKE_TIMEOUT
    assert not hypercorn_config(ServerSettings()).ssl_enabled


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TILEMUD_TLS_CERTFILE": "cert.pem"}, "server.tls_certfile is set but server.tls_keyfile"),
        ({"TILEMUD_TLS_KEYFILE": "key.pem"}, "server.tls_keyfile is set but server.tls_certfile"),
    ],
)
def test_one_tls_file_without_the_other_is_refused(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(env=env)


def test_files_that_are_no_certificate_and_key_are_refused(
    tmp_path: Path, certificate: SelfMadeCertificate
) -> None:
    env = {
        "TILEMUD_TLS_CERTFILE": str(certificate.cert_file),
        "TILEMUD_TLS_KEYFILE": str(certificate.ca_file),  # a certificate, not the key
    }
    with pytest.raises(ConfigError, match=r"server\.tls_certfile .* server\.tls_keyfile"):
        load_settings(env=env)
    both = {
        "TILEMUD_TLS_CERTFILE": str(certificate.cert_file),
        "TILEMUD_TLS_KEYFILE": str(certificate.key_file),
    }
    assert load_settings(env=both).server.tls


def test_the_two_files_may_come_from_different_sources(
    tmp_path: Path, certificate: SelfMadeCertificate
) -> None:
    config = tmp_path / "tilemud.toml"
    config.write_text(f'[server]\ntls_certfile = "{certificate.cert_file}"\n', encoding="utf-8")
    settings = load_settings(
        config_file=config, env={"TILEMUD_TLS_KEYFILE": str(certificate.key_file)}
    )
    assert settings.server.tls


def test_serve_with_one_tls_file_exits_2_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TILEMUD_TLS_CERTFILE", "/nonexistent/cert.pem")
    monkeypatch.delenv("TILEMUD_TLS_KEYFILE", raising=False)
    assert main(["serve"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "server.tls_keyfile" in err
    assert "Traceback" not in err
