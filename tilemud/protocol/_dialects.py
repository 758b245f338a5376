"""Older protocol versions, said from the newest: one :class:`Dialect` per version still
supported.

The game only ever builds frames of :data:`~tilemud.protocol.PROTOCOL_VERSION`. A session
whose client said an older ``v`` in its ``hello`` passes every frame it is about to queue
through that version's dialect, which rewrites the few frames whose shape changed and
returns every other frame as the very same ``str``. That keeps the encode-once send path
intact: a tick's body is still encoded once, and once more per older version (the dialect
remembers the last body it rewrote, and a fan-out hands the same body to every player in a
row).

A frame with no equivalent in the older version (``round_ended`` for version 1) comes back
as ``None``: the session then replaces what the client has not seen with a fresh
``snapshot``, which every version has (docs/protocol.md, "Versioning").

Each step rewrites version ``n`` into ``n - 1``; a dialect is the chain of steps from the
newest version down to its own. A new version adds one step here and freezes the older
version's schemas under ``schemas/v<n>/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from tilemud.protocol._versions import PROTOCOL_VERSION, SUPPORTED_VERSIONS

#: Rewrites one decoded frame of version ``n`` into version ``n - 1`` in place; False when
#: the frame has no equivalent there.
Step = Callable[[dict[str, Any]], bool]


def _v2_to_v1(frame: dict[str, Any]) -> bool:
    """Version 2 added captures and rounds (docs/protocol.md, "Versioning")."""
    match frame["type"]:
        case "round_ended":
            return False
        case "tick" | "place_result":
            # A v1 client still sees a captured cell in `placed`: its new owner replaces
            # the old one, as any tile drawn over another would.
            frame.pop("captured", None)
        case "joined":
            for field in ("captures", "capture_margin", "round_ticks"):
                frame["rules"].pop(field, None)
    return True


def _v3_to_v2(frame: dict[str, Any]) -> bool:
    """Version 3 marked NPCs; without the marks an NPC is a player whose id starts with
    ``npc:`` (docs/protocol.md, "Versioning")."""
    frame.pop("npc" if frame["type"] == "player_left" else "npcs", None)
    return True


#: For each version ``n`` with a step, the frame types whose shape changed from ``n - 1``
#: to ``n`` and the step that takes them back.
_STEPS: Final[Mapping[int, tuple[frozenset[str], Step]]] = {
    2: (frozenset({"round_ended", "tick", "place_result", "joined"}), _v2_to_v1),
    3: (frozenset({"snapshot", "player_joined", "player_left"}), _v3_to_v2),
}


def _frame_type(text: str) -> str | None:
    # Every frame and stream body starts `{"type":"<tag>"` (orjson keeps field order and
    # `type` is always first), so the tag is read without parsing the JSON.
    if not text.startswith('{"type":"'):
        return None
    end = text.find('"', 9)
    return text[9:end] if end > 9 else None


class Dialect:
    """How the frames of the newest version are said to a client of ``version``.

    One per supported older version (:func:`dialect_for`), shared by all its sessions.

    Args:
        version: the older version, in ``SUPPORTED_VERSIONS`` and below the newest.
    """

    __slots__ = ("_changed", "_last_in", "_last_out", "_steps", "version")

    def __init__(self, version: int) -> None:
        if version not in SUPPORTED_VERSIONS or version >= PROTOCOL_VERSION:
            raise ValueError(f"no dialect for protocol version {version}")
        self.version = version
        # Newest first: version n's step turns n into n - 1.
        chain = [_STEPS[n] for n in range(PROTOCOL_VERSION, version, -1)]
        self._steps = [step for _, step in chain]
        self._changed = frozenset().union(*(types for types, _ in chain))
        self._last_in: str | None = None
        self._last_out: str | None = None

    def say(self, text: str) -> str | None:
        """``text`` (a frame or a stream body of the newest version) in this version.

        Returns:
            ``text`` itself when its shape did not change, the rewritten text, or None when
            this version has no such frame.
        """
        if text is self._last_in:
            return self._last_out
        if _frame_type(text) not in self._changed:
            return text
        frame = orjson.loads(text)
        said: str | None = None
        if all(step(frame) for step in self._steps):
            said = orjson.dumps(frame).decode()
        self._last_in, self._last_out = text, said
        return said


_DIALECTS: Final[Mapping[int, Dialect]] = {
    version: Dialect(version) for version in SUPPORTED_VERSIONS if version < PROTOCOL_VERSION
}


def dialect_for(version: int) -> Dialect | None:
    """The dialect of ``version``; None for the newest (nothing to rewrite).

    Raises:
        ValueError: ``version`` is not supported.
    """
    if version == PROTOCOL_VERSION:
        return None
    try:
        return _DIALECTS[version]
    except KeyError:
        raise ValueError(f"protocol version {version} is not supported") from None
