"""Hypercorn's access log, with each line's atoms computed only as its format asks.

Hypercorn builds an ``AccessLogAtoms`` dict for every request: every request and response
header and every environment variable of the process (``os.environ`` decoded item by item),
for a line that uses eight of them. In a join storm (300 guest logins within a second)
that was ~5 % of the server's GIL-held samples (docs/performance.md, "The send path,
seventh pass"). :class:`AccessLogger` answers the default format's atoms from the
request's scope directly and builds Hypercorn's full dict only for an atom it does not
know, so every format still gets the same line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from hypercorn.logging import AccessLogAtoms, Logger

__all__ = ["AccessLogger"]


def _header(headers: Any, name: bytes) -> str:
    """The last value of header ``name`` (lower case), as Hypercorn's atoms keep it; "-"."""
    found = "-"
    for key, value in headers:
        if key.lower() == name:
            found = value.decode("latin1")
    return found


class _Atoms(Mapping[str, Any]):
    """What ``AccessLogAtoms`` gives for one request, computed per key on demand."""

    __slots__ = ("_full", "_request", "_request_time", "_response")

    def __init__(self, request: Any, response: Any, request_time: float) -> None:
        self._request = request
        self._response = response
        self._request_time = request_time
        self._full: AccessLogAtoms | None = None

    def __getitem__(self, key: str) -> Any:
        request, response = self._request, self._response
        if key == "h":
            client = request.get("client")
            if client is not None and len(client) == 2:
                return f"{client[0]}:{client[1]}"
        elif key == "l":
            return "-"
        elif key == "t":
            return time.strftime("[%d/%b/%Y:%H:%M:%S %z]")
        elif key == "r":
            method = request["method"] if request["type"] == "http" else "GET"
            return f"{method} {request['path']} {request.get('http_version', 'ws')}"
        elif key == "s":
            return "-" if response is None else str(response["status"])
        elif key == "b":
            return (
                "-" if response is None else _header(response.get("headers", ()), b"content-length")
            )
        elif key == "f":
            return _header(request["headers"], b"referer")
        elif key == "a":
            return _header(request["headers"], b"user-agent")
        return self._whole()[key]

    def _whole(self) -> AccessLogAtoms:
        if self._full is None:
            self._full = AccessLogAtoms(self._request, self._response, self._request_time)
        return self._full

    def __bool__(self) -> bool:
        # logging takes a lone mapping argument as the format's mapping only if it is true;
        # the default Mapping truth would build the whole dict to count it.
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


class AccessLogger(Logger):
    """Hypercorn's logger (``Config.logger_class``) with atoms built on demand."""

    def atoms(self, request: Any, response: Any, request_time: float) -> Mapping[str, Any]:
        return _Atoms(request, response, request_time)
