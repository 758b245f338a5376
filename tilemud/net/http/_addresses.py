"""Which client a request comes from, as a key for per-address limits.

The key is the TCP peer's address as the ASGI server saw it (``scope["client"]``), never a
header a client could write (``X-Forwarded-For``, ``Remote-Addr``): behind a reverse proxy
every request has the proxy's address, so the per-address limits are then limits on the
proxy, and the proxy should apply its own. An IPv6 client is keyed by its /64 network, since
one host usually holds a whole /64 and could otherwise take a fresh address per request.
"""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["UNKNOWN_ADDRESS", "address_key"]

#: The key of requests whose peer address is not known (a Unix socket, a test client).
UNKNOWN_ADDRESS: Final = "unknown"


def address_key(client: object) -> str:
    """Return the rate-limit key of an ASGI ``scope["client"]`` value.

    Args:
        client: ``(host, port)`` as the ASGI server gives it, or None.

    Returns:
        ``"203.0.113.7"`` for IPv4, ``"2001:db8:1:2::/64"`` for IPv6 (an IPv4-mapped IPv6
        address counts as its IPv4 address), the host text itself when it is not an IP
        address, and ``UNKNOWN_ADDRESS`` when there is none.
    """
    if not isinstance(client, list | tuple) or not client or not isinstance(client[0], str):
        return UNKNOWN_ADDRESS
    host = client[0]
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return host or UNKNOWN_ADDRESS
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
