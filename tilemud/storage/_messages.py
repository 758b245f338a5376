"""The storage actor's messages: a closed union, and the answer every ask gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import attrs
from sqlalchemy.engine import Connection

from tilemud.mailbox import Reply


@attrs.frozen(kw_only=True)
class Answer:
    """What the storage actor answers a request with: a value, or the error to raise."""

    value: object = None
    error: BaseException | None = None


@attrs.frozen(kw_only=True)
class Transact:
    """Ask: run ``operation(conn)`` in one transaction; the answer comes after the commit."""

    operation: Callable[[Connection], object]
    reply: Reply[Answer]


@attrs.frozen(kw_only=True)
class FlushWriteBehind:
    """Ask: answer once every write-behind row buffered before this is committed."""

    reply: Reply[Answer]


#: Everything the storage actor takes.
StorageMessage: TypeAlias = Transact | FlushWriteBehind
