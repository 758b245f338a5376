"""What a chat or direct message may say: the text rules, pure (no Trio, no I/O).

:func:`clean_message` turns what a player typed into what is stored and shown, or refuses
it with a :class:`MessageRefused` whose ``code`` is the wire error code:

- line breaks, tabs and the other whitespace control characters become one space each
  (a message is one line);
- every other control character (C0, DEL, C1), an unpaired surrogate, and the
  bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, which can make a
  message read as something else) refuse the whole message: ``invalid_text``;
- leading and trailing whitespace is trimmed; nothing left is ``empty_message``;
- more than ``max_chars`` code points after trimming is ``message_too_long``.

Other format characters (a zero-width joiner in an emoji) are kept.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from tilemud.errors import TilemudError

#: Error codes (``tilemud.protocol.ErrorCode`` values) of a refused message.
EMPTY_MESSAGE: Final = "empty_message"
MESSAGE_TOO_LONG: Final = "message_too_long"
INVALID_TEXT: Final = "invalid_text"

_WHITESPACE_CONTROLS: Final = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85")
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class MessageRefused(TilemudError):
    """A message broke a text rule; ``code`` says which (the wire error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def clean_message(text: str, *, max_chars: int) -> str:
    """The message as it is stored and shown, or why it is refused.

    Args:
        text: what the player sent.
        max_chars: the longest message allowed, in code points after trimming.

    Raises:
        MessageRefused: ``empty_message``, ``message_too_long`` or ``invalid_text``.
    """
    chars: list[str] = []
    for index, char in enumerate(text):
        if char in _WHITESPACE_CONTROLS:
            chars.append(" ")
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in _BIDI_CONTROLS:
            raise MessageRefused(
                INVALID_TEXT,
                f"character {index} (U+{ord(char):04X}) is a control character; it may not be sent",
            )
        chars.append(char)
    cleaned = "".join(chars).strip()
    if not cleaned:
        raise MessageRefused(EMPTY_MESSAGE, "a message must have some text")
    if len(cleaned) > max_chars:
        raise MessageRefused(
            MESSAGE_TOO_LONG,
            f"a message may have at most {max_chars} characters, this one has {len(cleaned)}",
        )
    return cleaned
