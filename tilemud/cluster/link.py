"""The cluster link: this node's one connection to the Redis server the cluster shares.

Everything of the cluster that lives in Redis (presence, the shard directory, leases,
rate-limit counters, pub/sub) goes through one :class:`RedisLink`, opened once by the
composition root when ``redis.url`` is set and closed when the node stops. Without it
nothing here is used: one node keeps all of that in process.

Why a link of our own around the client: the rest of the server must not know coredis's
exceptions, nor wait longer than ``redis.command_timeout`` on a Redis that stopped
answering. :meth:`RedisLink.run` turns every way Redis can fail (refused, reset, timed
out, a reply that never comes) into one :class:`ClusterUnavailable` that carries the
``retry_after`` a client is told, and keeps :attr:`RedisLink.available` current, so a
caller decides whether to degrade or refuse (docs/operations.md, "Redis outage").

Keys and channels: :meth:`RedisLink.key` puts ``<key_prefix>:`` in front of every name,
so that several clusters, or test runs, share one Redis without seeing each other.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import attrs
import coredis
import coredis.exceptions
import trio

from tilemud.config import ClusterSettings, RedisSettings
from tilemud.errors import TilemudError
from tilemud.supervisors import ChildContext

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: What coredis (and the sockets under it) raise when Redis cannot be reached or answer.
UNREACHABLE: tuple[type[BaseException], ...] = (
    coredis.exceptions.ConnectionError,
    TimeoutError,
    coredis.exceptions.BusyLoadingError,
    OSError,
    EOFError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)


class ClusterUnavailable(TilemudError):
    """Redis did not answer: what needs the cluster cannot be done now.

    Attributes:
        retry_after: seconds after which a client may try again.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def new_node_id() -> str:
    """A node name unique among live nodes: ``<hostname>-<pid>-<random>``."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class RedisLink:
    """One node's connection to the cluster's Redis.

    Args:
        client: an open coredis client (``decode_responses=True``).
        settings: the ``[redis]`` settings it was opened with.
        node_id: this node's name in the cluster.
    """

    def __init__(
        self, client: coredis.Redis[str], settings: RedisSettings, *, node_id: str
    ) -> None:
        self.client = client
        self.node_id = node_id
        self._settings = settings
        self._prefix = settings.key_prefix + ":"
        #: False from the first failed command until the next one that succeeds.
        self.available = True

    @property
    def prefix(self) -> str:
        """What every key and channel of this cluster starts with (``<key_prefix>:``)."""
        return self._prefix

    @property
    def retry_after(self) -> float:
        """Seconds a client is told to wait while Redis is unavailable."""
        return self._settings.retry_after

    def key(self, *parts: str | int) -> str:
        """The full name of a key or channel: ``key("node", "a")`` → ``tilemud:node:a``."""
        return self._prefix + ":".join(str(part) for part in parts)

    async def run(self, command: Callable[[coredis.Redis[str]], Awaitable[_T]]) -> _T:
        """Run one Redis command (or pipeline, or script), bounded by ``command_timeout``.

        Raises:
            ClusterUnavailable: Redis refused, dropped or did not answer in time; the
                command may or may not have been carried out (callers that must not
                repeat an effect make it idempotent).
        """
        try:
            with trio.fail_after(self._settings.command_timeout):
                result = await command(self.client)
        except trio.TooSlowError:
            self._went_down("no answer within the command timeout")
            raise ClusterUnavailable(
                "Redis did not answer in time", retry_after=self.retry_after
            ) from None
        except UNREACHABLE as exc:
            self._went_down(f"{type(exc).__name__}: {exc}")
            raise ClusterUnavailable(
                f"Redis is unavailable: {exc}", retry_after=self.retry_after
            ) from exc
        if not self.available:
            self.available = True
            log.warning("redis available again", extra={"node": self.node_id})
        return result

    async def ping(self) -> bool:
        """Whether Redis answers now (the readiness probe's question)."""
        try:
            await self.run(lambda redis: redis.ping())
        except ClusterUnavailable:
            return False
        return True

    def _went_down(self, why: str) -> None:
        if self.available:
            self.available = False
            log.warning("redis unavailable", extra={"node": self.node_id, "why": why})


@asynccontextmanager
async def open_redis_link(
    redis: RedisSettings, cluster: ClusterSettings
) -> AsyncIterator[RedisLink]:
    """Connect to the cluster's Redis for the duration of the block.

    The first ``PING`` must succeed: a node whose Redis is unreachable at start refuses to
    start (an operator sees why) rather than running alone and splitting the cluster.

    Raises:
        ClusterUnavailable: Redis did not answer the first ping.
        ValueError: ``redis.url`` is not set.
    """
    if redis.url is None:
        raise ValueError("redis.url is not set: this node runs alone")
    node_id = cluster.node_id or new_node_id()
    client: coredis.Redis[str] = coredis.Redis.from_url(
        redis.url,
        decode_responses=True,
        connect_timeout=redis.connect_timeout,
        stream_timeout=redis.command_timeout,
    )
    # coredis runs its connections in a task group of its own: whatever leaves the block
    # (ours or the caller's) comes out wrapped in exception groups. A lone exception is
    # given back as itself, so callers see what they raised.
    try:
        async with client:
            link = RedisLink(client, redis, node_id=node_id)
            answered = await link.ping()
            if answered:
                log.info(
                    "cluster link open",
                    extra={"node": node_id, "redis": _safe_url(redis.url), "prefix": link.prefix},
                )
                yield link
    except BaseExceptionGroup as group:
        leaf = _lone_exception(group)
        if leaf is None:
            raise
        raise leaf from None
    if not answered:
        raise ClusterUnavailable(
            f"Redis at {_safe_url(redis.url)} does not answer", retry_after=redis.retry_after
        )


def _lone_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception inside nested single-member groups, else None."""
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup):
        if len(found.exceptions) != 1:
            return None
        found = found.exceptions[0]
    return found


def _safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}" if user else f"{scheme}{sep}***@{host}"


class ClusterLink:
    """The root's ``cluster`` child: holds this node's :class:`RedisLink` while it runs.

    Built by the composition root before the tree starts and handed to whatever needs
    the cluster; they ask :attr:`link` when they act, so a restarted child (a new
    connection) is picked up without rebuilding them. It comes right after storage in the
    root (rest_for_one): everything after it depends on it.

    Args:
        redis: the ``[redis]`` settings (``url`` set).
        cluster: the ``[cluster]`` settings; the node id is fixed here, once per process,
            so a restarted link keeps the node's name.
    """

    def __init__(self, redis: RedisSettings, cluster: ClusterSettings) -> None:
        self._redis = redis
        self._cluster = cluster
        self.node_id = cluster.node_id or new_node_id()
        self._link: RedisLink | None = None

    @property
    def link(self) -> RedisLink:
        """The open link.

        Raises:
            ClusterUnavailable: the link is not open (starting, restarting, stopped).
        """
        if self._link is None:
            raise ClusterUnavailable(
                "the cluster link is not open", retry_after=self._redis.retry_after
            )
        return self._link

    async def run(self, ctx: ChildContext) -> None:
        """Open the link, report started, keep it open until the stop."""
        settings = attrs.evolve(self._cluster, node_id=self.node_id)
        async with open_redis_link(self._redis, settings) as link:
            self._link = link
            try:
                ctx.started()
                await ctx.stopping.wait()
            finally:
                self._link = None
