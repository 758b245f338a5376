"""Whether the Redis tests can run here: skip without Redis, fail under CI."""

from __future__ import annotations

import os

import pytest

from benchmarks.redis_keys import count_keys as count_keys
from benchmarks.redis_keys import delete_keys as delete_keys
from benchmarks.redis_keys import ping
from benchmarks.redis_keys import publish as publish


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(url: str) -> None:
    """Skip the test when Redis is unreachable (fail under CI, where it must run)."""
    try:
        ping(url)
    except (OSError, RuntimeError) as exc:
        reason = f"Redis is not reachable at {url}: {exc}"
        if _in_ci():
            pytest.fail(f"{reason} (CI is set: the Redis tests must run)", pytrace=False)
        pytest.skip(f"{reason} (set TILEMUD_TEST_REDIS_URL, or run under CI to fail)")
