"""The rules a display name must follow before a token is minted for it.

A name is taken as given by the player, then:

1. normalised to Unicode NFC (so ``"e" + U+0301`` and ``"é"`` are the same name);
2. stripped of leading and trailing whitespace;
3. checked: 1 to ``MAX_NAME_LENGTH`` (24) code points, each a Unicode letter (category
   ``L*``), a decimal digit (``Nd``), an ASCII space, ``_`` or ``-``; no two spaces in a row.

Control characters, other whitespace (tabs, newlines, no-break spaces), punctuation,
symbols, emoji, combining marks that do not compose under NFC and the invisible Hangul
filler letters are refused.

``name_pattern`` states the same rules as one regular expression for the OpenAPI schema,
built from the very predicate ``check_player_name`` uses, so the two cannot drift apart: for
a name already in NFC, it matches exactly the names the server accepts (NFC itself is no
regular language; a client sending decomposed characters may see the server accept what
the pattern refuses).
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from typing import Final

from tilemud.errors import ProtocolError

MIN_NAME_LENGTH: Final = 1
MAX_NAME_LENGTH: Final = 24

_EXTRA_CHARACTERS: Final = frozenset(" _-")
# Letters by category that render as nothing (Hangul fillers): a name of them looks empty.
_INVISIBLE_LETTERS: Final = frozenset("\u115f\u1160\u3164\uffa0")


def check_player_name(raw: str) -> str:
    """Return the normalised form of a display name, or refuse it.

    Args:
        raw: the name as the player sent it.

    Returns:
        The name, NFC-normalised and trimmed.

    Raises:
        ProtocolError: with code ``bad_name`` when the name breaks a rule; the message says
            which.
    """
    name = unicodedata.normalize("NFC", raw).strip()
    if not MIN_NAME_LENGTH <= len(name) <= MAX_NAME_LENGTH:
        raise ProtocolError(
            f"name must be {MIN_NAME_LENGTH} to {MAX_NAME_LENGTH} characters after trimming",
            code="bad_name",
        )
    for char in name:
        if not _allowed(char):
            raise ProtocolError(
                f"name may not contain {char!r} (U+{ord(char):04X}): use letters, digits,"
                " spaces, '_' or '-'",
                code="bad_name",
            )
    if "  " in name:
        raise ProtocolError("name may not contain two spaces in a row", code="bad_name")
    return name


def _allowed(char: str) -> bool:
    if char in _EXTRA_CHARACTERS:
        return True
    if char in _INVISIBLE_LETTERS:
        return False
    category = unicodedata.category(char)
    return category.startswith("L") or category == "Nd"


@functools.cache
def name_pattern() -> str:
    """The rules of ``check_player_name`` as a regular expression on the raw name.

    ``^[W]*(?:[A]| (?=[^W])){1,24}[W]*$``, with ``W`` every character ``str.strip``
    removes and ``A`` every allowed character but the space: surrounding whitespace, then
    1 to 24 characters, each allowed, where a space is always followed by a character
    that is no whitespace (so no two spaces in a row, and none at the end: a non-space
    after a space that is not allowed fails the match). A parse that counts one leading
    space into the 24 only exists when the trimmed name also matches. It uses only what
    ECMA-262 (with the ``u`` flag, as JSON Schema validators run it) and Python's ``re``
    both read the same way: ranges of literal characters and ``\\uXXXX`` escapes for
    whitespace. Built once per process by scanning every code point (about
    half a second).
    """
    allowed: list[tuple[int, int]] = []
    spaces: list[int] = []
    start: int | None = None
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace():
            spaces.append(code)
        if char != " " and _allowed(char):
            if start is None:
                start = code
        elif start is not None:
            allowed.append((start, code - 1))
            start = None
    if start is not None:
        allowed.append((start, sys.maxunicode))
    body = "".join(_class_range(first, last) for first, last in allowed)
    # Whitespace is all in the BMP: \uXXXX reads the same in both dialects.
    blank = "".join(f"\\u{code:04x}" for code in spaces)
    return f"^[{blank}]*(?:[{body}]| (?=[^{blank}])){{1,{MAX_NAME_LENGTH}}}[{blank}]*$"


def _class_range(first: int, last: int) -> str:
    def one(code: int) -> str:
        char = chr(code)
        return "\\" + char if char in "\\]^-[" else char

    if first == last:
        return one(first)
    return f"{one(first)}-{one(last)}"
