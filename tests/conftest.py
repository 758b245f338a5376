"""Suite-wide settings.

Hypothesis judges no test by wall-clock time: these machines are shared, and a per-example
deadline or the ``too_slow`` health check fails a test when a neighbour takes the cores,
which finds no bug and makes the suite flaky. Tests that want fewer or more examples still
say so with their own ``@settings``; what they do not set comes from this profile.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("tilemud", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tilemud")
