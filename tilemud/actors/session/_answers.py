"""The answers a player's request log remembers, packed: ~14 bytes per answer.

An active player places twice a second and every answer is kept for the reconnect grace
and 30 s (150 s by default; 240 s before), ~300 answers. At 240 s, kept as text they took
~148 KiB per player, in zlib-compressed blocks of text ~22 KiB (docs/performance.md,
issue 13). Here an answer is
taken apart into its *shape* and its numbers:

- the rid it answers, which every answer names (``"rid":"r-17"``), is cut out: the log is
  looked up by that very rid, so it is put back from the lookup;
- every integer that is a JSON value (``"tick":41``, ``"x":3``) is cut out too, leaving
  the shape: ``{"type":"place_result","rid":<rid>,"arena_id":"a-1","tick":<n>,...}``.
  Shapes are kept once for the whole process and shared by every log: a few per message
  type, outcome and arena, more for answers that name another player (a ``winner``, a
  ``captured`` owner). Once :data:`MAX_SHAPES` exist, a new one is made with its string
  values cut out as well (a structural shape, of which there are few); text that is not
  JSON (a marker in it) is kept whole;
- the rid, the shape's number and what was cut out are written as varints (strings as
  their bytes) into the block being filled, and a full block of :data:`BLOCK_ANSWERS` is
  compressed (raw deflate): ~10 bytes per ``place_result``;
- within a block, an answer is written against the one before it: a rid that is the
  previous rid's text with another number at its end (a client's counter: ``r-17``,
  ``r-18``) as the difference of the numbers, and the integers of an answer of the same
  shape as the previous one's (a ``tick`` that grows slowly) as differences: ~3 bytes
  less per ``place_result`` (a block is read from its start, so each answer's previous
  one is known when it is rebuilt).

Beside the blocks, per answer: a 2-byte hash of its rid (a rid never seen, nearly every
lookup, is ruled out by a scan in C; a client's next rid, a number greater than any
remembered, without one) and a 2-byte expiry (milliseconds after the previous
answer's, rounded up: an answer is kept its whole window, at most a millisecond longer; a
gap of more than ~65 s is kept aside, in order).
A repeat (after a reconnect) unpacks one block and rebuilds its answer: the very same
text, since every cut is undone exactly (an integer is cut only in its canonical form, and
neither marker can appear in JSON text, which escapes control characters).

Nothing is kept per answer for the garbage collector to walk (the earlier stall).

Why one module of over 400 lines: the packing and the unpacking of an answer are each
other's inverse, cut by cut (the rid, the integers, the strings, the differences), and the
shortcuts of the cut by a known shape (:func:`_cut_as`, :func:`_cut_frame_as`) and of the
rid's reading (:func:`_rid_parts`) must cut exactly as the regexes do: they are kept side by
side so that a change to one is seen against the others.
"""

from __future__ import annotations

import math
import re
import sys
import zlib
from array import array
from typing import Final

import orjson

#: Answers per block; a full block is compressed.
BLOCK_ANSWERS: Final = 64
#: Shapes remembered by the process (shared by every log: a few per message type and
#: outcome); an answer of a new shape beyond that is kept with its strings cut out too.
MAX_SHAPES: Final = 4096
_WHOLE: Final = 0  # the shape number of an answer kept whole (a shape's is its index + 1)
_HASH_MASK: Final = 0xFFFF
_LONG_GAP: Final = 0xFFFF  # an expiry more than ~65 s after the previous one's
#: The places, in a shape, of the rid, of an integer and of a string cut out.
_RID: Final = "\x00"
_NUMBER: Final = "\x01"
_STRING: Final = "\x02"
_MARKERS: Final = re.compile("([\x00-\x02])")
# A rid that ends in a number: the text before it (not ending in a digit) and the number,
# written as the difference from the previous rid's when the texts before are the same.
_RID_NUMBER: Final = re.compile(r"(.*\D|)(0|[1-9][0-9]{0,17})")
_RID_DELTA: Final = 0  # the length written for a rid written as a difference (rids are never empty)
# An integer JSON value in its canonical form (no leading zero, no "-0"): the text rebuilt
# from its int is the text cut out. The character before it is taken (and put back), not
# looked behind for: the engine then scans for it in C (a third of the time, issue 13).
_INTEGER: Final = re.compile(r"([:,\[])(0|-?[1-9][0-9]{0,17})(?=[,\]}])")
# An integer as above, or a string value (a whole JSON string followed by what ends a
# value): what a structural shape cuts out, left to right. Whatever a cut takes is put
# back exactly (a string is kept as its bytes), so the text is rebuilt even where this
# reading of JSON were wrong.
_VALUE: Final = re.compile(
    r'(?P<s>"(?:[^"\\]|\\.)*"(?=[,\]}]))|(?P<n>(?<=[:,\[])(?:0|-?[1-9][0-9]{0,17})(?=[,\]}]))'
)

