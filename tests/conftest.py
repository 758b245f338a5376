"""Suite-wide settings.

Hypothesis judges no test by wall-clock time: these machines are shared, and a per-example
deadline or the ``too_slow`` health check fails a test when a neighbour takes the cores,
which finds no bug and makes the suite flaky. Tests that want fewer or more examples still
say so with their own ``@settings``; what they do not set comes from this profile.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests import redis_probe
from tilemud.config import RedisSettings

settings.register_profile("tilemud", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tilemud")


# --- Redis: the cluster's shared state ---------------------------------------------------
#
# The Redis named by ``TILEMUD_TEST_REDIS_URL`` (default: the machine's own,
# ``redis://127.0.0.1:6379/0``). Each run has a key prefix of its own
# (``tilemud_test_<random>``) and each test one under it, whose keys are deleted when the
# test ends; nothing outside the run's prefix is touched. Unreachable, the Redis tests are
# skipped with the reason, except under CI (``CI`` set), where they fail.

REDIS_URL = os.environ.get("TILEMUD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_run_prefix() -> Iterator[str]:
    """This run's key prefix; every key under it is deleted at the end of the run."""
    redis_probe.require(REDIS_URL)
    prefix = f"tilemud_test_{secrets.token_hex(4)}"
    yield prefix
    redis_probe.delete_keys(REDIS_URL, prefix + ":*")


@pytest.fixture
def redis_settings(redis_run_prefix: str) -> Iterator[RedisSettings]:
    """``[redis]`` settings of this test's own key prefix, its keys deleted afterwards."""
    prefix = f"{redis_run_prefix}:{secrets.token_hex(4)}"
    yield RedisSettings(url=REDIS_URL, key_prefix=prefix)
    redis_probe.delete_keys(REDIS_URL, prefix + ":*")
