"""The rules a display name must follow before a token is minted for it.

A name is taken as given by the player, then:

1. normalised to Unicode NFC (so ``"e" + U+0301`` and ``"é"`` are the same name);
2. stripped of leading and trailing whitespace;
3. checked: 1 to ``MAX_NAME_LENGTH`` (24) code points, each a Unicode letter (category
   ``L*``), a decimal digit (``Nd``), an ASCII space, ``_`` or ``-``; no two spaces in a row.

Control characters, other whitespace (tabs, newlines, no-break spaces), punctuation,
symbols, emoji, combining marks that do not compose under NFC and the invisible Hangul
filler letters are refused.
"""

from __future__ import annotations

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
