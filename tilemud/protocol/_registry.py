"""The ``type`` tag -> class registry of a closed message union."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, get_args

import attrs

_TAG = re.compile(r"[a-z][a-z0-9_]*")


def tag_registry(union: Any) -> Mapping[str, type[Any]]:
    """Map each ``TYPE`` tag of a closed union of message classes to its class.

    The union is the one source of truth: a message exists on the wire when its class is a
    member. Checks run at import time, so a mistake in a new message fails every test.

    Args:
        union: ``A | B | ...`` of ``@attrs.frozen(kw_only=True)`` classes, each with a
            ``TYPE: ClassVar[str]`` of its own.

    Returns:
        A read-only mapping in the union's order.

    Raises:
        TypeError: a member is not an attrs class, has no snake_case ``TYPE`` of its own,
            repeats another member's tag, or has a field called ``type``.
    """
    registry: dict[str, type[Any]] = {}
    for cls in get_args(union) or (union,):
        if not attrs.has(cls):
            raise TypeError(f"{cls!r} is not an attrs class")
        tag = cls.__dict__.get("TYPE")
        if not isinstance(tag, str) or _TAG.fullmatch(tag) is None:
            raise TypeError(f"{cls.__name__}.TYPE must be a snake_case str, got {tag!r}")
        if tag in registry:
            raise TypeError(f"{cls.__name__} and {registry[tag].__name__} share TYPE {tag!r}")
        if any(field.name == "type" for field in attrs.fields(cls)):
            raise TypeError(f"{cls.__name__} has a field named 'type', which is the tag")
        registry[tag] = cls
    return MappingProxyType(registry)