# The shapes, shared by every log of the process: each as its text and its pieces (the
# text between markers, and the markers).
_shape_ids: dict[str, int] = {}
_shapes: list[list[str]] = []


def _shape_id(shape: str) -> int | None:
    """The number of ``shape`` (made a new one while there is room), else None."""
    found = _shape_ids.get(shape)
    if found is None and len(_shapes) < MAX_SHAPES:
        _shapes.append(_MARKERS.split(shape))
        found = _shape_ids[shape] = len(_shapes)
    return found


#: Shapes made by the cut of integers alone that have a pattern (:func:`_cut_as`), at most
#: so many (a compiled pattern is ~2 KB; a few shapes are nearly every answer).
MAX_PATTERNS: Final = 256
# Shape number -> a pattern of its text, each integer's place a group that takes what the
# cut of integers takes there.
_patterns: dict[int, re.Pattern[str]] = {}
# The shape number of the last answer cut by the regex: a hint for a block's first answer.
_last_cut = [_WHOLE]


def _cut_as(shape_id: int, text: str) -> list[int] | None:
    """The integers that :func:`_cut_integers` cuts from ``text`` when it leaves the shape
    number ``shape_id``, read in one match of that shape's pattern; None when ``text``
    does not have that shape (or the shape has no pattern): the regex then cuts it.

    Each piece of text of a shape came from a cut of integers: it holds no integer that
    cut takes, it ends with what may stand before one (``:``, ``,`` or ``[``) where one
    follows, and it begins with what may end one (``,``, ``]`` or ``}``). Where ``text`` is
    those very pieces with canonical integers between them, the cut therefore takes those
    integers and nothing else: a piece's integers look at their own piece's characters
    only, and none ends at a piece's end (an integer is followed by a digit-free piece).
    An integer's place takes what the cut's regex takes (no leading zero, no ``-0``, at
    most 18 digits), so anything else fails the match.
    """
    pattern = _patterns.get(shape_id)
    if pattern is None:
        return None
    found = pattern.fullmatch(text)
    return None if found is None else list(map(int, found.groups()))


# Shape number -> a pattern of the answer's own text, for a shape whose rid is in its first
# piece (a place_result's): the rid's place a group that takes a JSON string written as
# its very text (no character that JSON escapes, no surrogate), the integers' as above.
_frame_patterns: dict[int, re.Pattern[str]] = {}
_PATTERN_INTEGER: Final = "(0|-?[1-9][0-9]{0,17})"
_PATTERN_RID: Final = r'"([^"\\\x00-\x1f\ud800-\udfff]*)"'


def _cut_frame_as(shape_id: int, rid: str, frame: str) -> list[int] | None:
    """The integers that :func:`_cut_integers` cuts from ``frame`` with ``rid`` cut out
    (:func:`_pack`) when that leaves the shape number ``shape_id``, read in one match of
    the answer's text (no search for the rid, no shape made); else None.

    The rid's place takes ``rid`` only where its JSON text is ``"`` + rid + ``"`` (no
    character JSON escapes), and the shape's first piece, before it, holds no other
    ``"rid":`` (:func:`_remember_pattern`): the first ``"rid":<rid>`` of ``frame``, which
    :func:`_pack` cuts, is this one, and the rest is cut as :func:`_cut_as` cuts it.
    """
    pattern = _frame_patterns.get(shape_id)
    found = None if pattern is None else pattern.fullmatch(frame)
    if found is None:
        return None
    values = found.groups()  # the rid's, then the integers'
    return list(map(int, values[1:])) if values[0] == rid else None


