"""Server-to-client WebSocket frames, encoded without a library (RFC 6455, section 5.2).

A server's frames are never masked, so a frame is a 2-, 4- or 10-byte header followed by
the payload as is. Owning this encoding lets a writer build the header for a body that was
encoded once for many players and send header and body together (issue 13's send path);
wsproto would build a fresh message per player. Pure: no I/O.
"""

from __future__ import annotations

import struct
from typing import Final

#: Opcodes (RFC 6455, section 5.2) the server writes itself.
TEXT: Final = 0x1
BINARY: Final = 0x2

_FIN: Final = 0x80
_SHORT: Final = 125
_MEDIUM: Final = 0xFFFF


def frame_header(opcode: int, length: int) -> bytes:
    """The header of one final, unmasked frame carrying ``length`` payload bytes.

    Raises:
        ValueError: ``length`` is negative or beyond 2**63 - 1.
    """
    if length < 0 or length >= 1 << 63:
        raise ValueError(f"a frame cannot carry {length} bytes")
    first = _FIN | opcode
    if length <= _SHORT:
        return bytes((first, length))
    if length <= _MEDIUM:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def encode_text(text: str) -> bytes:
    """One complete text frame holding ``text`` (UTF-8)."""
    payload = text.encode()
    return frame_header(TEXT, len(payload)) + payload
