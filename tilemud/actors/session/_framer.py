"""The wire frames of a player's stream: its body with the player's ``seq``, and the
WebSocket header, in one buffer written as is (never framed again per player)."""

from __future__ import annotations

from tilemud.protocol import stamp
from tilemud.wire import TEXT, encode_text, frame_header


def stream_frame(body: str, seq: int) -> bytes:
    """The whole WebSocket frame of a stream body for one player: the header and the text
    with its ``seq`` in one buffer, written as is (never framed again per player)."""
    return encode_text(stamp(body, seq))


#: What :func:`tilemud.protocol.stamp` allows as a seq (JSON's safe integers).
_MAX_SEQ = 2**53 - 1


class StreamFramer:
    """:func:`stream_frame`, with the body's UTF-8 cut once for every player it goes to.

    A tick's body is one ``str`` handed to 300 streams, whose frames are made one after
    the other in the fan-out: the framer keeps the last body's two halves as bytes (around
    where the ``seq`` goes), so each player's frame is its header, its ``"seq":n,`` and
    one join, instead of a stamped copy of the text encoded again (issue 13). The header
    and the first half depend on the seq only through its number of digits: they are
    kept joined for each number of digits met (a few per body), so a player's frame is
    that prefix, the seq's digits and the rest, in one join. One framer serves every
    session of a server; the result is byte for byte ``stream_frame``'s.
    """

    __slots__ = ("_body", "_head", "_high", "_low", "_prefix", "_prefixes", "_tail")

    def __init__(self) -> None:
        self._body: str | None = None
        self._head = b""
        self._tail = b""
        # Number of digits of the seq -> the frame's header, the body's first half and
        # `"seq":`, for the last body.
        self._prefixes: dict[int, bytes] = {}
        # The prefix of the last number of digits met, and the seqs it serves (low to
        # high - 1, all valid seqs): a player's frame is then one format, with no look-up
        # (the fan-out frames 300 seqs of a few digits each tick).
        self._prefix = b""
        self._low = 0
        self._high = 0

    def __call__(self, body: str, seq: int) -> bytes:
        """The frame of ``body`` numbered ``seq`` (see :func:`tilemud.protocol.stamp`).

        Raises:
            ValueError: ``seq`` is not an integer from 1 to 2**53 - 1.
        """
        if body is not self._body:
            # As stamp: the body starts `{"type":"<tag>",`; the seq goes after that comma.
            cut = body.index(",") + 1
            self._head = body[:cut].encode()
            self._tail = b"," + body[cut:].encode()
            self._prefixes = {}
            self._low = self._high = 0
            self._body = body
        if type(seq) is int and self._low <= seq < self._high:
            return b"%b%d%b" % (self._prefix, seq, self._tail)
        if type(seq) is not int or not 1 <= seq <= _MAX_SEQ:
            raise ValueError(f"a stream seq is an integer from 1 to 2**53 - 1, got {seq!r}")
        digits = len(b"%d" % seq)
        prefix = self._prefixes.get(digits)
        if prefix is None:
            # `"seq":` (6 bytes), the digits, and the comma that begins the tail.
            length = len(self._head) + 6 + digits + len(self._tail)
            prefix = frame_header(TEXT, length) + self._head + b'"seq":'
            self._prefixes[digits] = prefix
        self._prefix = prefix
        self._low = 10 ** (digits - 1)
        self._high = min(10**digits, _MAX_SEQ + 1)
        return b"%b%d%b" % (prefix, seq, self._tail)
