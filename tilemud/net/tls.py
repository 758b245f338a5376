"""TLS for the player port: ``wss://`` straight from a certificate and key in the settings.

Both ``server.tls_certfile`` and ``server.tls_keyfile`` given: the gateway serves TLS only
(a plain ``ws://`` client then fails its handshake); neither: plain ``ws://`` (behind a
proxy that terminates TLS, or in development).
"""

from __future__ import annotations

import ssl

from tilemud.config import ServerSettings
from tilemud.errors import ConfigError


def server_tls_context(server: ServerSettings) -> ssl.SSLContext | None:
    """The TLS context for the listening ports, or None when TLS is off.

    Raises:
        ConfigError: the certificate or key cannot be read or do not match.
    """
    if server.tls_certfile is None or server.tls_keyfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(server.tls_certfile, server.tls_keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load TLS certificate {server.tls_certfile} / key {server.tls_keyfile}: {exc}"
        ) from exc
    return context