def _remember_pattern(shape_id: int) -> None:
    """Make the patterns of a shape the cut of integers left (not one with strings cut)."""
    _last_cut[0] = shape_id
    if shape_id in _patterns or len(_patterns) >= MAX_PATTERNS:
        return
    pieces = _shapes[shape_id - 1]
    if _STRING in pieces[1::2]:  # (never, from the cut of integers: a marker is never text)
        return
    parts = [_PATTERN_INTEGER if piece == _NUMBER else re.escape(piece) for piece in pieces]
    _patterns[shape_id] = re.compile("".join(parts))
    first = pieces[0]
    if len(pieces) > 1 and pieces[1] == _RID and first.find('"rid":') == len(first) - 6:
        _frame_patterns[shape_id] = re.compile("".join([parts[0], _PATTERN_RID, *parts[2:]]))


def rid_hash(rid: str) -> int:
    """The 2-byte hash a rid is first looked up by."""
    return hash(rid) & _HASH_MASK


def _varint(out: bytearray, value: int) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


class PackedAnswers:
    """Answers in finish order, each with its rid and expiry; oldest forgotten first.

    Not thread-safe; one per player's request log. An idle player's costs one object:
    everything else is made with the first answer.
    """

    __slots__ = (
        "_base",
        "_blocks",
        "_expiry",
        "_filling",
        "_gone",
        "_hashes",
        "_long_gaps",
        "_newest",
        "_oldest",
        "_previous",
        "_rid_text",
        "_top_number",
        "next_expiry",
    )

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Per remembered answer, from index `_gone`: its rid's hash, and its expiry as
        # milliseconds after the previous answer's (2 bytes; a longer gap is written
        # _LONG_GAP and kept in `_long_gaps`, in order: answers are forgotten in order).
        self._hashes: array[int] | None = None
        self._expiry: array[int] | None = None
        self._long_gaps: list[int] | None = None
        # The expiries of the oldest and of the newest answer, in milliseconds after
        # `_base`, the first answer's expiry (Python integers: no overflow).
        self._base = 0.0
        self._oldest = 0
        self._newest = 0
        # Full blocks, compressed; then the block being filled, as varints.
        self._blocks: list[bytes] = []
        self._filling = bytearray()
        # The block's last answer, which the next is written against (made with the
        # first answer: an idle player's log holds none).
        self._previous: _Previous | None = None
        self._gone = 0
        #: When the oldest answer expires (Trio time; infinity when there is none): the
        #: log compares it with the time at every request, and nearly always finds
        #: nothing to forget (issue 13). Read-only outside.
        self.next_expiry = math.inf
        # The greatest number a remembered rid ends in (rids, forgotten since, included),
        # and the newest rid's text before its number: a client's next rid, that text and
        # a greater number, is known to be new without a search (issue 13).
        self._top_number = -1
        self._rid_text: str | None = None

    def __len__(self) -> int:
        return 0 if self._hashes is None else len(self._hashes) - self._gone

    @property
    def nbytes(self) -> int:
        """The bytes its containers hold (arrays, blocks, the block being filled): what
        the log costs its player, the shapes being the process's."""
        held = sys.getsizeof(self) + sys.getsizeof(self._blocks) + sys.getsizeof(self._filling)
        held += sum(sys.getsizeof(block) for block in self._blocks)
        if self._hashes is not None:
            held += sys.getsizeof(self._hashes)
            held += sys.getsizeof(self._expiry)
        if self._long_gaps is not None:
            held += sys.getsizeof(self._long_gaps) + 32 * len(self._long_gaps)
        return held

    def add(self, rid: str, frame: str, expires_at: float) -> None:
        """Remember ``frame`` as the answer to ``rid`` until ``expires_at`` (Trio time)."""
        hashes, expiry = self._hashes, self._expiry
        if hashes is None or expiry is None:
            self._hashes, self._expiry = hashes, expiry = array("H"), array("H")
            self._base = self.next_expiry = expires_at
        base = self._base
        offset = math.ceil((expires_at - base) * 1000)
        while base + offset / 1000 < expires_at:  # never a moment early
            offset += 1
        # Expiries come in finish order; were one earlier, it is kept a little longer.
        gap = offset - self._newest
        if gap > 0:
            self._newest = offset
            if gap >= _LONG_GAP:
                if self._long_gaps is None:
                    self._long_gaps = []
                self._long_gaps.append(gap)
                gap = _LONG_GAP
        else:
            gap = 0
        hashes.append(rid_hash(rid))
        expiry.append(gap)
        previous = self._previous
        if previous is None:
            self._previous = previous = _Previous()
        _pack(self._filling, rid, frame, previous)
        if previous.rid_text is not None:  # (the packer read the rid)
            self._rid_text = previous.rid_text
            if previous.rid_number > self._top_number:
                self._top_number = previous.rid_number
        if len(hashes) % BLOCK_ANSWERS == 0:
            self._blocks.append(zlib.compress(self._filling, 6, -15))
            self._filling = bytearray()
            self._previous = None

    def oldest_expiry(self) -> float | None:
        """When the oldest answer expires (None when there is none)."""
        return None if self.next_expiry == math.inf else self.next_expiry

    def forget_oldest(self) -> None:
        """Forget the oldest answer (there must be one)."""
        hashes, expiry = self._hashes, self._expiry
        assert hashes is not None
        assert expiry is not None
        gone = self._gone + 1
        if gone == len(hashes):  # none left: start afresh
            self._reset()
            return
        gap = expiry[gone]
        if gap == _LONG_GAP:
            assert self._long_gaps is not None
            gap = self._long_gaps.pop(0)
            if not self._long_gaps:
                self._long_gaps = None
        self._oldest = oldest = self._oldest + gap
        self.next_expiry = self._base + oldest / 1000
        if gone == BLOCK_ANSWERS:  # the oldest block has gone
            del hashes[:BLOCK_ANSWERS]
            del expiry[:BLOCK_ANSWERS]
            del self._blocks[0]
            gone = 0
        self._gone = gone

    def forget_expired(self, now: float) -> None:
        """Forget the answers whose expiry is ``now`` or earlier."""
        while self.next_expiry <= now:
            self.forget_oldest()

    def find(self, rid: str) -> str | None:
        """The answer remembered for ``rid``, if any (the first one added)."""
        hashes, text = self._hashes, self._rid_text
        if hashes is None:
            return None
        # (A rid's text and number are its own: a remembered one is no greater.)
        if text is not None and (_number_after(text, rid) or -1) > self._top_number:
            return None
        # Searched as bytes (array.index made an int of each answer: ~5 µs per place of an
        # active player, issue 13); a hit at an odd offset straddles two hashes.
        raw, wanted = hashes.tobytes(), rid_hash(rid).to_bytes(2, sys.byteorder)
        offset = 2 * self._gone - 1
        while (offset := raw.find(wanted, offset + 1)) >= 0:
            if offset & 1:
                continue
            block, at = divmod(offset // 2, BLOCK_ANSWERS)
            if block < len(self._blocks):
                data = zlib.decompress(self._blocks[block], -15)
            else:
                data = bytes(self._filling)
            found = _unpack(data, at, rid)
            if found is not None:
                return found
        return None


class _Previous:
    """The answer before, in the block being written or read: what the next one is
    written against."""

    __slots__ = ("numbers", "rid_number", "rid_text", "shape")

    def __init__(self) -> None:
        self.rid_text: str | None = None  # the rid's text before its number (None: none)
        self.rid_number = 0
        self.shape = _WHOLE
        self.numbers: list[int] = []


def _rid_parts(rid: str, before: str | None) -> tuple[str | None, int]:
    """A rid's text before its number, and the number: what the next rid is written
    against (None and 0 for a rid that does not end in a number).

    ``before`` is the previous rid's text before its number: a client's next rid is
    nearly always that text and other digits, read without the regex (issue 13).
    """
    if before is not None and (number := _number_after(before, rid)) is not None:
        return before, number
    found = _RID_NUMBER.fullmatch(rid)
    if found is None:
        return None, 0
    text, digits = found.groups()
    return text, int(digits)


def _number_after(text: str, rid: str) -> int | None:
    """The number of ``rid`` when it is ``text`` (a rid's text before its number, as
    :data:`_RID_NUMBER` reads it: empty, or ending in a character that is no digit) and
    the canonical text of a number, as that regex reads it; else None."""
    digits = rid[len(text) :] if rid.startswith(text) else ""
    if digits.isdigit() and digits.isascii() and len(digits) <= 18:
        return int(digits) if digits[0] != "0" or len(digits) == 1 else None
    return None


def _pack(out: bytearray, rid: str, frame: str, previous: _Previous) -> None:
    """Append one answer to a block: its rid, its shape's number, what was cut out."""
    if not _pack_like_previous(out, rid, frame, previous):
        _pack_any(out, rid, frame, previous)


def _pack_like_previous(out: bytearray, rid: str, frame: str, previous: _Previous) -> bool:
    """:func:`_pack_any` in one go for an answer of the previous one's shape, its rid the
    previous rid's text and another number (a player's next placement in the same arena:
    nearly every answer); False, nothing written, for any other (issue 13)."""
    text = previous.rid_text
    if text is None:
        return False
    number = _number_after(text, rid)
    cut = None if number is None else _cut_frame_as(previous.shape, rid, frame)
    if cut is None or number is None:
        return False
    out.append(_RID_DELTA)
    _zigzag(out, number - previous.rid_number)
    previous.rid_number = number
    _varint(out, previous.shape)
    _numbers(out, previous.shape, cut, previous)
    return True


def _pack_any(out: bytearray, rid: str, frame: str, previous: _Previous) -> None:
    """:func:`_pack` of any answer."""
    # Read once, for the difference and for the next answer (issue 13).
    rid_text, rid_number = _rid_parts(rid, previous.rid_text)
    if rid_text is not None and previous.rid_text == rid_text:
        out.append(_RID_DELTA)
        value = rid_number - previous.rid_number
        # _zigzag, inline: a client's next rid is 1 more, one byte.
        value = value * 2 if value >= 0 else -value * 2 - 1
        if value <= 0x7F:
            out.append(value)
        else:
            _varint(out, value)
    else:
        encoded_rid = rid.encode()
        _varint(out, len(encoded_rid))
        out += encoded_rid
    previous.rid_text, previous.rid_number = rid_text, rid_number
    # (JSON has no marker; other text is kept whole.) Three searches for a character,
    # each a scan in C: a fifth of isprintable's time, which looks at every character's
    # class (issue 13).
    if _RID in frame or _NUMBER in frame or _STRING in frame:
        _whole(out, frame, previous)
        return
    # Most answers have the shape of the one before (a player's placements in one arena):
    # one match of that shape's pattern instead of a pass of the cut's regex.
    hint = previous.shape if previous.shape != _WHOLE else _last_cut[0]
    cut = _cut_frame_as(hint, rid, frame)
    if cut is not None:
        if hint <= 0x7F:
            out.append(hint)
        else:
            _varint(out, hint)
        _numbers(out, hint, cut, previous)
        return
    shape = frame.replace(f'"rid":{orjson.dumps(rid).decode()}', f'"rid":{_RID}', 1)
    cut = _cut_as(hint, shape)
    if cut is not None:
        _varint(out, hint)
        _numbers(out, hint, cut, previous)
        return
    shape, numbers = _cut_integers(shape)
    found_id = _shape_id(shape)
    if found_id is not None:
        _remember_pattern(found_id)
        _varint(out, found_id)
        _numbers(out, found_id, numbers, previous)
        return
    values = [(m.group("s"), m.group("n")) for m in _VALUE.finditer(shape)]
    shape_id = _shape_id(_VALUE.sub(lambda m: _STRING if m.group("s") else _NUMBER, shape))
    if shape_id is None:
        _whole(out, frame, previous)
        return
    _varint(out, shape_id)
    for string, _ in values:
        if string is not None:
            encoded = string.encode()
            _varint(out, len(encoded))
            out += encoded
    # The strings first, then the integers: both in their order in the text.
    _numbers(out, shape_id, [int(n) for s, n in values if s is None], previous)


def _cut_integers(text: str) -> tuple[str, list[int]]:
    """``text`` with its integer values replaced by markers, and those integers in order."""
    # One pass: [text, the character before, the integer, text, ...]; markers replace them.
    pieces = _INTEGER.split(text)
    numbers = pieces[2::3]
    pieces[2::3] = [_NUMBER] * len(numbers)
    return "".join(pieces), list(map(int, numbers))


def _numbers(out: bytearray, shape_id: int, numbers: list[int], previous: _Previous) -> None:
    """The integers of an answer; as differences when the previous one had this shape."""
    # The same shape has as many integers (one loop, no list of differences: issue 13).
    # _zigzag, inline: most values here (a tick's step, a cell) take one byte.
    append = out.append
    if shape_id == previous.shape:
        for number, before in zip(numbers, previous.numbers, strict=True):
            value = number - before
            value = value * 2 if value >= 0 else -value * 2 - 1
            if value <= 0x7F:
                append(value)
            else:
                _varint(out, value)
    else:
        for value in numbers:
            value = value * 2 if value >= 0 else -value * 2 - 1
            if value <= 0x7F:
                append(value)
            else:
                _varint(out, value)
    previous.shape, previous.numbers = shape_id, numbers


def _whole(out: bytearray, frame: str, previous: _Previous) -> None:
    previous.shape = _WHOLE
    previous.numbers = []
    _varint(out, _WHOLE)
    encoded = frame.encode()
    _varint(out, len(encoded))
    out += encoded


def _zigzag(out: bytearray, value: int) -> None:
    _varint(out, value * 2 if value >= 0 else -value * 2 - 1)


def _read_zigzag(data: bytes, at: int) -> tuple[int, int]:
    value, at = _read_varint(data, at)
    return (value >> 1 if not value & 1 else -((value + 1) >> 1)), at


def _unpack(data: bytes, index: int, rid: str) -> str | None:
    """The answer at ``index`` of a block's ``data`` if it answers ``rid``."""
    at = 0
    previous = _Previous()
    for current in range(index + 1):
        length, at = _read_varint(data, at)
        if length == _RID_DELTA:
            difference, at = _read_zigzag(data, at)
            found_rid = f"{previous.rid_text}{previous.rid_number + difference}"
        else:
            found_rid = data[at : at + length].decode()
            at += length
        previous.rid_text, previous.rid_number = _rid_parts(found_rid, previous.rid_text)
        shape_id, at = _read_varint(data, at)
        if shape_id == _WHOLE:
            length, at = _read_varint(data, at)
            whole = data[at : at + length]
            at += length
            previous.shape, previous.numbers = _WHOLE, []
            if current == index:
                return whole.decode() if found_rid == rid else None
            continue
        pieces = _shapes[shape_id - 1]
        strings: list[str] = []
        for piece in pieces[1::2]:
            if piece == _STRING:
                length, at = _read_varint(data, at)
                strings.append(data[at : at + length].decode())
                at += length
        before = previous.numbers if shape_id == previous.shape else None
        numbers: list[int] = []
        for k in range(sum(piece == _NUMBER for piece in pieces[1::2])):
            value, at = _read_zigzag(data, at)
            numbers.append(value if before is None else value + before[k])
        previous.shape, previous.numbers = shape_id, numbers
        if current != index:
            continue
        if found_rid != rid:
            return None
        text: list[str] = []
        next_string = iter(strings)
        next_number = iter(numbers)
        for n, piece in enumerate(pieces):
            if not n % 2:
                text.append(piece)
            elif piece == _RID:
                text.append(orjson.dumps(rid).decode())
            elif piece == _NUMBER:
                text.append(str(next(next_number)))
            else:
                text.append(next(next_string))
        return "".join(text)
    return None
