"""In-process and Redis implementations of presence, directory, pub/sub, rate limits."""

from tilemud.cluster.ratelimit import InProcessRateLimiter as InProcessRateLimiter
from tilemud.cluster.ratelimit import RateLimiter as RateLimiter
