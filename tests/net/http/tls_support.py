"""A throwaway certificate authority and a server certificate for ``127.0.0.1``, made by
``trustme`` for each test that needs TLS (no key material in the repository)."""

from __future__ import annotations

import ssl
from pathlib import Path

import attrs
import trustme


@attrs.frozen(kw_only=True)
class SelfMadeCertificate:
    """A CA (trust ``ca_file``) and a certificate for ``127.0.0.1``/``localhost`` it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def make_certificate(directory: Path) -> SelfMadeCertificate:
    """Create ``ca.pem``, ``server.pem`` and ``server.key`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    made = SelfMadeCertificate(
        ca_file=directory / "ca.pem",
        cert_file=directory / "server.pem",
        key_file=directory / "server.key",
    )
    authority.cert_pem.write_to_path(str(made.ca_file))
    made.cert_file.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(made.key_file))
    return made
