"""The wall clock, in one place: timezone-aware UTC, what stored timestamps are made of.

Actors take it as an argument (``clock=utc_now``) so that tests can pass a clock derived
from Trio time, and a 7-day retention costs milliseconds under the autojump clock.
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """Now, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)
