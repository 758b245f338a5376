"""Deployment basics on the player port: the allowed-origins check and TLS (``wss://``)
from a certificate the test makes (issue 11, item 11)."""

from __future__ import annotations

import ssl
from pathlib import Path

import attrs
import orjson
import pytest
import trio
import trustme

from tests.integration.harness import guest_login, make_settings, running_server
from tests.integration.raw_ws import connect, greeted, text, upgrade_request

pytestmark = pytest.mark.integration

GAME = "https://play.example.com"


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        pytest.param(GAME, 101, id="allowed"),
        pytest.param("https://evil.example", 403, id="foreign"),
        pytest.param("https://play.example.com:8443", 403, id="other-port"),
        pytest.param(None, 101, id="no-origin-not-a-browser"),
    ],
)
async def test_allowed_origins(tmp_path: Path, origin: str | None, status: int) -> None:
    settings = make_settings(tmp_path, durable=False, allowed_origins=(GAME,))
    with trio.fail_after(10):
        async with running_server(settings) as server:
            headers = {} if origin is None else {"Origin": origin}
            async with await connect(server.addresses.ws_port) as client:
                await client.send(upgrade_request(headers=headers))
                answer, _, body = await client.read_http_response()
    assert answer == status
    if status == 403:
        assert orjson.loads(body)["error"]["code"] == "forbidden_origin"


async def test_any_origin_by_default(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            async with await connect(server.addresses.ws_port) as client:
                await client.send(upgrade_request(headers={"Origin": "http://localhost:5173"}))
                assert (await client.read_http_response())[0] == 101


async def test_wss_with_a_certificate_from_the_settings(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    settings = make_settings(tmp_path, durable=False)
    settings = attrs.evolve(
        settings,
        server=attrs.evolve(settings.server, tls_certfile=certfile, tls_keyfile=keyfile),
    )
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    with trio.fail_after(15):
        async with running_server(settings) as server:
            port = server.addresses.ws_port
            token, _ = await guest_login(server, "ada", verify=trusting)
            async with await greeted(port, token, tls=trusting) as client:
                await client.send(text({"type": "ping", "rid": "over-tls"}))
                pong = await client.next_frame()
                assert pong is not None
                assert pong.json()["rid"] == "over-tls"
            # A client that does not trust the certificate fails its handshake.
            with pytest.raises(trio.BrokenResourceError):
                await connect(port, tls=ssl.create_default_context())
            # A plain ws:// client gets no WebSocket.
            async with await connect(port) as plain:
                await plain.send(upgrade_request())
                assert await plain.frames_until_eof() == []
