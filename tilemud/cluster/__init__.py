"""In-process and Redis implementations of presence, directory, pub/sub, rate limits."""

from tilemud.cluster.bus import ClusterBus as ClusterBus
from tilemud.cluster.link import ClusterLink as ClusterLink
from tilemud.cluster.link import ClusterUnavailable as ClusterUnavailable
from tilemud.cluster.link import RedisLink as RedisLink
from tilemud.cluster.link import open_redis_link as open_redis_link
from tilemud.cluster.ratelimit import InProcessRateLimiter as InProcessRateLimiter
from tilemud.cluster.ratelimit import RateLimiter as RateLimiter
from tilemud.cluster.shared_limits import RedisRateLimiter as RedisRateLimiter
