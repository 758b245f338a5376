"""What ``GET /healthz`` asks the running server about itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs


@attrs.frozen(kw_only=True)
class HealthReport:
    """One answer to "is this node able to serve?".

    Attributes:
        ok: True when the supervision tree is up and accepting players.
        details: JSON-serialisable facts merged into the ``/healthz`` body, e.g.
            ``{"sessions": 12, "tree": "running"}``. A ``status`` key is ignored: the
            endpoint sets ``status`` itself from ``ok``.
    """

    ok: bool
    details: Mapping[str, object] = attrs.field(factory=dict)


class HealthProbe(Protocol):
    """Anything that can report the node's health; the root tree passes one in."""

    def health(self) -> HealthReport:
        """Return the current health; called once per ``/healthz`` request, must not block."""
        ...
