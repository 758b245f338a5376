"""The cluster link against the machine's Redis: prefixed keys, outage, recovery.

Real network I/O: these tests run on the real clock (under ``autojump_clock`` a
``fail_after`` around a Redis call expires at once), with generous absolute bounds.
"""

from __future__ import annotations

import logging

import attrs
import pytest
import trio

from tests.storage.proxy import TcpProxy
from tilemud.cluster import ClusterLink, ClusterUnavailable, open_redis_link
from tilemud.cluster.link import _safe_url
from tilemud.config import ClusterSettings, RedisSettings
from tilemud.supervisors import ChildContext

BOUND = 20


async def test_keys_carry_the_prefix_and_commands_go_through(
    redis_settings: RedisSettings,
) -> None:
    with trio.fail_after(BOUND):
        async with open_redis_link(redis_settings, ClusterSettings(node_id="n1")) as link:
            assert link.node_id == "n1"
            key = link.key("node", "n1")
            assert key == f"{redis_settings.key_prefix}:node:n1"
            await link.run(lambda redis: redis.set(key, "up"))
            assert await link.run(lambda redis: redis.get(key)) == "up"
            assert link.available


async def test_an_outage_is_one_typed_error_and_recovery_is_seen(
    redis_settings: RedisSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tilemud.cluster.link")
    proxy = TcpProxy("127.0.0.1", 6379)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            settings = attrs.evolve(
                redis_settings,
                url=f"redis://127.0.0.1:{port}/0",
                command_timeout=1.0,
                retry_after=7.0,
            )
            async with open_redis_link(settings, ClusterSettings()) as link:
                key = link.key("k")
                await link.run(lambda redis: redis.set(key, "1"))
                proxy.cut()
                for _ in range(2):  # the second failure logs nothing new
                    with pytest.raises(ClusterUnavailable) as failed:
                        await link.run(lambda redis: redis.get(key))
                    assert failed.value.retry_after == 7.0
                    assert not link.available
                assert not await link.ping()
                await proxy.restore()
                assert await link.run(lambda redis: redis.get(key)) == "1"
                assert link.available
            nursery.cancel_scope.cancel()
    said = [record.getMessage() for record in caplog.records]
    assert said == ["redis unavailable", "redis available again"]


async def test_a_node_whose_redis_does_not_answer_does_not_start() -> None:
    with trio.fail_after(BOUND):
        # A port nothing listens on: bind one, keep it closed.
        sock = trio.socket.socket()
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        settings = RedisSettings(url=f"redis://127.0.0.1:{port}/0", connect_timeout=1.0)
        with pytest.raises(ClusterUnavailable, match="does not answer"):
            async with open_redis_link(settings, ClusterSettings()):
                pytest.fail("the link opened without Redis")


async def test_the_tree_child_holds_the_link_while_it_runs(
    redis_settings: RedisSettings,
) -> None:
    child = ClusterLink(redis_settings, ClusterSettings())
    with pytest.raises(ClusterUnavailable, match="not open"):
        child.link  # noqa: B018 - the property is what is tested
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            stopping = trio.Event()

            async def run(*, task_status: trio.TaskStatus[None]) -> None:
                await child.run(ChildContext("cluster", task_status=task_status, stopping=stopping))

            await nursery.start(run)
            assert child.link.node_id == child.node_id
            assert await child.link.ping()
            stopping.set()
    with pytest.raises(ClusterUnavailable):
        child.link  # noqa: B018


def test_passwords_stay_out_of_the_logs() -> None:
    assert _safe_url("redis://:hunter2@db:6379/0") == "redis://***@db:6379/0"
    assert _safe_url("redis://me:hunter2@db:6379/0") == "redis://me:***@db:6379/0"
    assert _safe_url("redis://db:6379/0") == "redis://db:6379/0"


async def test_what_the_body_raises_comes_out_as_itself(redis_settings: RedisSettings) -> None:
    class Boom(Exception):
        pass

    with trio.fail_after(BOUND), pytest.raises(Boom):
        async with open_redis_link(redis_settings, ClusterSettings()):
            raise Boom
