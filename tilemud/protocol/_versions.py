"""Protocol versions: the one this code speaks and the ones a ``hello`` may ask for.

Version 2 (issue 12) added captures (``place_result.captured``, ``tick.captured``, the
``held_firmly`` reason) and rounds (the ``round_ended`` stream frame). Version 3 (issue 15)
marks NPCs: ``snapshot.npcs``, ``player_joined.npcs`` and ``player_left.npc``. Versions 1
and 2 stay accepted for the support window: their sessions hear every frame through
:mod:`tilemud.protocol._dialects`.

``docs/protocol.md`` (section "Versioning") says when a version number changes and how long
an older one stays accepted.
"""

from __future__ import annotations

from typing import Final

#: The version this code speaks and sends in ``welcome.v`` to a client that asked for it.
PROTOCOL_VERSION: Final = 3

#: Every ``hello.v`` the server accepts; any other answers ``unsupported_version`` and 4003.
SUPPORTED_VERSIONS: Final = frozenset({1, 2, 3})
